"""The OpenAPI document, built once per process in a short-lived child process.

Building the document makes FastAPI resolve every API route's parameters and response models
and makes Pydantic generate a JSON schema for each: about 23 MiB of a worker's memory that
stays for the life of the process (glibc keeps the freed pages, and the resolved route state
stays referenced), even though the document itself is 190 KiB of JSON. A worker serves the
document rarely, so it asks a child process (the same code and environment) to build and
print it, keeps the bytes, and serves them as they are. If the child fails, the worker builds
the document itself, so the endpoint never breaks.
`app.openapi()` is FastAPI's own and still builds the dict in process for code that asks.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

log = logging.getLogger(__name__)
CHILD_TIMEOUT_SECONDS = 120
_CHILD = (
    "import sys\n"
    "from tierdesk.web.main import app\n"
    "from tierdesk.web.openapi import build\n"
    "sys.stdout.buffer.write(build(app))\n"
)


def build(app: FastAPI) -> bytes:
    """The document of `app`, built in this process."""
    return json.dumps(app.openapi(), separators=(",", ":")).encode()


class Document:
    """The serialised document of one app, built on first use."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.raw: bytes | None = None

    def get(self) -> bytes:
        with self.lock:
            if self.raw is None:
                self.raw = self._from_child() or build(self.app)
            return self.raw

    def _from_child(self) -> bytes | None:
        try:
            out = subprocess.run(
                [sys.executable, "-c", _CHILD],
                capture_output=True,
                timeout=CHILD_TIMEOUT_SECONDS,
                check=True,
            )
            json.loads(out.stdout)  # a whole document, not a partial write
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            log.warning("building the OpenAPI document in a child process failed (%s): building it here", exc)
            return None
        return out.stdout


def install(app: FastAPI, openapi_url: str, docs_url: str) -> None:
    """Serve the document at `openapi_url` and Swagger UI at `docs_url` (create the app with
    openapi_url=None and docs_url=None)."""
    document = Document(app)

    @app.get(openapi_url, include_in_schema=False)
    def openapi_json() -> Response:
        return Response(document.get(), media_type="application/json")

    @app.get(docs_url, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} - Swagger UI")
