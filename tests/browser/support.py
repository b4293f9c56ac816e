"""Helpers for browser tests (import them: `from tests.browser.support import ...`)."""

from __future__ import annotations

from typing import Any

OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1) {
      // Ignore descendants of a horizontally scrollable box (wide tables scroll inside it).
      let p = el.parentElement, scrolls = false;
      while (p && p !== document.body) {
        const s = getComputedStyle(p);
        if ((s.overflowX === 'auto' || s.overflowX === 'scroll') && p.getBoundingClientRect().right <= width + 1) { scrolls = true; break; }
        p = p.parentElement;
      }
      if (!scrolls) wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') + ' right=' + Math.round(r.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 10)};
}"""


def horizontal_overflow(page: Any) -> dict[str, Any]:
    """What sticks out of the viewport sideways: the page's scroll width against its width and
    up to ten elements whose box crosses the right edge (outside a scrolling box; boxes pushed
    off the left edge, like skip links, cannot be scrolled to and do not count)."""
    return dict(page.evaluate(OVERFLOW_JS))


def assert_no_horizontal_overflow(page: Any) -> None:
    found = horizontal_overflow(page)
    assert found["scrollWidth"] <= found["width"] and not found["wide"], (
        f"{page.url} overflows horizontally: {found}"
    )
