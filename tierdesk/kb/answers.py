"""The answer bot (retrieval only: no external AI service) and deflection.

`ask` searches the knowledge base, picks the passage (paragraph) that covers most of the
question's terms, and answers only when that coverage reaches CONFIDENCE_THRESHOLD;
below it the bot says it does not know rather than guess. Each conversation is a
self-service session (`kb_sessions`) keyed by an unguessable token the visitor holds.

"Did this solve it?": yes marks the session solved (a deflection); no hands off to a human:
a ticket is created through the tickets service with the questions and the articles already
shown in its first message, and the full transcript (passages and confidences) as an
internal note, so L1 does not repeat them.

Deflection: a session that saw an answer is deflected when the visitor said it solved the
problem, or when no ticket from that customer was opened within 24 hours of the first
answer (`settle_sessions`, run by the worker). Anonymous visitors cannot be followed to a
ticket they open later under an e-mail address, so their unanswered "no ticket" is counted
as deflected only through the same 24-hour rule, without the ticket check.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tierdesk.core.errors import Conflict, InvalidInput, NotFound
from tierdesk.core.security import SYSTEM, Actor, require_staff
from tierdesk.kb import analyzer, render, service
from tierdesk.kb import repository as repo
from tierdesk.kb.models import DEFLECTED, Article, SelfServiceSession, SessionOutcome
from tierdesk.kb.schemas import (
    AnswerOut,
    ArticleRef,
    AskIn,
    DeflectionReport,
    DeflectionRow,
    FeedbackIn,
    FeedbackOut,
)
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Channel, MessageKind
from tierdesk.tickets.schemas import MessageCreate, Requester, TicketCreate
from tierdesk.tickets.service import TicketFilter

# Share of the question's terms that the chosen passage (with its article title) must cover.
# Measured on tests/kb/data: right answers cover 0.5-1.0; off-topic questions 0-0.3.
CONFIDENCE_THRESHOLD = 0.4
DEFLECTION_WINDOW = timedelta(hours=24)
I_DO_NOT_KNOW = (
    "I don't know the answer to that one. Try other words, browse the help center, or "
    "tell us it did not help and a person will take it from here."
)


@dataclass(frozen=True)
class Passage:
    found: service.Found
    text: str
    confidence: float


def best_passage(found: list[service.Found], question_terms: list[str]) -> Passage | None:
    """The paragraph (of the top three articles) covering most question terms; the title
    counts for every paragraph of its article. Lower-ranked articles need to cover more."""
    if not found or not question_terms:
        return None
    wanted = set(question_terms)
    best: Passage | None = None
    for rank, f in enumerate(found[:3]):
        title_terms = set(analyzer.terms(f.title, f.locale)) & wanted
        for paragraph in render.passages(f.text) or [f.text]:
            covered = title_terms | (set(analyzer.terms(paragraph, f.locale)) & wanted)
            confidence = round(len(covered) / len(wanted) * (1.0 - 0.1 * rank), 3)
            if best is None or confidence > best.confidence:
                best = Passage(f, paragraph, confidence)
    return best


def _ref(f: service.Found) -> ArticleRef:
    return ArticleRef(
        id=f.article_id, title=f.title, locale=f.locale, url=service.article_url(f.article_id, f.locale)
    )


def _session(db: Session, actor: Actor, key: str | None, locale: str, now: datetime) -> SelfServiceSession:
    if key:
        found = repo.session_by_key(db, key, for_update=True)
        if found is None or (found.user_id is not None and found.user_id != actor.user_id):
            raise NotFound("This conversation does not exist; start a new one without 'session'.")
        return found
    session = SelfServiceSession(
        key=secrets.token_urlsafe(24),
        user_id=actor.user_id,
        customer_id=actor.customer_id if actor.is_customer else None,
        locale=locale,
        started_at=now,
        last_at=now,
        transcript=[],
    )
    db.add(session)
    return session


def _saw_answer(db: Session, session: SelfServiceSession, article_id: int, now: datetime) -> None:
    if session.first_answer_at is None:
        session.first_answer_at = now
        session.first_article_id = article_id
        article = db.get(Article, article_id)
        session.category_id = article.category_id if article else None


def ask(db: Session, actor: Actor, data: AskIn, now: datetime) -> AnswerOut:
    session = _session(db, actor, data.session, data.locale, now)
    if session.outcome in (SessionOutcome.solved.value, SessionOutcome.handed_off.value):
        raise Conflict("This conversation is finished; start a new one without 'session'.")
    question = data.question.strip()[: service.MAX_QUERY_CHARS]
    found = service.find(db, actor, question, data.locale, 5)
    terms = found[0].terms if found else analyzer.query_terms(question, data.locale)
    passage = best_passage(found, terms)
    answered = passage is not None and passage.confidence >= CONFIDENCE_THRESHOLD
    turn: dict[str, Any] = {
        "at": now.isoformat(),
        "question": question[:2000],
        "answered": answered,
        "confidence": passage.confidence if passage else 0.0,
        "shown": [{"id": f.article_id, "title": f.title, "locale": f.locale} for f in found[:3]],
    }
    if answered and passage is not None:
        turn |= {"article_id": passage.found.article_id, "passage": passage.text[:2000]}
        _saw_answer(db, session, passage.found.article_id, now)
    session.transcript = [*session.transcript, turn]
    session.last_at = now
    db.flush()
    related = [_ref(f) for f in found[:3] if not (answered and passage and f is passage.found)]
    return AnswerOut(
        session=session.key,
        answered=answered,
        confidence=passage.confidence if passage else 0.0,
        passage=passage.text if answered and passage else None,
        article=_ref(passage.found) if answered and passage else None,
        message="Here is what the help center says." if answered else I_DO_NOT_KNOW,
        related=related,
    )


def note_article_view(
    db: Session, actor: Actor, key: str | None, article_id: int, locale: str, now: datetime
) -> str:
    """A portal reader opened an article: that counts as seeing an answer in their session.
    Returns the session key (new when `key` is unknown)."""
    session = repo.session_by_key(db, key, for_update=True) if key else None
    if session is None or (session.user_id is not None and session.user_id != actor.user_id):
        session = _session(db, actor, None, locale, now)
    if session.outcome is None:
        _saw_answer(db, session, article_id, now)
        session.transcript = [*session.transcript, {"at": now.isoformat(), "viewed": article_id}]
    session.last_at = now
    db.flush()
    return session.key


def _ticket_texts(session: SelfServiceSession, details: str | None) -> tuple[str, str, str]:
    questions = [t["question"] for t in session.transcript if "question" in t]
    shown: dict[int, str] = {}
    for turn in session.transcript:
        for a in turn.get("shown", []):
            shown.setdefault(a["id"], f"{a['title']} ({service.article_url(a['id'], a['locale'])})")
    subject = (questions[0] if questions else "Help request from the help center").replace("\n", " ")
    subject = subject[:120] + ("…" if len(subject) > 120 else "")
    lines = ["I asked the help center assistant:", *[f"- {q}" for q in questions]]
    if shown:
        lines += ["", "Articles I was shown (they did not solve it):", *[f"- {s}" for s in shown.values()]]
    if details and details.strip():
        lines += ["", details.strip()]
    note = ["Answer bot transcript (handed off because the customer said it did not solve the problem):"]
    for turn in session.transcript:
        if "question" in turn:
            verdict = (
                f"answered from article {turn.get('article_id')} (confidence {turn['confidence']:.2f})"
                if turn.get("answered")
                else f"did not know (best confidence {turn['confidence']:.2f})"
            )
            note.append(f"- {turn['at']} Q: {turn['question']}\n  Bot: {verdict}")
            if turn.get("passage"):
                note.append(f"  Passage: {turn['passage'][:500]}")
        elif "viewed" in turn:
            note.append(f"- {turn['at']} read article {turn['viewed']}")
    if shown:
        note += ["Articles already shown:", *[f"- {s}" for s in shown.values()]]
    return subject, "\n".join(lines), "\n".join(note)


def feedback(db: Session, actor: Actor, key: str, data: FeedbackIn, now: datetime) -> FeedbackOut:
    """Yes: the session is solved (deflected). No: a ticket for a human, with the transcript."""
    session = repo.session_by_key(db, key, for_update=True)
    if session is None or (session.user_id is not None and session.user_id != actor.user_id):
        raise NotFound("This conversation does not exist.")
    if session.outcome in (SessionOutcome.solved.value, SessionOutcome.handed_off.value):
        raise Conflict(f"This conversation is already {session.outcome.replace('_', ' ')}.")
    if data.solved:
        session.outcome, session.outcome_at, session.last_at = SessionOutcome.solved.value, now, now
        if session.first_answer_at is None:  # "solved" counts as having seen an answer
            session.first_answer_at = now
        db.flush()
        return FeedbackOut(session=session.key, outcome=session.outcome)
    subject, description, note = _ticket_texts(session, data.details)
    if actor.is_customer:
        ticket = tickets.create_ticket(
            db,
            actor,
            TicketCreate(
                subject=subject, description=description, channel=Channel.bot, language=session.locale
            ),
            now,
        )
    else:
        if data.email is None:
            raise InvalidInput("Tell us your e-mail address so a person can answer you.", field="email")
        ticket = tickets.create_ticket(
            db,
            SYSTEM,
            TicketCreate(
                subject=subject,
                description=description,
                channel=Channel.bot,
                language=session.locale,
                requester=Requester(email=data.email, name=data.name),
            ),
            now,
        )
    tickets.add_message(db, SYSTEM, ticket.id, MessageCreate(body=note, kind=MessageKind.internal), now)
    session.outcome, session.outcome_at, session.last_at = SessionOutcome.handed_off.value, now, now
    session.ticket_id = ticket.id
    db.flush()
    return FeedbackOut(
        session=session.key, outcome=session.outcome, ticket_id=ticket.id, ticket_number=ticket.number
    )


def settle_sessions(db: Session, now: datetime, batch: int = 500) -> int:
    """Give every session whose first answer is 24 hours old an outcome: deflected, or
    ticket_opened when its customer opened a ticket within those 24 hours. Returns how many."""
    settled = 0
    for session in repo.unsettled_sessions(db, now - DEFLECTION_WINDOW, batch):
        assert session.first_answer_at is not None
        opened = False
        if session.customer_id is not None:
            flt = TicketFilter(
                requester_id=session.customer_id,
                created_from=session.first_answer_at,
                created_to=session.first_answer_at + DEFLECTION_WINDOW,
            )
            rows, _ = tickets.list_tickets(db, SYSTEM, flt, "-created_at", None, 1)
            opened = bool(rows)
        session.outcome = (SessionOutcome.ticket_opened if opened else SessionOutcome.deflected).value
        session.outcome_at = now
        settled += 1
    db.flush()
    return settled


def _rate(deflected: int, total: int) -> float | None:
    return round(deflected / total, 4) if total else None


def deflection_report(db: Session, actor: Actor, now: datetime, weeks: int = 12) -> DeflectionReport:
    """Deflection rate of settled sessions that saw an answer, per ISO week of the first
    answer, per category and per article of that first answer."""
    require_staff(actor)
    since = now - timedelta(weeks=weeks)
    rows = repo.deflection_rows(db, since)
    groups: dict[str, dict[Any, list[int]]] = {
        "week": defaultdict(lambda: [0, 0, 0]),
        "category": defaultdict(lambda: [0, 0, 0]),
        "article": defaultdict(lambda: [0, 0, 0]),
    }
    pending = 0
    for at, category_id, article_id, outcome in rows:
        if outcome is None or at is None:
            pending += 1
            continue
        year, week, _ = at.isocalendar()
        deflected = outcome in DEFLECTED
        handed = outcome == SessionOutcome.handed_off.value
        for name, key in (
            ("week", f"{year}-W{week:02d}"),
            ("category", category_id),
            ("article", article_id),
        ):
            counts = groups[name][key]
            counts[0] += 1
            counts[1] += int(deflected)
            counts[2] += int(handed)
    categories = service.categories_by_id(db, [k for k in groups["category"] if k is not None])
    article_ids = [k for k in groups["article"] if k is not None]
    titles: dict[int, str] = {}
    texts = repo.translations(db, article_ids)
    for article_id, ts in texts.items():
        if ts:
            titles[article_id] = service.pick(ts, None, ts[0].locale).title

    def table(name: str, label: Any) -> list[DeflectionRow]:
        out = [
            DeflectionRow(
                key=str(k),
                label=label(k),
                sessions=c[0],
                deflected=c[1],
                handed_off=c[2],
                rate=_rate(c[1], c[0]),
            )
            for k, c in groups[name].items()
        ]
        return sorted(out, key=lambda r: r.key) if name == "week" else sorted(out, key=lambda r: -r.sessions)

    total = sum(c[0] for c in groups["week"].values())
    deflected_total = sum(c[1] for c in groups["week"].values())
    return DeflectionReport(
        since=since,
        settled_sessions=total,
        deflected=deflected_total,
        rate=_rate(deflected_total, total),
        pending=pending,
        by_week=table("week", lambda k: k),
        by_category=table("category", lambda k: categories[k].name if k in categories else "(none)"),
        by_article=table("article", lambda k: titles.get(k, f"article {k}") if k is not None else "(none)"),
    )
