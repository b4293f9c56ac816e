"""Retrieval quality on our own set: 32 articles (English, 10 each also in Chinese, Japanese
and Italian) and 100 paraphrased questions in those four languages (tests/kb/data/).

Measured when written: SQLite recall@1 0.96, recall@5 1.00, MRR 0.978; PostgreSQL recall@1
0.93, recall@5 1.00, MRR 0.960 with ts_rank_cd, 0.95 / 1.00 / 0.973 since it ranks with
ts_rank (neither has IDF). Answer bot: 84/83 of 100 answered
right, 2 wrong, the rest declined. The thresholds sit a little below, so a regression fails
the suite while the other backend passes. Run with `-s` to print the figures and misses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tierdesk.core.clock import FrozenClock
from tierdesk.core.security import ANONYMOUS, SYSTEM
from tierdesk.kb import answers, service
from tierdesk.kb.schemas import ArticleIn, AskIn, TranslationIn

DATA = Path(__file__).parent / "data"
RECALL_AT_5_MIN = 0.95
RECALL_AT_1_MIN = 0.88
MRR_MIN = 0.92
BOT_ANSWERED_RIGHT_MIN = 0.78


def load(db: Session, clock: FrozenClock) -> dict[int, str]:
    """Write the articles through the service; returns article id -> key."""
    ids: dict[int, str] = {}
    for art in json.loads((DATA / "articles.json").read_text())["articles"]:
        en = art["translations"]["en"]
        created = service.create_article(
            db,
            SYSTEM,
            ArticleIn(title=en["title"], body=en["body"], locale="en", category=art["category"]),
            clock.now(),
        )
        for locale, text in art["translations"].items():
            if locale != "en":
                service.save_translation(
                    db,
                    SYSTEM,
                    created.id,
                    locale,
                    TranslationIn(title=text["title"], body=text["body"]),
                    clock.now(),
                )
        ids[created.id] = art["key"]
    return ids


def questions() -> dict[str, Any]:
    return json.loads((DATA / "questions.json").read_text())


def evaluate(db: Session, ids: dict[int, str]) -> dict[str, float]:
    qs = questions()["questions"]
    hits1 = hits5 = 0
    rr = 0.0
    misses = []
    for q in qs:
        found = service.find(db, ANONYMOUS, q["q"], q["locale"], 10)
        keys = [ids[f.article_id] for f in found]
        rank = keys.index(q["article"]) + 1 if q["article"] in keys else None
        if rank == 1:
            hits1 += 1
        if rank is not None and rank <= 5:
            hits5 += 1
        if rank is not None:
            rr += 1 / rank
        if rank != 1:
            misses.append((q["locale"], q["q"], q["article"], keys[:3]))
    n = len(qs)
    for miss in misses:
        print("miss:", *miss)
    return {"recall@1": hits1 / n, "recall@5": hits5 / n, "mrr": rr / n, "questions": n}


@pytest.fixture
def kb(db: Session, clock: FrozenClock) -> dict[int, str]:
    return load(db, clock)


def test_the_set_is_big_enough_and_multilingual(kb: dict[int, str]) -> None:
    qs = questions()["questions"]
    assert len(kb) >= 30 and len(qs) >= 100
    assert {q["locale"] for q in qs} == {"en", "zh", "ja", "it"}


def test_recall_and_mrr_stay_above_the_measured_level(db: Session, kb: dict[int, str]) -> None:
    metrics = evaluate(db, kb)
    print(f"\nKB quality ({db.get_bind().dialect.name}): {metrics}")
    assert metrics["recall@5"] >= RECALL_AT_5_MIN, metrics
    assert metrics["recall@1"] >= RECALL_AT_1_MIN, metrics
    assert metrics["mrr"] >= MRR_MIN, metrics


def test_the_bot_answers_most_questions_right_and_declines_off_topic_ones(
    db: Session, kb: dict[int, str], clock: FrozenClock
) -> None:
    data = questions()
    right = wrong = declined = 0
    for q in data["questions"]:
        out = answers.ask(db, ANONYMOUS, AskIn(question=q["q"], locale=q["locale"]), clock.now())
        if not out.answered:
            declined += 1
        elif out.article is not None and kb[out.article.id] == q["article"]:
            right += 1
        else:
            wrong += 1
    n = len(data["questions"])
    print(f"\nanswer bot: right {right}/{n}, wrong {wrong}, declined {declined}")
    assert right / n >= BOT_ANSWERED_RIGHT_MIN
    for q in data["unanswerable"]:
        out = answers.ask(db, ANONYMOUS, AskIn(question=q["q"], locale=q["locale"]), clock.now())
        assert not out.answered, (q, out)
