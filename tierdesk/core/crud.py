"""Small typed helpers shared by the directory-style repositories (tiers, teams, customers…).

They keep each domain's repository short without hiding the queries: every list still starts
from a statement the domain wrote, and every write only flushes (the request commits).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tierdesk.core.db import Base
from tierdesk.core.errors import Conflict, NotFound

M = TypeVar("M", bound=Base)


def get_or_404(db: Session, model: type[M], pk: Any, what: str) -> M:
    obj = db.get(model, pk)
    if obj is None:
        raise NotFound(f"{what} {pk} does not exist.")
    return obj


def flush_or_conflict(db: Session, what: str) -> None:
    """Flush inside a savepoint so a unique/foreign-key violation becomes a 409 and the
    rest of the transaction stays usable."""
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what} conflicts with existing data: {_explain(exc)}") from exc


def _explain(exc: IntegrityError) -> str:
    msg = str(exc.orig).lower()
    if "unique" in msg or "duplicate" in msg:
        return "a record with the same unique value already exists."
    if "foreign key" in msg:
        return "it refers to a record that does not exist, or is still referred to by others."
    if "not null" in msg or "null value" in msg:
        return "a required value is missing."
    return "the database refused the change."


def apply_patch(obj: Base, patch: BaseModel, skip: Iterable[str] = ()) -> dict[str, tuple[Any, Any]]:
    """Copy the fields the caller actually sent; return {field: (old, new)} for real changes."""
    changes: dict[str, tuple[Any, Any]] = {}
    skipped = set(skip)
    for name, value in patch.model_dump(exclude_unset=True).items():
        if name in skipped:
            continue
        old = getattr(obj, name)
        if old != value:
            setattr(obj, name, value)
            changes[name] = (old, value)
    return changes


def create_from(db: Session, model: type[M], data: BaseModel, what: str, **extra: Any) -> M:
    obj = model(**data.model_dump(), **extra)
    db.add(obj)
    flush_or_conflict(db, what)
    return obj


def delete_or_conflict(db: Session, obj: Base, what: str) -> None:
    db.delete(obj)
    flush_or_conflict(db, what)
