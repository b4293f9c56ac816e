"""Article markdown to safe HTML, plain text, highlighted snippets and passages.

Markdown is rendered by markdown-it-py (CommonMark, raw HTML off) and the result is cleaned
again by nh3 (the Ammonia allow-list), so neither a `<script>`/`<iframe>` typed as HTML nor
a `javascript:` link survives. Articles are stored as written and rendered on read.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

from tierdesk.kb import analyzer

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
_BLOCK_BREAK = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t]+")


_DANGEROUS = re.compile(
    r"<\s*(script|iframe|object|embed|style|frame|frameset|applet)\b[^>]*>.*?<\s*/\s*\1\s*>"
    r"|<\s*/?\s*(script|iframe|object|embed|style|frame|frameset|applet)\b[^>]*>",
    re.IGNORECASE | re.DOTALL,
)


_RAW_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^>]*)?/?>")
_SCRIPT_URL = re.compile(r"(?:java|vb)script\s*:", re.IGNORECASE)


def strip_active_content(markdown: str) -> str:
    """Drop script, iframe, object, embed and style elements (with their content), any other
    raw HTML tag (with its event-handler attributes) and javascript:/vbscript: URLs from
    markdown before it is stored, so no stored article holds script even as text. Raw HTML
    is not rendered anyway (markdown-it's html option is off, nh3 cleans the output)."""
    previous = None
    while previous != markdown:  # nested or split tags: repeat until nothing changes
        previous = markdown
        markdown = _SCRIPT_URL.sub("", _RAW_TAG.sub("", _DANGEROUS.sub("", markdown)))
    return markdown


def to_html(markdown: str) -> str:
    """Sanitised HTML for an article body."""
    return nh3.clean(
        _md.render(markdown),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def to_text(markdown: str) -> str:
    """Plain text of an article body, paragraphs separated by blank lines."""
    rendered = nh3.clean(_md.render(markdown), tags={"p", "li", "h1", "h2", "h3", "h4", "td", "pre"})
    text = re.sub(r"</(p|li|h\d|td|pre)>", "\n\n", rendered)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    # Raw HTML typed in the markdown is text here; drop it too (nh3 removes script bodies).
    text = html.unescape(nh3.clean(text, tags=set()))
    return "\n\n".join(_SPACES.sub(" ", p).strip() for p in _BLOCK_BREAK.split(text) if p.strip())


def passages(text: str) -> list[str]:
    return [p for p in _BLOCK_BREAK.split(text) if p.strip()]


# Snippets come from the first part of the text: enough for the window, bounded per result.
SNIPPET_SCAN_CHARS = 6000


@dataclass(frozen=True)
class Match:
    html: str  # escaped text with <mark> around the matched terms
    hits: frozenset[str]  # query terms found


def highlight(text: str, locale: str, query: set[str], width: int = 180) -> Match:
    """The window of `text` (about `width` characters) holding the most query terms, with
    the matches wrapped in <mark>. Works from the analyzer's offsets, so it marks exactly
    what the index matched (stems, CJK bigrams) whichever backend found the article."""
    norm = analyzer.normalize(text)[:SNIPPET_SCAN_CHARS]
    # Single CJK characters are only indexed as unigrams: analyze for them only when asked.
    single = any(len(term) == 1 for term in query)
    found = [t for t in analyzer.tokens(norm, locale, for_query=not single) if t.term in query]
    if not found:
        cut = norm[:width]
        return Match(html.escape(cut) + ("…" if len(norm) > width else ""), frozenset())
    best_start, best_terms = 0, -1
    j = 0
    for i, first in enumerate(found):
        while j < len(found) and found[j].end - first.start <= width:
            j += 1
        distinct = len({t.term for t in found[i:j]})
        if distinct > best_terms:
            best_start, best_terms = i, distinct
    first = found[best_start]
    start = max(0, first.start - width // 4)
    # Do not cut a Latin word in half at the start of the window.
    if start > 0 and norm[start - 1].isalnum() and norm[start].isascii():
        space = norm.find(" ", start)
        start = space + 1 if 0 <= space < first.start else start
    end = min(len(norm), start + width)
    spans: list[list[int]] = []
    for t in found:
        if t.start >= start and t.end <= end:
            if spans and t.start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], t.end)
            else:
                spans.append([t.start, t.end])
    out = ["…"] if start > 0 else []
    pos = start
    for s, e in spans:
        out.append(html.escape(norm[pos:s]))
        out.append(f"<mark>{html.escape(norm[s:e])}</mark>")
        pos = e
    out.append(html.escape(norm[pos:end]))
    if end < len(norm):
        out.append("…")
    return Match("".join(out), frozenset(t.term for t in found))
