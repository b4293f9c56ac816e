"""The supervisor dashboard's figures, read from the other domains' services only.

Every figure is an aggregate over something that does not grow with the ticket table:

- tickets per tier and status: the maintained `ticket_counters` (a few dozen rows), live;
- SLA targets overdue that the scheduler has not fired yet: the head of the partial index
  `ix_sla_timers_due` up to now (empty while the scheduler keeps up), live;
- SLA targets running out within the hour: a range of `ix_sla_timers_due`;
- SLA targets breached and not yet met: the partial index `ix_sla_timers_breached`;
- escalations / de-escalations (7 days) and created / solved per day (14 days): ranges of
  `ix_ticket_events_kind_at` and the partial `ix_ticket_events_solved`;
- agent load: index ranges of `ix_tickets_assignee_status_created` over open statuses;
- CSAT (7 days): a range of `ix_satisfaction_ratings_rated`; KB deflection: the kb report
  over the answer-bot sessions of the last 7 days.

The last six read as many rows as the desk had targets due, events, breaches, open
assigned tickets or ratings in their window: at 1M tickets that can be tens of thousands of
index entries, so they are computed at most once per `CACHE_SECONDS` per process (per viewer
time zone, since days are counted in it) and shown "as of" the time they were computed. The two live figures
are read on every request. Nothing here reads the tickets table row by row.

The figures count every ticket, need-to-know ones included (they are numbers, not tickets);
the lists they link to apply the viewer's visibility.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.core.errors import Forbidden, Unauthorized
from tierdesk.core.i18n import N_
from tierdesk.core.security import Actor
from tierdesk.csat import service as csat
from tierdesk.dashboard.schemas import (
    AgentLoad,
    Csat,
    DashboardOut,
    DayRow,
    Deflection,
    MoveRow,
    SlaRow,
    TierTickets,
)
from tierdesk.kb import answers as kb_answers
from tierdesk.sla import service as sla
from tierdesk.tickets import service as tickets
from tierdesk.tiers import service as tiers
from tierdesk.tiers.models import Tier

CACHE_SECONDS = 60
DAYS = 14
MOVES_DAYS = 7
CSAT_DAYS = 7
DUE_WINDOW = timedelta(hours=1)
OPEN_STATUSES = ("new", "open", "pending", "on_hold")
AGENTS_MAX = 500  # rows of the agent-load table (the staff picker's limit)


def require_dashboard(actor: Actor) -> None:
    """Supervisors and administrators only: 401 anonymous, 403 everyone else."""
    if actor.is_anonymous:
        raise Unauthorized(N_("Sign in or send an API token (Authorization: Bearer td_…)."))
    if not actor.is_supervisor:
        raise Forbidden(N_("Only supervisors and administrators may see the dashboard."))


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts (DST-safe: the zone resolves the wall-clock midnight)."""
    return datetime.combine(day, time(0), tzinfo=zone)


# --- the cached part ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Slow:
    """Figures that read rows in proportion to a window of activity (cached)."""

    as_of: datetime
    breached: list[tuple[int | None, str, int]]
    due: list[tuple[int | None, str, int]]  # running out within DUE_WINDOW of as_of
    moves: list[MoveRow]
    days: list[DayRow]
    agents: list[AgentLoad]
    csat: Csat
    deflection: Deflection


class DashboardCache:
    """Per-process cache of the slow figures, one entry per viewer time zone, valid for
    `ttl` seconds of the injected clock. One computation per key at a time: concurrent
    requests on a cold key wait for it instead of all running the same queries."""

    def __init__(self, ttl: int = CACHE_SECONDS) -> None:
        self.ttl = timedelta(seconds=ttl)
        self._entries: dict[str, Slow] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _fresh(self, key: str, now: datetime) -> Slow | None:
        entry = self._entries.get(key)
        if entry is not None and timedelta(0) <= now - entry.as_of < self.ttl:
            return entry
        return None

    def get(self, key: str, now: datetime, compute: Callable[[], Slow]) -> Slow:
        entry = self._fresh(key, now)
        if entry is not None:
            return entry
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            entry = self._fresh(key, now)
            if entry is None:
                entry = compute()
                self._entries[key] = entry
            return entry


def cache_for(state: Any) -> DashboardCache:
    """The cache kept on `state` (the app's state: one per app, so one per worker process),
    made on first use."""
    cache = getattr(state, "dashboard_cache", None)
    if not isinstance(cache, DashboardCache):
        cache = DashboardCache()
        state.dashboard_cache = cache
    return cache


def _tier_names(ladder: list[Tier]) -> dict[int, str]:
    return {t.id: t.key for t in ladder}


def _queue_href(tier: Tier | None) -> str | None:
    """The workspace queue of a tier, if it has one (enabled human tiers)."""
    if tier is None or not tier.enabled or tier.self_service:
        return None
    return f"/desk/tier/{tier.key}"


def _moves(db: Session, now: datetime, today: datetime, names: dict[int, str]) -> list[MoveRow]:
    since = now - timedelta(days=MOVES_DAYS)
    team_names: dict[int, str] = {}

    def team(value: str | None) -> str:
        if not value or not value.isdigit():
            return ""
        tid = int(value)
        if tid not in team_names:
            found = tiers.team_by_id(db, tid)
            team_names[tid] = found.name if found else f"#{tid}"
        return team_names[tid]

    def tier(value: str | None) -> str:
        return names.get(int(value), f"#{value}") if value and value.isdigit() else ""

    rows: dict[tuple[str, str, str, str, str], list[int]] = {}
    for kind, field, old, new, n_today, n_week in tickets.tier_moves_since(db, since, today):
        if field == "team":
            key = (kind, "", "", team(old), team(new))
        else:
            key = (kind, tier(old), tier(new), "", "")
        counts = rows.setdefault(key, [0, 0])
        counts[0] += n_today
        counts[1] += n_week
    out = [
        MoveRow(
            kind=k[0],
            from_tier=k[1],
            to_tier=k[2],
            from_team=k[3],
            to_team=k[4],
            today=c[0],
            last_7_days=c[1],
        )
        for k, c in rows.items()
    ]
    return sorted(out, key=lambda r: (r.kind, -r.last_7_days, r.from_tier, r.to_tier, r.from_team, r.to_team))


def _days(db: Session, zone: ZoneInfo, now: datetime) -> list[DayRow]:
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    bounds = [_midnight(d, zone) for d in days] + [_midnight(today + timedelta(days=1), zone)]
    created = tickets.created_per_window(db, bounds)
    solved = tickets.solved_per_window(db, bounds)
    return [DayRow(day=d, created=c, solved=s) for d, c, s in zip(days, created, solved, strict=True)]


def _agents(db: Session, actor: Actor, names: dict[int, str], queues: dict[int, str]) -> list[AgentLoad]:
    staff = accounts.staff_names(db, actor, AGENTS_MAX)
    ids = [uid for uid, _ in staff]
    tiers_of, capacity = tiers.agents_tiers_and_capacity(db, ids)
    load = tickets.open_assigned_counts(db, ids)
    out = []
    for uid, name in staff:
        open_n, cap = load.get(uid, 0), capacity[uid]
        tier_ids = tiers_of.get(uid, [])
        if not tier_ids and not open_n:
            continue  # supervisors and admins who work no queue and hold no tickets
        out.append(
            AgentLoad(
                user_id=uid,
                name=name,
                tiers=[names.get(t, f"#{t}") for t in tier_ids],
                open=open_n,
                capacity=cap,
                over_capacity=open_n > cap,
                at_capacity=open_n >= cap,
                links={queues[t]: f"/desk/tier/{queues[t]}?assignee={uid}" for t in tier_ids if t in queues},
            )
        )
    return sorted(out, key=lambda a: (-(a.open / a.capacity if a.capacity else a.open), a.name, a.user_id))


def _deflection(db: Session, actor: Actor, now: datetime) -> Deflection:
    year, week, _ = now.isocalendar()
    key = f"{year}-W{week:02d}"
    # weeks=1 reads the sessions of the last 7 days: they include every one of this week's.
    report = kb_answers.deflection_report(db, actor, now, weeks=1)
    row = next((r for r in report.by_week if r.key == key), None)
    return Deflection(
        week=key,
        sessions=row.sessions if row else 0,
        deflected=row.deflected if row else 0,
        rate=row.rate if row else None,
        pending=report.pending,
    )


def _slow(db: Session, actor: Actor, now: datetime, zone: ZoneInfo) -> Slow:
    ladder = tiers.all_tiers(db)
    names = _tier_names(ladder)
    queues = {t.id: t.key for t in ladder if _queue_href(t)}
    today = _midnight(now.astimezone(zone).date(), zone)
    since = now - timedelta(days=CSAT_DAYS)
    rated = csat.summary(db, since, now + timedelta(seconds=1))
    return Slow(
        as_of=now,
        breached=sla.breached_open_counts(db),
        due=sla.due_counts(db, now, now + DUE_WINDOW),
        moves=_moves(db, now, today, names),
        days=_days(db, zone, now),
        agents=_agents(db, actor, names, queues),
        csat=Csat(
            since=since,
            ratings=rated.ratings,
            satisfied=rated.satisfied,
            rate=rated.rate,
            average=rated.average,
        ),
        deflection=_deflection(db, actor, now),
    )


# --- the whole dashboard -----------------------------------------------------------------------
def _tickets(db: Session, ladder: list[Tier]) -> list[TierTickets]:
    by_id = {t.id: t for t in ladder}
    rows: dict[int, TierTickets] = {}
    for t in ladder:
        if _queue_href(t):  # every human queue, even an empty one
            rows[t.id] = TierTickets(tier_id=t.id, tier=t.key, href=_queue_href(t))
    for status, tier_id, count in tickets.status_counts(db):
        if status not in OPEN_STATUSES or not count:
            continue
        tier = by_id.get(tier_id)
        row = rows.get(tier_id)
        if row is None:
            row = rows[tier_id] = TierTickets(
                tier_id=tier_id or None, tier=tier.key if tier else "", href=_queue_href(tier)
            )
        setattr(row, status, getattr(row, status) + count)
        row.total += count
    level = {t.id: (t.level, t.id) for t in ladder}
    return sorted(rows.values(), key=lambda r: level.get(r.tier_id or 0, (99, 0)))


def _sla(db: Session, now: datetime, slow: Slow, names: dict[int, str]) -> list[SlaRow]:
    rows: dict[tuple[int | None, str], SlaRow] = {}

    def row(tier_id: int | None, metric: str) -> SlaRow:
        key = (tier_id, metric)
        if key not in rows:
            rows[key] = SlaRow(tier_id=tier_id, tier=names.get(tier_id or 0, ""), metric=metric)
        return rows[key]

    for tier_id, metric, n in slow.breached:
        row(tier_id, metric).breached += n
    for tier_id, metric, n in slow.due:
        row(tier_id, metric).due_next_hour += n
    for tier_id, metric, n in sla.overdue_counts(db, now):  # live
        row(tier_id, metric).overdue += n
    return sorted(rows.values(), key=lambda r: (r.tier or "~", r.metric))


def dashboard(db: Session, actor: Actor, now: datetime, cache: DashboardCache | None = None) -> DashboardOut:
    """Everything on the supervisor dashboard for `actor` (supervisor or admin), with days
    and "today" in the actor's time zone. `cache`: the process's cache of the slow figures
    (None computes them now)."""
    require_dashboard(actor)
    zone = zone_of(actor.timezone)
    slow = (
        cache.get(zone.key, now, lambda: _slow(db, actor, now, zone))
        if cache is not None
        else _slow(db, actor, now, zone)
    )
    ladder = tiers.all_tiers(db)
    names = _tier_names(ladder)
    return DashboardOut(
        generated_at=now,
        as_of=slow.as_of,
        cache_seconds=int(cache.ttl.total_seconds()) if cache is not None else 0,
        timezone=zone.key,
        tickets=_tickets(db, ladder),
        sla=_sla(db, now, slow, names),
        moves=slow.moves,
        days=slow.days,
        agents=slow.agents,
        csat=slow.csat,
        deflection=slow.deflection,
    )
