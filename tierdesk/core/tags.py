"""The one rule for ticket tags, shared by tickets (what is stored) and routing (what a
rule may add): lower-case, letters/digits and _ : . -, at most 60 characters, no repeats."""

from __future__ import annotations

import re

TAG = re.compile(r"^[\w:.-]{1,60}$", re.UNICODE)
MAX_TAGS = 30


def clean_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip().lower()
        if not TAG.match(tag):
            raise ValueError(f"tag '{tag[:60]}' may only hold letters, digits and _ : . - (at most 60)")
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return cleaned
