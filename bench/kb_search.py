"""Benchmark knowledge-base search latency on SQLite FTS5 and PostgreSQL tsvector.

    python bench/kb_search.py --articles 100000 [--queries 300] [--backends sqlite,postgresql]
                              [--pg-url postgresql://postgres@127.0.0.1:5432/postgres] [--keep]
    python bench/kb_search.py --reuse URL   # measure a database kept by an earlier --keep run

Builds a fresh database per backend with the Alembic migrations (a temporary SQLite file; a
new database `tierdesk_kbbench_<random>` on the PostgreSQL server of --pg-url, dropped at the
end unless --keep; with --keep the SQLite file is left in the temporary directory and its
URL printed, so `--reuse URL` can measure the same data again, e.g. before and after a
change to kb/search.py). Generates N articles in a seeded mix of languages (40% English, 20% each
Chinese, Japanese, Italian; 90% public, 10% internal). Words follow a
Zipf distribution over a vocabulary of real support words plus synthetic rare words, so some
query terms hit most documents and others a handful, as in a real help center. Rows are
bulk-loaded with Core (the point is to measure search, not the loader), then indexed through
`kb.service.reindex`, i.e. the same analyzer and backend code the application uses.

Queries are 1-3 words (Latin) or 2-6 characters (CJK) taken from random articles, searched
in the article's locale as an anonymous visitor (public articles only). Printed: p50/p95/p99
of the ranked ids alone (term statistics + the backend query), and of `kb.service.find`
(ranked ids, default-locale fallback, loading the texts and building highlighted snippets) as
wall time and as this thread's CPU time (on a shared machine the wall time includes waiting
for a core; on PostgreSQL the CPU time excludes the server's share, which is printed on its
own when the server runs on this machine: its backend's /proc/PID/schedstat), `find` wall time
per query class (every term common, so titles only; CJK; Latin), load and index times, and
the size of the index.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, make_url, select, text

from tierdesk.core.db import Database, normalise_url
from tierdesk.core.migrate import upgrade
from tierdesk.core.security import ANONYMOUS, SYSTEM
from tierdesk.kb import analyzer, service
from tierdesk.kb.models import Article, Translation
from tierdesk.kb.schemas import CategoryIn

NOW = datetime(2026, 11, 1, tzinfo=UTC)
EN_WORDS = [
    "account",
    "password",
    "reset",
    "login",
    "sign",
    "invoice",
    "refund",
    "payment",
    "card",
    "plan",
    "upgrade",
    "downgrade",
    "subscription",
    "cancel",
    "ticket",
    "escalate",
    "agent",
    "support",
    "team",
    "customer",
    "order",
    "shipping",
    "parcel",
    "delivery",
    "tracking",
    "export",
    "data",
    "privacy",
    "security",
    "token",
    "webhook",
    "api",
    "integration",
    "email",
    "address",
    "billing",
    "vat",
    "company",
    "organization",
    "member",
    "invite",
    "role",
    "permission",
    "dashboard",
    "report",
    "chat",
    "phone",
    "mobile",
    "app",
    "notification",
    "language",
    "timezone",
    "holiday",
    "calendar",
    "outage",
    "status",
    "incident",
    "update",
    "error",
    "message",
    "bug",
    "crash",
    "slow",
    "performance",
    "browser",
    "cache",
    "cookie",
    "file",
    "attachment",
    "upload",
    "download",
    "pdf",
    "csv",
    "json",
    "limit",
    "quota",
    "storage",
    "backup",
    "restore",
    "migrate",
    "import",
    "sync",
    "connect",
    "disconnect",
    "retry",
    "failed",
    "declined",
    "expired",
    "locked",
    "blocked",
    "verify",
    "identity",
    "fraud",
    "suspicious",
    "device",
    "session",
    "timeout",
    "network",
    "server",
    "region",
    "latency",
    "setting",
    "profile",
    "preference",
    "theme",
    "search",
    "filter",
    "sort",
    "tag",
    "label",
    "category",
    "article",
    "faq",
    "help",
    "guide",
    "tutorial",
    "video",
    "feedback",
    "survey",
    "rating",
    "score",
    "review",
    "approve",
    "reject",
    "pending",
    "hold",
    "solved",
    "closed",
    "reopened",
    "priority",
    "urgent",
    "normal",
    "low",
    "high",
    "first",
    "response",
    "resolution",
    "time",
    "box",
    "tier",
    "specialist",
    "expert",
    "vendor",
    "engineering",
    "fix",
    "release",
    "version",
    "feature",
    "request",
    "roadmap",
    "beta",
]
IT_WORDS = [
    "account",
    "password",
    "accesso",
    "fattura",
    "rimborso",
    "pagamento",
    "carta",
    "piano",
    "abbonamento",
    "annullare",
    "ticket",
    "operatore",
    "assistenza",
    "cliente",
    "ordine",
    "spedizione",
    "pacco",
    "consegna",
    "tracciamento",
    "dati",
    "privacy",
    "sicurezza",
    "token",
    "fatturazione",
    "azienda",
    "organizzazione",
    "membro",
    "invito",
    "ruolo",
    "permesso",
    "rapporto",
    "chat",
    "telefono",
    "notifica",
    "lingua",
    "fuso",
    "orario",
    "festivo",
    "calendario",
    "guasto",
    "stato",
    "aggiornamento",
    "errore",
    "messaggio",
    "lento",
    "prestazioni",
    "file",
    "allegato",
    "caricare",
    "scaricare",
    "limite",
    "archiviazione",
    "ripristino",
    "importare",
    "sincronizzare",
    "riprovare",
    "fallito",
    "rifiutato",
    "scaduto",
    "bloccato",
    "verificare",
    "identità",
    "frode",
    "dispositivo",
    "sessione",
    "rete",
    "server",
    "impostazioni",
    "profilo",
    "ricerca",
    "filtro",
    "etichetta",
    "categoria",
    "articolo",
    "guida",
    "video",
    "valutazione",
    "approvare",
    "rifiutare",
    "attesa",
    "risolto",
    "chiuso",
    "riaperto",
    "priorità",
    "urgente",
    "livello",
    "tempo",
    "risposta",
    "specialista",
    "esperto",
    "fornitore",
    "correzione",
    "versione",
    "funzione",
    "richiesta",
]
ZH_CHARS = (
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里"
    "用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实"
    "工单账户密码退款发票支付订阅取消升级客服专家团队订单配送数据隐私安全邮件地址公司成员权限报告手机通知"
    "语言时区节假日日历故障状态更新错误信息文件附件上传下载限制存储备份恢复导入同步失败拒绝过期锁定验证身份"
)
JA_WORDS = [
    "アカウント",
    "パスワード",
    "再設定",
    "ログイン",
    "請求書",
    "返金",
    "支払い",
    "カード",
    "プラン",
    "解約",
    "チケット",
    "担当者",
    "サポート",
    "お客様",
    "注文",
    "配送",
    "荷物",
    "追跡",
    "データ",
    "セキュリティ",
    "メール",
    "会社",
    "組織",
    "メンバー",
    "招待",
    "権限",
    "通知",
    "言語",
    "時間帯",
    "祝日",
    "障害",
    "状態",
    "更新",
    "エラー",
    "ファイル",
    "添付",
    "ダウンロード",
    "制限",
    "保存",
    "復元",
    "同期",
    "失敗",
    "期限切れ",
    "確認",
    "本人",
    "不正",
    "端末",
    "設定",
    "検索",
    "記事",
    "ヘルプ",
    "評価",
    "保留",
    "解決済み",
    "優先",
    "緊急",
    "一次対応",
    "専門",
    "エスカレーション",
    "時間",
    "回答",
    "不具合",
    "修正",
    "機能",
    "要望",
    "は",
    "が",
    "を",
    "に",
    "で",
    "と",
    "の",
    "も",
    "から",
    "まで",
    "です",
    "ます",
    "した",
    "して",
    "ください",
    "できます",
    "ません",
]


def zipf_choice(rng: random.Random, items: list[str], k: int) -> list[str]:
    # Rank r is drawn with probability ~ 1/r: a few words in most documents, many rare ones.
    n = len(items)
    return [items[min(n - 1, int(n ** rng.random()) - 1)] for _ in range(k)]


def vocabulary(rng: random.Random, base: list[str], rare: int, latin: bool) -> list[str]:
    extra = []
    for _ in range(rare):
        if latin:
            extra.append(
                "".join(rng.choice("bcdfglmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(3, 5)))
            )
        else:
            extra.append("".join(rng.choice(ZH_CHARS) for _ in range(2)))
    return base + extra


def make_text(rng: random.Random, locale: str, vocab: dict[str, list[str]], words: int) -> str:
    if locale in ("en", "it"):
        out = zipf_choice(rng, vocab[locale], words)
        sentences = [" ".join(out[i : i + 12]).capitalize() + "." for i in range(0, len(out), 12)]
        return "\n\n".join(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
    if locale == "zh":
        chars = zipf_choice(rng, vocab["zh"], words)
        sentences = ["".join(chars[i : i + 15]) + "。" for i in range(0, len(chars), 15)]
        return "\n\n".join("".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
    parts = zipf_choice(rng, vocab["ja"], words // 2)
    sentences = ["".join(parts[i : i + 8]) + "。" for i in range(0, len(parts), 8)]
    return "\n\n".join("".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))


def pick_locale(rng: random.Random) -> str:
    r = rng.random()
    return "en" if r < 0.4 else "zh" if r < 0.6 else "ja" if r < 0.8 else "it"


def build(db_url: str, n: int, seed: int) -> tuple[Database, dict[str, float]]:
    upgrade(db_url)
    database = Database(db_url)
    rng = random.Random(seed)
    vocab = {
        "en": vocabulary(rng, EN_WORDS, 3000, True),
        "it": vocabulary(rng, IT_WORDS, 3000, True),
        "zh": list(ZH_CHARS),
        "ja": vocabulary(rng, JA_WORDS, 0, False) + list(ZH_CHARS[:120]),
    }
    figures: dict[str, float] = {}
    t0 = time.perf_counter()
    with database.session() as db:
        cats = [
            service.create_category(db, SYSTEM, CategoryIn(name=f"Category {i}"), NOW).id for i in range(12)
        ]
        db.commit()
    batch = 5000
    article_ids: list[int] = []
    for start in range(0, n, batch):
        size = min(batch, n - start)
        with database.session() as db:
            first = (db.scalar(select(Article.id).order_by(Article.id.desc()).limit(1)) or 0) + 1
            rows: list[dict[str, Any]] = []
            texts: list[dict[str, Any]] = []
            for i in range(size):
                aid = first + i
                locale = pick_locale(rng)
                r = rng.random()
                visibility = "public" if r < 0.9 else "internal"
                rows.append(
                    {
                        "id": aid,
                        "category_id": rng.choice(cats),
                        "source_locale": locale,
                        "visibility": visibility,
                        "status": "published",
                        "created_at": NOW,
                        "updated_at": NOW,
                        "published_at": NOW,
                        "view_count": 0,
                        "helpful_count": 0,
                        "unhelpful_count": 0,
                    }
                )
                title = make_text(rng, locale, vocab, 6).split("\n")[0].rstrip(".。")[:200]
                texts.append(
                    {
                        "id": aid,
                        "article_id": aid,
                        "locale": locale,
                        "title": title,
                        "body": make_text(rng, locale, vocab, rng.randint(60, 140)),
                        "outdated": False,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
            db.execute(insert(Article), rows)
            db.execute(insert(Translation), texts)
            db.commit()
            article_ids.extend(r["id"] for r in rows)
    figures["load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for start in range(0, len(article_ids), 2000):
        with database.session() as db:
            service.reindex(db, article_ids[start : start + 2000])
            db.commit()
    figures["index_s"] = time.perf_counter() - t0
    if database.is_sqlite:
        with database.engine.connect() as conn:
            conn.exec_driver_sql("INSERT INTO kb_fts(kb_fts) VALUES ('optimize')")
            conn.exec_driver_sql("INSERT INTO kb_fts_title(kb_fts_title) VALUES ('optimize')")
            conn.commit()
    else:
        with database.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            # As autovacuum would, in time: statistics for the planner, and the GIN indexes'
            # pending lists merged (otherwise every search scans them).
            for table in ("kb_search_docs", "kb_search_vectors", "kb_search_titles", "kb_terms"):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    return database, figures


def queries(database: Database, count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed + 1)
    out: list[tuple[str, str]] = []
    with database.session(write=False) as db:
        top = db.scalar(select(Translation.id).order_by(Translation.id.desc()).limit(1)) or 1
        while len(out) < count:
            t = db.get(Translation, rng.randint(1, top))
            if t is None:
                continue
            if t.locale in ("en", "it"):
                words = [w for w in t.body.replace(".", " ").split() if len(w) > 2]
                k = rng.randint(1, 3)
                start = rng.randint(0, max(0, len(words) - k))
                out.append((" ".join(words[start : start + k]), t.locale))
            else:
                body = t.body.replace("。", "").replace("\n", "")
                k = rng.randint(2, 6)
                start = rng.randint(0, max(0, len(body) - k))
                out.append((body[start : start + k], t.locale))
    return out


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100)
    return f"p50 {statistics.median(ms):6.2f} ms   p95 {q[94]:6.2f} ms   p99 {q[98]:6.2f} ms"


def _server_cpu(db: Any) -> Any:
    """A function giving the CPU time (s) this session's PostgreSQL backend has used so far,
    when the server runs on this machine (Linux /proc/PID/schedstat, nanoseconds on a core);
    None on SQLite or a remote server."""
    if db.get_bind().dialect.name != "postgresql":
        return None
    path = Path(f"/proc/{db.scalar(text('SELECT pg_backend_pid()'))}/schedstat")
    try:
        path.read_text()
    except OSError:
        return None
    return lambda: int(path.read_text().split()[0]) / 1e9


def measure(database: Database, qs: list[tuple[str, str]]) -> dict[str, list[float]]:
    from tierdesk.kb import search  # the bench measures the backend directly too

    raw: list[float] = []
    full: list[float] = []
    full_cpu: list[float] = []
    server: list[float] = []
    by_kind: dict[str, list[float]] = {}
    empty = 0
    with database.session(write=False) as db:
        backend = search.backend_for(db)
        audience = service.audience(ANONYMOUS)
        server_cpu = _server_cpu(db)
        for q, locale in qs[:20]:  # warm the caches
            service.find(db, ANONYMOUS, q, locale, 10)
        for q, locale in qs:
            t0 = time.perf_counter()
            chosen = search.plan(db, analyzer.query_terms(q, locale))
            hits = backend.search(db, chosen.terms, [locale], audience, 10, chosen.title_only)
            raw.append(time.perf_counter() - t0)
            s0 = server_cpu() if server_cpu else 0.0
            t0, c0 = time.perf_counter(), time.thread_time()
            service.find(db, ANONYMOUS, q, locale, 10)
            full.append(time.perf_counter() - t0)
            full_cpu.append(time.thread_time() - c0)
            if server_cpu:
                server.append(server_cpu() - s0)
            # Query classes: every term common (titles only), CJK, Latin.
            kind = "titles only" if chosen.title_only else "CJK" if locale in ("zh", "ja") else "Latin"
            by_kind.setdefault(f"find wall, {kind} ({{n}})", []).append(full[-1])
            empty += not hits
    print(f"  queries {len(qs)}, with no public result {empty}")
    out = {
        "ranked ids (backend)": raw,
        "service.find, wall": full,
        "service.find, CPU": full_cpu,
    }
    if server:
        out["find, PostgreSQL CPU"] = server
    return out | {label.format(n=len(v)): v for label, v in sorted(by_kind.items())}


def index_size(database: Database) -> str:
    with database.engine.connect() as conn:
        if database.is_sqlite:
            pages = conn.exec_driver_sql("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'kb_fts%'").scalar()
            return f"FTS5 index {int(pages or 0) / 1e6:.0f} MB"
        row = conn.exec_driver_sql(
            "SELECT pg_relation_size('ix_kb_search_vectors_tsv'), pg_total_relation_size('kb_search_vectors'), "
            "pg_total_relation_size('kb_search_titles')"
        ).one()
        return (
            f"GIN index {int(row[0] or 0) / 1e6:.0f} MB, kb_search_vectors {int(row[1] or 0) / 1e6:.0f} MB "
            f"in all, kb_search_titles {int(row[2] or 0) / 1e6:.0f} MB in all"
        )


def run(name: str, url: str, args: argparse.Namespace, reuse: bool = False) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n== {name}: {args.articles:,} articles (load average {load} on {os.cpu_count()} CPUs) ==")
    if reuse:
        database = Database(url)
        with database.session(write=False) as db:
            print(
                f"  reusing {make_url(url).render_as_string()}: {db.scalar(select(func.count(Article.id))):,} articles"
            )
    else:
        database, figures = build(url, args.articles, args.seed)
        print(f"  load {figures['load_s']:.1f} s, index {figures['index_s']:.1f} s")
        if args.keep:
            print(f"  kept: --reuse {make_url(url).render_as_string(hide_password=False)}")
    try:
        print(f"  {index_size(database)}")
        t0, c0 = time.perf_counter(), time.process_time()
        qs = queries(database, args.queries, args.seed)
        for label, samples in measure(database, qs).items():
            print(f"  {label:30s} {percentiles(samples)}")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"  measured in {time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU "
            f"(load average after: {load})"
        )
    finally:
        database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--reuse", metavar="URL", help="measure this database (kept by --keep) without building"
    )
    args = parser.parse_args()
    if args.reuse:
        kind = "SQLite FTS5" if args.reuse.startswith("sqlite") else "PostgreSQL tsvector + GIN"
        run(kind, normalise_url(args.reuse), args, reuse=True)
        return
    backends = args.backends.split(",")
    if "sqlite" in backends:
        if args.keep:
            run(
                "SQLite FTS5",
                f"sqlite:///{Path(tempfile.mkdtemp(prefix='tierdesk_kbbench_')) / 'kb.db'}",
                args,
            )
        else:
            with tempfile.TemporaryDirectory() as tmp:
                run("SQLite FTS5", f"sqlite:///{Path(tmp) / 'kb.db'}", args)
    if "postgresql" in backends:
        server = make_url(normalise_url(args.pg_url))
        name = f"tierdesk_kbbench_{secrets.token_hex(3)}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(
                "PostgreSQL tsvector + GIN",
                server.set(database=name).render_as_string(hide_password=False),
                args,
            )
        finally:
            if not args.keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
