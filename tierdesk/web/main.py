"""ASGI entry point for uvicorn: `uvicorn tierdesk.web.main:app`."""

from tierdesk.web.app import create_app

app = create_app()
