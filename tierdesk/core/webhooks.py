"""Inbound webhooks signed like GitHub's: header `X-Tierdesk-Signature: sha256=<hex>` with
the HMAC-SHA256 of the raw body under a shared secret. One verifier and one parser for
every inbound webhook (engineering trackers, vendors)."""

from __future__ import annotations

import hashlib
import hmac
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from tierdesk.core.errors import DomainError, InvalidInput, Unauthorized

SIGNATURE_HEADER = "X-Tierdesk-Signature"
M = TypeVar("M", bound=BaseModel)


class WebhookNotConfigured(DomainError):
    status = 503
    title = "Service unavailable"
    type_slug = "webhook-not-configured"


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`header` is "sha256=<hex of HMAC-SHA256(secret, body)>" (GitHub's format)."""
    if not header:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("utf-8", "replace"))


def parse_signed(secret: str | None, body: bytes, signature: str | None, model: type[M], what: str) -> M:
    """Check the signature over the raw body before anything is parsed, then validate it.
    Raises 503 when no secret is configured, 401 on a bad signature, 422 on bad fields."""
    if not secret:
        raise WebhookNotConfigured(
            f"The {what} webhook is not configured: set TIERDESK_ENGINEERING_WEBHOOK_SECRET."
        )
    if not signature_ok(secret, body, signature):
        raise Unauthorized(
            f"Missing or wrong {SIGNATURE_HEADER} header: send sha256=<hex HMAC-SHA256 of the body>."
        )
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"]) or "body",
                "message": e["msg"].removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise InvalidInput(f"Some fields need fixing. {summary}", errors=errors) from exc
