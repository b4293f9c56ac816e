"""Languages: every UI string is translated into zh, ja and it; the language and time zone
follow the reader."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tierdesk.core.i18n import LOCALE_DIR, Lang, negotiate, normalize, parse_accept_language

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ("zh", "ja", "it")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


@cache
def _extracted() -> frozenset[str]:
    """Every msgid in the source tree right now (what `make i18n` would extract); once per run."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map):
        for part in message if isinstance(message, tuple) else (message,):
            if part:
                found.add(part)
    return frozenset(found)


def _catalog(code: str):  # type: ignore[no-untyped-def]
    with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=code)


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_extracted_string_has_a_translation(code: str) -> None:
    catalog = _catalog(code)
    done: set[str] = set()
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings):
            done.update(ids)
    missing = sorted(_extracted() - done)
    assert not missing, (
        f"{len(missing)} string(s) have no {code} translation in "
        f"tierdesk/locale/{code}/LC_MESSAGES/messages.po (run `make i18n`, then translate):\n  "
        + "\n  ".join(missing)
    )


@pytest.mark.parametrize("code", TRANSLATED)
def test_translations_keep_the_placeholders_of_the_source(code: str) -> None:
    wrong = []
    for message in _catalog(code):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            if s and set(PLACEHOLDER.findall(s)) != expected:
                wrong.append(f"{ids[0]!r} -> {s!r}")
    assert not wrong, f"{code}: placeholders differ:\n  " + "\n  ".join(wrong)


def test_the_profile_language_wins_over_the_browser() -> None:
    assert negotiate("ja", "it-IT,it;q=0.9") == "ja"


def test_without_a_supported_profile_language_the_browser_preference_decides_by_quality() -> None:
    assert negotiate(None, "de-DE,de;q=0.9,it;q=0.5,ja;q=0.8") == "ja"
    assert negotiate("de", "zh-CN,zh;q=0.9") == "zh"
    assert negotiate(None, "fr-FR, de") == "en"
    assert negotiate(None, None) == "en"
    assert negotiate(None, "it;q=0, ja;q=garbage") == "en"


def test_simplified_chinese_tags_map_to_zh_and_traditional_ones_do_not() -> None:
    assert [normalize(t) for t in ("zh", "zh-CN", "zh_Hans", "zh-SG", "ZH-hans-cn")] == ["zh"] * 5
    assert [normalize(t) for t in ("zh-TW", "zh-Hant", "zh-HK")] == [None] * 3
    assert parse_accept_language("zh-TW, zh-CN;q=0.5") == ["zh"]


def test_dates_are_shown_in_the_readers_time_zone_and_locale() -> None:
    at = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    assert Lang("ja", "Asia/Tokyo").datetime(at) == "2026/03/02 18:05"
    assert Lang("zh", "Asia/Shanghai").datetime(at) == "2026年3月2日 17:05"
    assert Lang("it", "Europe/Rome").datetime(at) == "2 mar 2026, 10:05"
    assert Lang("en", "America/New_York").datetime(at) == "2 Mar 2026, 04:05"
    assert Lang("en", "Not/A_Zone").datetime(at) == "2 Mar 2026, 09:05"


def test_durations_are_locale_aware() -> None:
    assert Lang("it").duration(timedelta(minutes=95)) == "95 minuti"
    assert Lang("ja").duration(timedelta(hours=-3), direction=True) == "3 時間前"


def test_a_catalog_string_is_translated_for_its_language_only() -> None:
    assert Lang("ja").gettext("Sign in") == "ログイン"
    assert Lang("zh").gettext("Sign in") == "登录"
    assert Lang("it").gettext("Sign in") == "Accedi"
    assert Lang("en").gettext("Sign in") == "Sign in"
