"""Who is acting, password hashing and API token material.

`Actor` is what every repository's `readable(actor)` / `writable(actor)` filters on; it is
built once per request by the accounts service.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tierdesk.core.errors import Forbidden, Unauthorized


class Role(StrEnum):
    customer = "customer"
    agent = "agent"
    specialist = "specialist"
    supervisor = "supervisor"
    admin = "admin"


STAFF_ROLES = frozenset({Role.agent, Role.specialist, Role.supervisor, Role.admin})


class Scope(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    role: Role | None
    name: str = "anonymous"
    customer_id: int | None = None
    organization_id: int | None = None
    sees_organization_tickets: bool = False
    tier_ids: frozenset[int] = field(default_factory=frozenset)
    team_ids: frozenset[int] = field(default_factory=frozenset)
    # need-to-know teams this actor is not a member of: their tickets are invisible.
    hidden_team_ids: frozenset[int] = field(default_factory=frozenset)
    scopes: frozenset[Scope] = frozenset({Scope.read, Scope.write, Scope.admin})
    via_token: bool = False
    # The profile's language and time zone: pages speak and show times in them (core/i18n.py).
    language: str | None = None
    timezone: str = "UTC"

    @property
    def is_anonymous(self) -> bool:
        # SYSTEM (CLI, seed, jobs) has no user but acts as an administrator.
        return self.user_id is None and self.role is None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_customer(self) -> bool:
        return self.role == Role.customer

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.supervisor, Role.admin)

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes


ANONYMOUS = Actor(user_id=None, role=None, scopes=frozenset())
SYSTEM = Actor(user_id=None, role=Role.admin, name="system")

_hasher = PasswordHasher()


def use_fast_password_hashing() -> None:
    """Tests only: argon2 with minimal cost, so building fixtures with many users is quick.
    Hashes stay real argon2id; `needs_rehash` upgrades them on the next sign-in."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend the same time as a real check so timing does not reveal unknown users.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


TOKEN_PREFIX = "td_"


def new_api_token() -> tuple[str, str, str]:
    """Returns (plaintext token, lookup prefix, sha256 hash). Only the hash is stored.

    API tokens carry 256 bits of randomness, so a fast hash is safe here (unlike passwords).
    """
    lookup = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = f"{TOKEN_PREFIX}{lookup}_{secret}"
    return token, lookup, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_token_lookup(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    rest = token[len(TOKEN_PREFIX) :]
    lookup, sep, _ = rest.partition("_")
    if not sep or len(lookup) != 12:
        return None
    return lookup


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def require_staff(actor: Actor) -> None:
    if actor.is_anonymous:
        raise Unauthorized("Sign in or send an API token (Authorization: Bearer td_…).")
    if not actor.is_staff:
        raise Forbidden("Only support staff may do this.")


def require_supervisor(actor: Actor) -> None:
    require_staff(actor)
    if not actor.is_supervisor:
        raise Forbidden("Only a supervisor or an administrator may change this configuration.")


def require_admin(actor: Actor) -> None:
    require_staff(actor)
    if not actor.is_admin:
        raise Forbidden("Only an administrator may do this.")


def require_signed_in(actor: Actor) -> None:
    if actor.is_anonymous:
        raise Unauthorized("Sign in or send an API token (Authorization: Bearer td_…).")
