"""The one text analyzer behind knowledge-base search: the same function turns article text
into index terms and a query into search terms, so both backends (SQLite FTS5 and
PostgreSQL tsvector) index and rank the same terms.

Steps: Unicode NFKC (full-width letters and digits become ASCII, half-width katakana
become full-width), case folding, then per run of characters:

- CJK runs (Han, Hiragana, Katakana, Hangul) become overlapping character bigrams,
  "一级工单" -> "一级" "级工" "工单". Documents also index every character on its own
  (unigrams), so a one-character query ("退") still finds "退款"; a query only uses
  unigrams when its run is a single character, so longer queries rank on bigrams.
- Latin-script words are stemmed with the Snowball stemmer of the text's language
  (PyStemmer): "escalation", "escalated" -> "escal"; Italian "rimborsi" -> "rimbors".
  A short stop-word list per language is dropped on both sides.

Terms are plain strings without spaces or quotes, so they can be joined with spaces and fed
to FTS5's `unicode61` tokenizer, or written as tsvector lexemes, without being split again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import Stemmer

LOCALES = ("en", "zh", "ja", "it")
DEFAULT_LOCALE = "en"
# Latin words in Chinese and Japanese articles are mostly English product words.
_STEMMER_LANGUAGE = {"en": "english", "it": "italian", "zh": "english", "ja": "english"}

_CJK = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana (incl. the prolonged sound mark)
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
# A run of CJK characters, or a run of other letters/digits (a "word").
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS: dict[str, frozenset[str]] = {
    "english": _words(
        """a an and are as at be been but by can could do does did for from has have how i if in
        into is it its me my of on or our so than that the their them then there these they this
        to was we were what when where which who why will with would you your"""
    ),
    "italian": _words(
        """a ad al alla alle allo agli ai che chi ci come con da dal dalla dei del della delle di
        e è ed gli ha hai ho i il in la le lo ma mi mio mia nel nella nelle non o per più quando
        quale quali se si sono su sul sulla ti tra un una uno voi vi l d dell all nell sull c"""
    ),
}

MAX_QUERY_TERMS = 32


class Token(NamedTuple):
    term: str
    start: int  # offsets in the NFKC-normalised text
    end: int


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def supported(locale: str | None) -> str | None:
    """'zh-CN' -> 'zh', 'IT' -> 'it'; None for a locale we have no articles in."""
    if not locale:
        return None
    base = locale.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else None


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def _language(locale: str | None) -> str:
    return _STEMMER_LANGUAGE.get(supported(locale) or DEFAULT_LOCALE, "english")


def tokens(text: str, locale: str | None, *, for_query: bool = False) -> list[Token]:
    """Terms with their offsets in `normalize(text)`, in text order (duplicates kept)."""
    text = normalize(text)
    language = _language(locale)
    stop = STOP_WORDS.get(language, frozenset())
    out: list[Token] = []
    words: list[tuple[int, str, int, int]] = []  # (index in out, word, start, end)
    for match in _RUN.finditer(text):
        start, end = match.span()
        run = match.group().casefold()
        if match.lastgroup == "cjk":
            if len(run) == 1:
                out.append(Token(run, start, end))
                continue
            for i in range(len(run) - 1):
                if not for_query:
                    out.append(Token(run[i], start + i, start + i + 1))
                out.append(Token(run[i : i + 2], start + i, start + i + 2))
            if not for_query:
                out.append(Token(run[-1], end - 1, end))
        elif run not in stop:
            words.append((len(out), run, start, end))
            out.append(Token("", start, end))
    # One call into the stemmer for all words (PyStemmer also caches frequent ones).
    stems = _stemmer(language).stemWords([w[1] for w in words])
    for (index, _, start, end), stem in zip(words, stems, strict=True):
        out[index] = Token(stem, start, end)
    return out


def terms(text: str, locale: str | None) -> list[str]:
    """Index terms of a document field, in order."""
    text = normalize(text)
    language = _language(locale)
    stop = STOP_WORDS.get(language, frozenset())
    out: list[str] = []
    words: list[str] = []
    slots: list[int] = []
    for match in _RUN.finditer(text):
        run = match.group().casefold()
        if match.lastgroup == "cjk":
            if len(run) == 1:
                out.append(run)
                continue
            for i in range(len(run) - 1):
                out.append(run[i])
                out.append(run[i : i + 2])
            out.append(run[-1])
        elif run not in stop:
            slots.append(len(out))
            words.append(run)
            out.append("")
    for index, stem in zip(slots, _stemmer(language).stemWords(words), strict=True):
        out[index] = stem
    return out


def query_terms(text: str, locale: str | None) -> list[str]:
    """Distinct search terms of a query, in order, at most MAX_QUERY_TERMS (a pasted
    2,000-character paragraph is searched by its first terms, not refused)."""
    seen: dict[str, None] = {}
    for token in tokens(text, locale, for_query=True):
        seen.setdefault(token.term, None)
        if len(seen) >= MAX_QUERY_TERMS:
            break
    return list(seen)


_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def script_locales(text: str) -> list[str]:
    """Locales a query's own script points to: kana -> Japanese (then Chinese, as kanji may
    be shared), Han alone -> Chinese then Japanese; Latin text says nothing."""
    if _KANA.search(text):
        return ["ja", "zh"]
    if _HAN.search(text):
        return ["zh", "ja"]
    return []


def query_terms_any(text: str, locales: Iterable[str]) -> list[str]:
    """Search terms for a query whose language is unknown: the union over `locales`
    (stems differ between English and Italian)."""
    seen: dict[str, None] = {}
    for locale in locales:
        for term in query_terms(text, locale):
            seen.setdefault(term, None)
    return list(seen)[: MAX_QUERY_TERMS * 2]
