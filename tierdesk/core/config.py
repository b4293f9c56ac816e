"""Deployment settings (environment variables prefixed TIERDESK_).

Anything an operator edits at run time (tiers, teams, policies) is data in the database,
not a setting here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIERDESK_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/tierdesk.db"
    secret_key: str = Field(
        default="dev-insecure-change-me",
        description="Signs session cookies. Set a long random value in production.",
    )
    attachments_dir: Path = Path("./var/attachments")
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    max_import_body_bytes: int = 32 * 1024 * 1024
    allowed_attachment_types: list[str] = [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/json",
        "application/zip",
        "message/rfc822",
    ]
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    session_max_age_seconds: int = 14 * 24 * 3600
    cookie_secure: bool = False
    log_level: str = "INFO"
    log_json: bool = True
    embedded_workers: bool = True
    # Shared secret for POST /api/v1/engineering/webhook (HMAC-SHA256 of the body). Unset: the webhook is off.
    engineering_webhook_secret: str | None = None
    sql_echo: bool = False
    # SQLite only: web write requests queue for the single write lock in arrival order
    # (core/db.py WriteGate) instead of sleeping in SQLite's busy handler. It removes "database
    # is busy" failures and cuts p99 under write bursts. On since ticket creation holds the
    # lock only for its INSERTs (docs/performance.md); TIERDESK_SQLITE_WRITE_GATE=0 turns it off.
    sqlite_write_gate: bool = True
    # SQLite only: the web app checkpoints the write-ahead log in a background thread of each
    # process instead of inside the commit that grows it past 1,000 pages (core/checkpoint.py),
    # so no request's commit waits for the copy and its fsyncs. TIERDESK_SQLITE_BACKGROUND_CHECKPOINTS=0
    # turns it off. Other processes (worker, scheduler, CLI) keep SQLite's own checkpoints.
    sqlite_background_checkpoints: bool = True
    # A web worker gives the memory a burst of requests freed back to the OS (glibc
    # malloc_trim) once it has gone this many seconds without finishing a request
    # (core/memory.py). 0 turns it off. TIERDESK_MALLOC_TRIM_IDLE_SECONDS.
    malloc_trim_idle_seconds: float = 1.0
    # Tickets created through the API by concurrent requests share one transaction and one
    # commit (core/group.py; docs/performance.md "Creating a ticket"): written on the event loop
    # on SQLite, by one writer thread per process on PostgreSQL, where the planning reads run in
    # the thread pool. On for both since 2026-12-07: on PostgreSQL on the same host it made
    # creation 1.7x faster with a 4x lower p99 (docs/performance.md, PostgreSQL figures).
    # TIERDESK_GROUP_COMMIT=0 turns it off (one transaction per ticket, in the thread pool).
    group_commit: bool = True
    # Help center: the staff roles that may publish an article directly (and approve or send
    # back one in review). The others write drafts and submit them for review, as Zendesk
    # Guide's writers do. Default: every staff role, as before the review step existed.
    kb_publisher_roles: list[str] = ["agent", "specialist", "supervisor", "admin"]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
