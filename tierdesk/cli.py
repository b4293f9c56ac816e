"""`tierdesk` command line: serve, worker, db, seed, user, token."""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import os
import threading
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from tierdesk.core.clock import SystemClock
from tierdesk.core.config import get_settings
from tierdesk.core.db import Database
from tierdesk.core.errors import DomainError
from tierdesk.web.workers import APP, balances_connections, serve_workers

app = typer.Typer(help="tierdesk: customer support built around escalation.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
seed_app = typer.Typer(help="Demo and benchmark data.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
search_app = typer.Typer(help="Ticket search index.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(seed_app, name="seed")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(search_app, name="search")
console = Console()


# glibc gives each thread that allocates its own malloc arena, up to 8 per core; a worker runs
# its sync endpoints on a pool of up to 40 threads, so short-lived allocations (templates,
# result rows) end up spread over many arenas that each keep their freed pages: 20-25 MiB of
# RSS per worker after a bench run (docs/performance.md). Two arenas is the common setting for
# threaded Python servers; an operator's own MALLOC_ARENA_MAX wins.
MALLOC_ARENAS = "2"
_M_ARENA_MAX = -8  # mallopt() parameter number, glibc's malloc.h


def _limit_malloc_arenas() -> None:
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    os.environ["MALLOC_ARENA_MAX"] = MALLOC_ARENAS  # read by each worker process glibc starts
    # And this process (the only one with --workers 1), before it starts threads; a libc
    # without mallopt (not glibc) has nothing to tune.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, int(MALLOC_ARENAS))


def _database() -> Database:
    return Database(get_settings().database_url)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the web app and API. With one worker, background jobs run in the same process."""
    import uvicorn

    _limit_malloc_arenas()
    settings = get_settings()
    if workers == 1:
        from tierdesk.web.app import create_app

        uvicorn.run(
            create_app(settings, embedded_worker=settings.embedded_workers),
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=True,
        )
    elif balances_connections():
        serve_workers(host, port, workers)  # a listening socket per worker (web/workers.py)
    else:
        uvicorn.run(APP, host=host, port=port, workers=workers, log_level="warning")


@app.command()
def worker() -> None:
    """Run background jobs until interrupted (use with several `serve` workers)."""
    from tierdesk.worker import WORKER_JOBS, run_forever

    settings = get_settings()
    stop = threading.Event()
    console.print("[green]worker running[/] (Ctrl-C stops it)")
    try:
        run_forever(_database(), settings, SystemClock(), stop, jobs=WORKER_JOBS)
    except KeyboardInterrupt:
        stop.set()


@app.command()
def scheduler(
    once: Annotated[bool, typer.Option("--once", help="Run a single tick and exit.")] = False,
) -> None:
    """Fire due SLA warnings and breaches (escalating on time-box breaches), every second.
    Several schedulers may run at once: each due timer is claimed by exactly one."""
    from tierdesk.sla.tasks import more_pending, tick
    from tierdesk.worker import SCHEDULER_JOBS, run_forever

    settings = get_settings()
    database = _database()
    if once:
        with database.session(write=True) as db:
            result = tick(db, datetime.now(UTC))
            db.commit()
        console.print(f"warned {result.warned}, breached {result.breached}, escalated {result.escalated}")
        if more_pending(result):
            console.print("more are due: run again, or run `tierdesk scheduler` to drain them")
        return
    stop = threading.Event()
    console.print("[green]scheduler running[/] (Ctrl-C stops it)")
    try:
        run_forever(database, settings, SystemClock(), stop, jobs=SCHEDULER_JOBS)
    except KeyboardInterrupt:
        stop.set()


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply migrations (creates the SQLite file under ./var if needed)."""
    from tierdesk.core.migrate import upgrade

    database = _database()
    database.dispose()  # creates the var/ directory for SQLite
    upgrade(database.url, revision=revision)
    console.print(f"[green]database at {revision}[/] ({database.engine.dialect.name})")


@seed_app.command("demo")
def seed_demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when users already exist.")
    ] = False,
) -> None:
    """Load the demo: a B2C shop and a B2B SaaS vendor, agents on every tier, 200 tickets."""
    from tierdesk.demo import seed
    from tierdesk.search import service as search

    database = _database()
    with database.session(write=True) as db:
        try:
            created = seed.load_demo(db, datetime.now(UTC), only_if_empty=if_empty)
        except DomainError as exc:
            console.print(
                f"[red]could not load the demo:[/] {exc.detail} (use --if-empty on a database that has data)"
            )
            raise typer.Exit(1) from exc
        db.commit()
        search.drain_queue(db, datetime.now(UTC))  # the demo's tickets are searchable at once
        db.commit()
    if created is None:
        console.print("demo data already present; nothing loaded")
        return
    console.print("[green]demo loaded[/]. Sign in at http://127.0.0.1:8000/login with any of:")
    for email, role in created:
        console.print(f"  {email}  ({role})", soft_wrap=True)
    console.print(f"Every demo login uses the password [bold]{seed.DEMO_PASSWORD}[/].")


@seed_app.command("bulk")
def seed_bulk(
    tickets: Annotated[int, typer.Option(min=1, max=10_000_000, help="How many tickets to add")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 7,
    days: Annotated[int, typer.Option(min=1, help="Spread creation times over this many days")] = 365,
    batch: Annotated[int, typer.Option(min=100, help="Tickets per transaction")] = 50_000,
    customers: Annotated[
        int | None, typer.Option(min=0, help="Customers to create (default: one per 20 tickets)")
    ] = None,
) -> None:
    """Add N tickets fast, with their events, replies, tags, search documents and counters.
    Loads the demo first when the database is empty (tickets need tiers and agents)."""
    from tierdesk.demo import bulk
    from tierdesk.demo import seed as demo
    from tierdesk.search import service as search

    database = _database()
    now = datetime.now(UTC)
    with database.session(write=True) as db:
        if demo.load_demo(db, now, only_if_empty=True) is not None:
            console.print("empty database: loaded the demo first (logins as in `tierdesk seed demo`)")
        db.commit()
    if database.is_sqlite:
        bulk.use_bulk_pragmas(database.engine)
    with database.session(write=True) as db:
        try:
            result = bulk.load(
                db,
                tickets,
                now,
                seed=seed,
                days=days,
                batch=batch,
                customers=customers,
                commit=db.commit,
                progress=lambda done: console.print(f"  {done:,} tickets", highlight=False),
            )
        except bulk.NoTiers as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
        indexing = time.perf_counter()
        search.drain_queue(db, now)  # the demo's tickets, when it was loaded just now (bulk ones are indexed)
        indexed = time.perf_counter() - indexing
        started = datetime.now(UTC)
        bulk.analyze(db)
        db.commit()
        analyzed = (datetime.now(UTC) - started).total_seconds()
    database.dispose()  # the pool's connections carry the bulk pragmas: do not reuse them
    console.print(
        f"[green]added {result.tickets:,} tickets[/] (T-{result.first_id} .. T-{result.last_id}) "
        f"in {result.seconds:.1f} s = {result.per_second:,.0f} tickets/s; "
        f"{result.events:,} events, {result.messages:,} messages, {result.tags:,} tags, "
        f"{result.customers:,} customers in {result.organizations:,} organizations; "
        f"(indexes and full-text index rebuilt in {result.index_seconds:.1f} s of that); "
        f"search queue {indexed:.1f} s; "
        f"ANALYZE {analyzed:.1f} s",
        highlight=False,
    )
    console.print("  by status: " + ", ".join(f"{s} {n:,}" for s, n in result.statuses.most_common()))
    console.print("  time: " + ", ".join(f"{p} {t:.2f} s" for p, t in result.phases.items()), highlight=False)


@search_app.command("reindex")
def search_reindex(
    batch: Annotated[int, typer.Option(min=100, max=100_000, help="Tickets per transaction")] = 5000,
) -> None:
    """Rebuild the ticket search index from every ticket's text, in batches (each its own
    transaction: the app keeps serving, tickets changed meanwhile are queued as usual)."""
    from tierdesk.search import service as search

    database = _database()
    started = time.perf_counter()
    with database.session(write=True) as db:
        done = search.reindex(
            db,
            lambda: datetime.now(UTC),
            batch=batch,
            commit=db.commit,
            progress=lambda n: console.print(f"  {n:,} tickets", highlight=False),
        )
    seconds = time.perf_counter() - started
    console.print(f"[green]indexed {done:,} tickets[/] in {seconds:.1f} s", highlight=False)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    role: Annotated[str, typer.Option(help="customer, agent, specialist, supervisor, admin")] = "agent",
    password: Annotated[str | None, typer.Option(help="Prompted when omitted.")] = None,
    tiers: Annotated[str, typer.Option(help="Comma-separated tier keys, e.g. L1,L2")] = "",
    teams: Annotated[str, typer.Option(help="Comma-separated team keys, e.g. billing")] = "",
) -> None:
    """Create a user (and, for staff, their tier and team memberships)."""
    from pydantic import ValidationError

    from tierdesk.accounts import service as accounts
    from tierdesk.accounts.schemas import UserIn
    from tierdesk.tiers import service as tiers_service
    from tierdesk.tiers.schemas import AgentWorkIn

    if password is None:
        password = getpass.getpass("Password (10+ characters): ")
    database = _database()
    with database.session(write=True) as db:
        try:
            work = None
            if tiers or teams:
                tier_ids = [_lookup(tiers_service.tier_by_key(db, k), "tier", k) for k in _split(tiers)]
                team_ids = [_lookup(tiers_service.team_by_key(db, k), "team", k) for k in _split(teams)]
                work = AgentWorkIn(tier_ids=tier_ids, team_ids=team_ids)
            data = UserIn(email=email, name=name, role=role, password=password, work=work)
            user = accounts.create_user_unchecked(db, data)
            db.commit()
        except ValidationError as exc:
            raise typer.BadParameter(
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            ) from exc
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(1) from exc
    console.print(f"[green]created[/] user {user.id} {user.email} ({user.role})")


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="Whose token")],
    name: Annotated[str, typer.Option(help="What it is for")] = "cli",
    scopes: Annotated[str, typer.Option(help="read,write[,admin]")] = "read,write",
) -> None:
    """Create an API token for a user and print it once."""
    from tierdesk.accounts import service as accounts
    from tierdesk.accounts.schemas import TokenIn
    from tierdesk.core.security import SYSTEM, Scope

    database = _database()
    with database.session(write=True) as db:
        user = accounts.user_by_email(db, email)
        if user is None:
            console.print(f"[red]no user with e-mail {email}[/]")
            raise typer.Exit(1)
        try:
            data = TokenIn(name=name, scopes=[Scope(s) for s in _split(scopes)])
            _, token = accounts.create_token(db, SYSTEM, data, datetime.now(UTC), for_user_id=user.id)
        except (ValueError, DomainError) as exc:
            console.print(f"[red]{getattr(exc, 'detail', exc)}[/]")
            raise typer.Exit(1) from exc
        db.commit()
    print(token)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _lookup(obj: Any, what: str, key: str) -> int:
    if obj is None:
        raise typer.BadParameter(f"no {what} with key '{key}'")
    return int(obj.id)


if __name__ == "__main__":
    app()
