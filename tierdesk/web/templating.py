"""Jinja2 environment for server-rendered pages.

Strings are marked with `_()` (jinja2.ext.i18n); the gettext catalogs (en, zh, ja, it)
arrive with the agent workspace issue, until then the null translations render English.
Autoescape is on for every template.
"""

from __future__ import annotations

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tierdesk.web.paths import TEMPLATES_DIR

env = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
)
env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
templates = Jinja2Templates(env=env)
