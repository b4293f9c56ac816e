"""All queries of the accounts domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tierdesk.accounts.models import ApiToken, LoginFailure, User


def user_by_email(db: Session, email: str) -> User | None:
    return db.scalars(select(User).where(User.email == email.lower())).first()


def users_page(db: Session, after_id: int | None, limit: int, role: str | None) -> list[User]:
    stmt = select(User).order_by(User.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(User.id > after_id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    return list(db.scalars(stmt))


def names_of(db: Session, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {uid: name for uid, name in db.execute(select(User.id, User.name).where(User.id.in_(user_ids)))}


def staff_page(db: Session, limit: int) -> list[tuple[int, str]]:
    stmt = (
        select(User.id, User.name)
        .where(User.role != "customer", User.is_active.is_(True))
        .order_by(User.name, User.id)
        .limit(limit)
    )
    return [(uid, name) for uid, name in db.execute(stmt)]


def token_by_lookup(db: Session, lookup: str) -> ApiToken | None:
    return db.scalars(select(ApiToken).where(ApiToken.lookup == lookup)).first()


def tokens_of(db: Session, user_id: int) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def count_failures(db: Session, key: str, since: datetime) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key == key, LoginFailure.at >= since)
        )
        or 0
    )


def add_failure(db: Session, key: str, at: datetime) -> None:
    db.add(LoginFailure(key=key, at=at))


def clear_failures(db: Session, key: str) -> None:
    db.execute(delete(LoginFailure).where(LoginFailure.key == key))


def purge_failures_before(db: Session, before: datetime) -> int:
    result = db.execute(delete(LoginFailure).where(LoginFailure.at < before))
    return int(getattr(result, "rowcount", 0) or 0)
