"""Alembic environment: the URL comes from TIERDESK_DATABASE_URL (or the caller's config),
SQLite runs in batch mode so ALTERs work there too."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tierdesk.core.config import get_settings
from tierdesk.core.db import Database
from tierdesk.models import metadata

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            run_migrations(conn)
            conn.commit()
    finally:
        db.dispose()


if context.is_offline_mode():
    raise SystemExit("tierdesk migrations run online only: tierdesk db upgrade")
run_online()
