"""Benchmark routing-rule evaluation: `routing.service.decide`, which every new ticket passes
through (stage "create") and every escalation (stage "escalate").

    python bench/rules.py [--rules 0,10,100,1000] [--decisions 20000] [--db URL] [--quick]

For each rule count: a fresh database (a temporary SQLite file; with --db, a new database
`tierdesk_rulesbench_<random>` on that PostgreSQL server, dropped at the end), migrated, with
the demo's configuration (`seed demo`: tiers, teams, calendars and its four skip-tier rules)
plus N generated rules created through `routing.service.create_rule`, so each is validated
and stored as the API stores it.

The generated rules look like a grown trigger list: one to three conditions each over the
fields rules may name (category, priority, channel, language, tags, subject words in
en/zh/ja/it, customer VIP and flags, organization plan, segment and flags); actions that
mostly add a tag, some setting a priority, a tier or a team; 95% with `stop` off, so a ticket
is tested against every rule (the worst case; a matching `stop` rule ends the list early).
Facts are drawn from a realistic mix, subjects from the demo's templates in four languages.

Printed per rule count:
- warm: one `decide(db, facts, "create")` per fact set in one transaction, as the create
  path calls it (the compiled rules come from the per-process cache): decisions/s,
  p50/p95/p99 in µs, rules matched per decision;
- cold: the first decision after a configuration change, which reads and compiles every
  enabled rule (a rule edit bumps the configuration generation; measured 5 times);
- this process's CPU time and RSS, and the load average.
No timing assertion: `--quick` only checks that the script runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from tierdesk.core.db import Database, normalise_url
from tierdesk.core.migrate import upgrade
from tierdesk.core.security import SYSTEM
from tierdesk.demo.seed import TEMPLATES, load_demo
from tierdesk.routing import service as routing
from tierdesk.routing.models import Stage
from tierdesk.routing.schemas import RuleIn, RulePatch
from tierdesk.routing.service import RoutingFacts

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CATEGORIES = ["how-to", "login", "billing", "bug", "refund", "outage", "compliance", "fraud"]
PRIORITIES = ["urgent", "high", "normal", "low"]
CHANNELS = ["email", "web", "chat", "api", "phone", "widget"]
LANGUAGES = ["en", "zh", "ja", "it"]
TAGS = ["mobile", "ios", "android", "invoice", "sso", "api", "card", "eu", "returning-customer", "vip"]
PLANS = ["starter", "business", "enterprise"]
SEGMENTS = ["smb", "mid_market", "enterprise"]
REGIONS = ["eu", "us", "apac"]
WORDS = {
    "en": ["refund", "invoice", "password", "outage", "login", "charged", "export", "crash"],
    "zh": ["退款", "发票", "密码", "故障", "登录", "扣款"],
    "ja": ["返金", "請求書", "パスワード", "障害", "ログイン"],
    "it": ["rimborso", "fattura", "password", "disservizio", "accesso"],
}


def _condition(rnd: random.Random) -> dict[str, Any]:
    kind = rnd.randrange(10)
    if kind == 0:
        return {"field": "ticket.category", "op": "in", "value": rnd.sample(CATEGORIES, 2)}
    if kind == 1:
        return {"field": "ticket.priority", "op": "in", "value": rnd.sample(PRIORITIES, 2)}
    if kind == 2:
        return {"field": "ticket.channel", "op": "eq", "value": rnd.choice(CHANNELS)}
    if kind == 3:
        lang = rnd.choice(LANGUAGES)
        return {"field": "ticket.subject", "op": "contains", "value": rnd.choice(WORDS[lang])}
    if kind == 4:
        return {"field": "ticket.tags", "op": "contains", "value": rnd.choice(TAGS)}
    if kind == 5:
        return {"field": "customer.vip", "op": "eq", "value": True}
    if kind == 6:
        return {"field": "organization.plan", "op": "eq", "value": rnd.choice(PLANS)}
    if kind == 7:
        return {"field": "organization.segment", "op": "ne", "value": rnd.choice(SEGMENTS)}
    if kind == 8:
        return {"field": "organization.flags.region", "op": "eq", "value": rnd.choice(REGIONS)}
    return {"field": "ticket.language", "op": "eq", "value": rnd.choice(LANGUAGES)}


def _actions(rnd: random.Random, i: int) -> dict[str, Any]:
    r = rnd.random()
    if r < 0.70:
        return {"add_tags": [f"rule-{i}"]}
    if r < 0.85:
        return {"priority": rnd.choice(["urgent", "high"]), "add_tags": [f"rule-{i}"]}
    if r < 0.95:
        return {"tier": rnd.choice(["L2", "L3"])}
    return {"team": rnd.choice(["billing", "fraud", "compliance", "@dedicated"])}


def add_rules(database: Database, count: int, seed: int) -> None:
    rnd = random.Random(seed)
    with database.session() as db:
        for i in range(count):
            data = {
                "name": f"Bench rule {i}",
                "conditions": [_condition(rnd) for _ in range(1 + rnd.randrange(3))],
                "actions": _actions(rnd, i),
                "stop": rnd.random() < 0.05,
            }
            routing.create_rule(db, SYSTEM, RuleIn.model_validate(data), NOW)
        db.commit()


def facts(rnd: random.Random) -> RoutingFacts:
    lang = rnd.choice(LANGUAGES)
    category = rnd.choice(CATEGORIES)
    subject = rnd.choice(TEMPLATES[lang][category]).split(" | ", 1)[0].replace("{n}", "10042")
    has_org = rnd.random() < 0.6
    return RoutingFacts(
        category=category,
        priority=rnd.choice(PRIORITIES),
        channel=rnd.choice(CHANNELS),
        language=lang,
        tags=tuple(rnd.sample(TAGS, rnd.randrange(3))),
        subject=subject,
        tier_key="L1",
        has_incident=rnd.random() < 0.02,
        customer_vip=rnd.random() < 0.05,
        customer_language=lang,
        customer_flags={"loyalty": "gold"} if rnd.random() < 0.1 else {},
        org_strategic=has_org and rnd.random() < 0.05,
        org_plan=rnd.choice(PLANS) if has_org else None,
        org_segment=rnd.choice(SEGMENTS) if has_org else None,
        org_flags={"region": rnd.choice(REGIONS)} if has_org else {},
        org_dedicated_team_id=None,
    )


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rss_mib() -> float:
    with open("/proc/self/status") as fh:
        fields = dict(line.split(":", 1) for line in fh)
    return int(fields["VmRSS"].split()[0]) / 1024


def measure(database: Database, count: int, decisions: int, seed: int) -> None:
    rnd = random.Random(seed)
    drawn = [facts(rnd) for _ in range(decisions)]
    with database.session(write=False) as db:
        enabled = len(routing.list_rules(db, SYSTEM, Stage.create))
        routing.decide(db, drawn[0], "create")  # compile once: the warm rows measure deciding
        samples: list[float] = []
        matched = 0
        gc.collect()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for f in drawn:
            t = time.perf_counter_ns()
            decision = routing.decide(db, f, "create")
            samples.append((time.perf_counter_ns() - t) / 1000)
            matched += len(decision.rule_ids)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    cold: list[float] = []
    for i in range(5):
        with database.session() as db:  # a rule edit: the next decision reads and compiles again
            first = routing.list_rules(db, SYSTEM, Stage.create)[0]
            routing.update_rule(db, SYSTEM, first.id, RulePatch(name=f"{first.name[:80]} ({i})"), NOW)
            db.commit()
        with database.session(write=False) as db:
            t = time.perf_counter_ns()
            routing.decide(db, drawn[i], "create")
            cold.append((time.perf_counter_ns() - t) / 1e6)
    print(
        f"  {count:>5,} generated + demo = {enabled:>5,} enabled rules: "
        f"{decisions / wall:>9,.0f} decisions/s; p50 {_pct(samples, 0.5):,.1f} µs, "
        f"p95 {_pct(samples, 0.95):,.1f} µs, p99 {_pct(samples, 0.99):,.1f} µs; "
        f"{matched / decisions:.1f} rules matched per decision; CPU {cpu:.2f} s for {decisions:,}; "
        f"cold (after a rule edit) {statistics.median(cold):,.1f} ms median of 5; RSS {_rss_mib():.0f} MiB",
        flush=True,
    )


@contextmanager
def fresh_database(server_url: str | None) -> Iterator[str]:
    if server_url is None:
        with tempfile.TemporaryDirectory(prefix="tierdesk_rulesbench_") as tmp:
            yield f"sqlite:///{Path(tmp) / 'rules.db'}"
        return
    server = make_url(normalise_url(server_url))
    name = f"tierdesk_rulesbench_{secrets.token_hex(3)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", default="0,10,100,1000", help="comma-separated counts of generated rules")
    ap.add_argument("--decisions", type=int, default=20_000, help="decisions measured per rule count")
    ap.add_argument("--db", help="a PostgreSQL server URL (default: a temporary SQLite file)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--quick", action="store_true", help="tiny: checks that the script runs")
    args = ap.parse_args(argv)
    counts = [int(c) for c in args.rules.split(",") if c.strip()]
    if args.quick:
        counts, args.decisions = [0, 20], 200
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"routing rules bench: stage 'create', {args.decisions:,} decisions per rule count; "
        f"{'PostgreSQL' if args.db else 'SQLite'}; {os.cpu_count()} CPUs; load average {load}",
        flush=True,
    )
    for count in counts:
        with fresh_database(args.db) as url:
            upgrade(url)
            database = Database(url)
            try:
                with database.session() as db:
                    load_demo(db, NOW)
                    db.commit()
                add_rules(database, count, args.seed)
                measure(database, count, args.decisions, args.seed)
            finally:
                database.dispose()
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
