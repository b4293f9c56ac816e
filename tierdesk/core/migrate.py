"""Run Alembic from code (CLI, tests, `make run`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, connection: Connection | None = None, revision: str = "heads") -> None:
    cfg = alembic_config(url)
    if connection is not None:
        cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)
