"""Languages: gettext catalogs (Babel), choosing a language, dates in the reader's time zone.

The UI speaks English (the source strings), Simplified Chinese (`zh`), Japanese (`ja`) and
Italian (`it`); catalogs live in `tierdesk/locale/<lang>/LC_MESSAGES/messages.po` and are
compiled in memory when a process first needs them, so a fresh clone works without a build
step and no `.mo` file can go stale (`make i18n` extracts and updates them; docs/i18n.md).

A `Lang` is one request's language + time zone. Pages get it explicitly (a dependency) for
strings built in Python; templates read the *active* one from a ContextVar that the template
renderer sets just before rendering. Each request runs in its own context (its own asyncio
task, or a copied context in the thread pool), so concurrent requests never see each other's
language — the Jinja2 environment itself holds no per-request state.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
DEFAULT = "en"
# language code (catalog directory) -> (Babel locale used for dates and numbers, HTML lang tag, own name)
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "en": ("en_GB", "en", "English"),
    "zh": ("zh_Hans_CN", "zh-Hans", "简体中文"),
    "ja": ("ja_JP", "ja", "日本語"),
    "it": ("it_IT", "it", "Italiano"),
}
SUPPORTED = tuple(LANGUAGES)
Width = Literal["full", "long", "medium", "short"]


def N_(message: str) -> str:
    """Marks a string for extraction without translating it (translate it later, where the
    reader's language is known: `lang.gettext(MESSAGE)`)."""
    return message


def normalize(tag: str | None) -> str | None:
    """A supported catalog code for a language tag, or None: 'zh-CN', 'zh_Hans', 'zh-SG' -> 'zh';
    'ja-JP' -> 'ja'; 'it-CH' -> 'it'. Traditional Chinese (zh-TW, zh-HK, zh-Hant) is not
    Simplified, so it is not offered the zh catalog."""
    if not tag:
        return None
    parts = re.split(r"[-_]", tag.strip().lower())
    primary = parts[0]
    if primary == "zh" and any(p in ("hant", "tw", "hk", "mo") for p in parts[1:]):
        return None
    return primary if primary in LANGUAGES else None


def parse_accept_language(header: str | None) -> list[str]:
    """Supported catalog codes in the order of the header's preference (q-values, then order)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = normalize(tag)
        if code and quality > 0:
            ranked.append((-quality, index, code))
    seen: list[str] = []
    for _, _, code in sorted(ranked):
        if code not in seen:
            seen.append(code)
    return seen


def negotiate(profile_language: str | None, accept_language: str | None) -> str:
    """The signed-in person's profile language when we speak it, then the browser's
    Accept-Language, then English."""
    chosen = normalize(profile_language)
    if chosen:
        return chosen
    offered = parse_accept_language(accept_language)
    return offered[0] if offered else DEFAULT


def load_catalog(code: str) -> NullTranslations:
    """The `<code>` catalog compiled from its `.po` in memory (no `.mo` files to build, commit or
    keep in sync). Fuzzy entries are left out: they are guesses, not translations."""
    po = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=code, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@lru_cache(maxsize=len(LANGUAGES))
def translations(code: str) -> NullTranslations:
    """Loaded once per process and language (lru_cache is thread-safe for this: at worst two
    threads compile the same catalog once each)."""
    if code == DEFAULT or code not in LANGUAGES:
        return NullTranslations()
    return load_catalog(code)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Lang:
    """One reader's language and time zone: translate, and format dates and numbers for them."""

    code: str = DEFAULT
    timezone: str = "UTC"

    @property
    def html_lang(self) -> str:
        return LANGUAGES[self.code][1]

    @property
    def babel_locale(self) -> Locale:
        return Locale.parse(LANGUAGES[self.code][0])

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def gettext(self, message: str) -> str:
        return translations(self.code).ugettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.code).ungettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return translations(self.code).upgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return translations(self.code).unpgettext(context, singular, plural, n)

    def local(self, value: dt.datetime) -> dt.datetime:
        return value.astimezone(self.zone)

    def datetime(self, value: dt.datetime | None, width: Width = "medium") -> str:
        """Date and time in the reader's zone and locale: 'Mar 2, 2026, 18:05' (en_GB uses
        24-hour time), '2026/03/02 18:05', '2026年3月2日 18:05', '2 mar 2026, 18:05'."""
        if value is None:
            return ""
        local = self.local(value)
        loc = self.babel_locale
        pattern = get_datetime_format(width, locale=loc)
        return (
            str(pattern)
            .replace("{1}", format_date(local, width, locale=loc))
            .replace("{0}", format_time(local, "short", locale=loc))
        )

    def date(self, value: dt.datetime | None, width: Width = "medium") -> str:
        return "" if value is None else format_date(self.local(value), width, locale=self.babel_locale)

    def time(self, value: dt.datetime | None) -> str:
        return "" if value is None else format_time(self.local(value), "short", locale=self.babel_locale)

    def duration(self, value: dt.timedelta | int | None, direction: bool = False) -> str:
        """'2 hours', '95 minutes' (under two units the smaller one is kept); with `direction`,
        'in 2 hours' / '2 hours ago'."""
        if value is None:
            return ""
        return format_timedelta(
            value, threshold=2, add_direction=direction, format="long", locale=self.babel_locale
        )

    def number(self, value: float | int) -> str:
        return format_decimal(value, locale=self.babel_locale)


ENGLISH = Lang()
_active: ContextVar[Lang] = ContextVar("tierdesk_lang", default=ENGLISH)


def activate(lang: Lang) -> Token[Lang]:
    """Make `lang` the language of templates rendered from now on in this context."""
    return _active.set(lang)


def active() -> Lang:
    return _active.get()


# Callables installed into the Jinja2 environment (newstyle gettext): they read the active
# language at call time, so one shared environment serves every request.
def gettext(message: str) -> str:
    return _active.get().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _active.get().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return _active.get().pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return _active.get().npgettext(context, singular, plural, n)
