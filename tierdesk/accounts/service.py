"""Users, sign-in, API tokens, and turning either into an `Actor`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tierdesk.accounts import repository as repo
from tierdesk.accounts.models import ApiToken, User
from tierdesk.accounts.schemas import MeOut, TokenIn, UserIn, UserOut, UserPatch
from tierdesk.core import crud
from tierdesk.core.errors import Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from tierdesk.core.i18n import N_, SUPPORTED
from tierdesk.core.memo import shared
from tierdesk.core.security import (
    STAFF_ROLES,
    SYSTEM,
    Actor,
    Role,
    Scope,
    hash_password,
    hash_token,
    needs_rehash,
    new_api_token,
    parse_token_lookup,
    require_admin,
    require_signed_in,
    require_staff,
    tokens_equal,
    verify_password,
)
from tierdesk.customers import service as customers
from tierdesk.tiers import service as tiers
from tierdesk.tiers.schemas import check_timezone

ALL_SCOPES = frozenset(Scope)


# --- actors ------------------------------------------------------------------------------
def actor_for(
    db: Session, user: User, scopes: frozenset[Scope] = ALL_SCOPES, via_token: bool = False
) -> Actor:
    role = Role(user.role)
    staff = role in STAFF_ROLES
    membership = tiers.membership(db, user.id, staff)
    org_id: int | None = None
    shares = False
    if role == Role.customer and user.customer_id is not None:
        customer = customers.customer_by_id(db, user.customer_id)
        if customer is not None and customer.organization_id is not None:
            org_id = customer.organization_id
            org = customers.organization_by_id(db, org_id)
            shares = bool(org and org.shared_tickets)
    if role != Role.admin:
        # A token never carries more than its owner's role allows.
        scopes = scopes - {Scope.admin} if role != Role.supervisor else scopes
    return Actor(
        user_id=user.id,
        role=role,
        name=user.name,
        customer_id=user.customer_id,
        organization_id=org_id,
        sees_organization_tickets=shares,
        tier_ids=membership.tier_ids,
        team_ids=membership.team_ids,
        hidden_team_ids=membership.hidden_team_ids,
        scopes=scopes,
        via_token=via_token,
        language=user.language,
        timezone=user.timezone,
    )


def actor_for_user_id(db: Session, user_id: int) -> Actor | None:
    """The signed-in user's actor; kept per process until configuration changes (a user,
    token, team, tier or customer edit starts a new generation: core/memo.py `shared`)."""

    def load() -> Actor | None:
        user = db.get(User, user_id)
        if user is None or not user.is_active:
            return None
        return actor_for(db, user)

    return shared(db, ("actor_of_user", user_id), load)


def authenticate_token(db: Session, token: str, now: datetime) -> Actor:
    """The token's actor. A valid token's actor and expiry are kept per process under the
    digest of the whole token (never the lookup prefix alone) until configuration changes;
    revoking a token or deactivating its owner changes it."""
    digest = hash_token(token)

    def load() -> tuple[datetime | None, Actor]:
        lookup = parse_token_lookup(token)
        row = repo.token_by_lookup(db, lookup) if lookup else None
        if row is None or not tokens_equal(row.token_hash, digest):
            raise Unauthorized("This API token is not valid.")
        if row.revoked_at is not None:
            raise Unauthorized("This API token was revoked.")
        user = db.get(User, row.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("The owner of this API token is deactivated.")
        return row.expires_at, actor_for(db, user, frozenset(Scope(s) for s in row.scopes), via_token=True)

    expires_at, actor = shared(db, ("actor_of_token", digest), load)
    if expires_at is not None and expires_at <= now:
        raise Unauthorized("This API token has expired.")
    return actor


# --- sign-in -------------------------------------------------------------------------------
def sign_in(
    db: Session,
    email: str,
    password: str,
    client_ip: str,
    now: datetime,
    max_failures: int,
    window_seconds: int,
) -> User:
    """Check a password. Raises TooManyRequests once `max_failures` failures for the same
    address (or from the same IP, at 4x the allowance) fall in the sliding window."""
    email = email.strip().lower()
    since = now - timedelta(seconds=window_seconds)
    email_key, ip_key = f"email:{email}", f"ip:{client_ip}"
    if (
        repo.count_failures(db, email_key, since) >= max_failures
        or repo.count_failures(db, ip_key, since) >= max_failures * 4
    ):
        raise TooManyRequests(
            f"Too many failed sign-ins. Wait {window_seconds // 60} minutes or ask an administrator to reset your password."
        )
    user = repo.user_by_email(db, email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        repo.add_failure(db, email_key, now)
        repo.add_failure(db, ip_key, now)
        db.flush()
        raise Unauthorized(N_("Wrong e-mail address or password."))
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    repo.clear_failures(db, email_key)
    db.flush()
    return user


# --- users -----------------------------------------------------------------------------------
def _user_out(db: Session, user: User) -> UserOut:
    out = UserOut.model_validate(user)
    if user.role in STAFF_ROLES:
        out.work = tiers.agent_work(db, user.id)
    return out


def me(db: Session, actor: Actor) -> MeOut:
    require_signed_in(actor)
    assert actor.user_id is not None
    user = crud.get_or_404(db, User, actor.user_id, "User")
    return MeOut(
        user=_user_out(db, user),
        scopes=sorted(s.value for s in actor.scopes),
        tier_ids=sorted(actor.tier_ids),
        team_ids=sorted(actor.team_ids),
    )


def list_users(
    db: Session, actor: Actor, after_id: int | None, limit: int, role: Role | None
) -> list[UserOut]:
    require_staff(actor)
    return [_user_out(db, u) for u in repo.users_page(db, after_id, limit, role.value if role else None)]


def get_user(db: Session, actor: Actor, user_id: int) -> UserOut:
    if actor.user_id != user_id:
        require_staff(actor)
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return _user_out(db, user)


def create_user(db: Session, actor: Actor, data: UserIn) -> UserOut:
    require_admin(actor)
    if data.role == Role.customer:
        if data.customer_id is None:
            customer = customers.find_or_create_customer(db, data.email, data.name, language=data.language)
            data.customer_id = customer.id
        elif customers.customer_by_id(db, data.customer_id) is None:
            raise InvalidInput(f"Customer {data.customer_id} does not exist.", field="customer_id")
        if data.work is not None:
            raise InvalidInput("Customers have no tiers, teams or skills.", field="work")
    elif data.customer_id is not None:
        raise InvalidInput("Only a customer login may point at a customer record.", field="customer_id")
    user = User(
        email=data.email,
        name=data.name,
        role=data.role.value,
        password_hash=hash_password(data.password) if data.password else None,
        language=data.language,
        timezone=data.timezone,
        customer_id=data.customer_id,
    )
    db.add(user)
    crud.flush_or_conflict(db, f"User {data.email}")
    if data.work is not None:
        tiers.set_agent_work(db, user.id, data.work)
    return _user_out(db, user)


def update_user(db: Session, actor: Actor, user_id: int, patch: UserPatch) -> UserOut:
    require_admin(actor)
    user = crud.get_or_404(db, User, user_id, "User")
    if patch.password is not None:
        user.password_hash = hash_password(patch.password)
    crud.apply_patch(user, patch, skip={"password", "work", "role"})
    if patch.role is not None:
        if (patch.role == Role.customer) != (user.role == Role.customer):
            raise InvalidInput(
                "A staff account cannot become a customer login or the other way round.", field="role"
            )
        user.role = patch.role.value
    if patch.work is not None:
        if user.role not in STAFF_ROLES:
            raise InvalidInput("Customers have no tiers, teams or skills.", field="work")
        tiers.set_agent_work(db, user.id, patch.work)
    crud.flush_or_conflict(db, f"User {user.email}")
    return _user_out(db, user)


def set_preferences(db: Session, actor: Actor, language: str, timezone: str) -> None:
    """A signed-in person chooses their own language (one of the UI's) and IANA time zone;
    pages speak and show times in them from the next request on. Raises InvalidInput naming
    the field."""
    require_signed_in(actor)
    if actor.via_token or actor.user_id is None:
        raise Forbidden("Preferences are set while signed in.")
    if language not in SUPPORTED:
        raise InvalidInput(N_("Choose one of the offered languages."), field="language")
    try:
        check_timezone(timezone)
    except ValueError as exc:
        raise InvalidInput(
            N_("Choose a time zone from the list, such as Europe/Rome."), field="timezone"
        ) from exc
    user = crud.get_or_404(db, User, actor.user_id, "User")
    user.language = language
    user.timezone = timezone
    db.flush()


def user_exists(db: Session, user_id: int, staff_only: bool = False) -> bool:
    user = db.get(User, user_id)
    return user is not None and (not staff_only or user.role in STAFF_ROLES)


def names_of(db: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of users, in one query (timelines and lists label people by name)."""
    return repo.names_of(db, sorted({uid for uid in user_ids if uid is not None}))


def staff_names(db: Session, actor: Actor, limit: int = 500) -> list[tuple[int, str]]:
    """(id, name) of active staff, by name: the assignee pickers of the workspace. Kept per
    process and configuration generation (users are configuration)."""
    require_staff(actor)
    return list(shared(db, ("staff_names", limit), lambda: tuple(repo.staff_page(db, limit))))


def supervisor_ids(db: Session) -> list[int]:
    """Active supervisors (alerted on first-response breaches)."""
    return [u.id for u in repo.users_page(db, None, 1000, Role.supervisor.value) if u.is_active]


def user_by_email(db: Session, email: str) -> User | None:
    return repo.user_by_email(db, email)


def create_user_unchecked(db: Session, data: UserIn) -> UserOut:
    """For the CLI and demo seed, which act as the system administrator."""
    return create_user(db, SYSTEM, data)


# --- tokens -----------------------------------------------------------------------------------
def create_token(
    db: Session, actor: Actor, data: TokenIn, now: datetime, for_user_id: int | None = None
) -> tuple[ApiToken, str]:
    require_signed_in(actor)
    owner_id = for_user_id if for_user_id is not None else actor.user_id
    if owner_id != actor.user_id:
        require_admin(actor)
    if actor.via_token and not actor.can(Scope.admin):
        raise Forbidden("Create new tokens while signed in, or with a token that has the admin scope.")
    owner = crud.get_or_404(db, User, owner_id, "User")
    if Scope.admin in data.scopes and owner.role not in (Role.admin.value, Role.supervisor.value):
        raise InvalidInput("Only supervisors and administrators may hold the admin scope.", field="scopes")
    if data.expires_at is not None and data.expires_at <= now:
        raise InvalidInput("The expiry date is in the past.", field="expires_at")
    token, lookup, digest = new_api_token()
    row = ApiToken(
        user_id=owner.id,
        name=data.name,
        lookup=lookup,
        token_hash=digest,
        scopes=sorted({s.value for s in data.scopes}),
        created_at=now,
        expires_at=data.expires_at,
    )
    db.add(row)
    db.flush()
    return row, token


def list_tokens(db: Session, actor: Actor) -> list[ApiToken]:
    require_signed_in(actor)
    assert actor.user_id is not None
    return repo.tokens_of(db, actor.user_id)


def revoke_token(db: Session, actor: Actor, token_id: int, now: datetime) -> None:
    require_signed_in(actor)
    row = db.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.user_id and not actor.is_admin):
        raise NotFound(f"Token {token_id} does not exist.")
    if row.revoked_at is None:
        row.revoked_at = now
    db.flush()
