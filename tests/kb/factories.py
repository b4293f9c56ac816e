"""Knowledge-base factories: articles written through the service, like an agent would."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tierdesk.core.security import SYSTEM, Actor
from tierdesk.kb import service as kb
from tierdesk.kb.models import Article, Visibility
from tierdesk.kb.schemas import ArticleIn, TranslationIn


def article(
    db: Session,
    now: datetime,
    title: str,
    body: str,
    locale: str = "en",
    category: str = "general",
    visibility: Visibility = Visibility.public,
    organization_id: int | None = None,
    draft: bool = False,
    who: Actor = SYSTEM,
) -> Article:
    return kb.create_article(
        db,
        who,
        ArticleIn(
            title=title,
            body=body,
            locale=locale,
            category=category,
            visibility=visibility,
            organization_id=organization_id,
            draft=draft,
        ),
        now,
    )


def translate(db: Session, now: datetime, article_id: int, locale: str, title: str, body: str) -> None:
    kb.save_translation(db, SYSTEM, article_id, locale, TranslationIn(title=title, body=body), now)
