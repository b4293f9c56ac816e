"""Jinja2 environment for server-rendered pages.

Strings are marked with `_()` / `ngettext()` / `{% trans %}` (jinja2.ext.i18n, newstyle:
`_('%(n)s tickets', n=3)` formats and escapes its arguments). The gettext callables read the
request's language from a ContextVar that the context processor `activate_for_template` sets
right before each render (web/i18n.py), so the one shared environment is safe under
concurrent requests. Date filters show times in the reader's time zone and locale:
`{{ t.created_at|datetime }}`, `|date`, `|time`, `{{ delta|duration }}`, `{{ n|number }}`.
Autoescape is on for every template.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from tierdesk.core import i18n
from tierdesk.core.i18n import Width
from tierdesk.web.i18n import activate_for_template
from tierdesk.web.paths import TEMPLATES_DIR


def _datetime(value: datetime | None, width: Width = "medium") -> str:
    return i18n.active().datetime(value, width)


def _date(value: datetime | None, width: Width = "medium") -> str:
    return i18n.active().date(value, width)


def _time(value: datetime | None) -> str:
    return i18n.active().time(value)


def _duration(value: timedelta | int | None, direction: bool = False) -> str:
    return i18n.active().duration(value, direction)


def _number(value: float | int) -> str:
    return i18n.active().number(value)


def _time_tag(value: datetime | None, width: Width = "medium") -> Markup:
    """`<time datetime="ISO">local text</time>`, the machine-readable instant kept in UTC."""
    if value is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(
        value.isoformat(), escape(i18n.active().datetime(value, width))
    )


env = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
    # Templates ship with the package: no stat() of every template (and of every include in a
    # loop) on each render to see whether it changed on disk. Restart to pick up an edit.
    auto_reload=False,
)
env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.gettext,
    ngettext=i18n.ngettext,
    pgettext=i18n.pgettext,
    npgettext=i18n.npgettext,
    newstyle=True,
)
filters: dict[str, Any] = {
    "datetime": _datetime,
    "date": _date,
    "time": _time,
    "duration": _duration,
    "number": _number,
    "time_tag": _time_tag,
}
env.filters.update(filters)
templates = Jinja2Templates(env=env, context_processors=[activate_for_template])
