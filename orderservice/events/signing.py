"""Standard Webhooks signatures (https://www.standardwebhooks.com), by its reference package."""

import base64
import math
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec allows 24 to 64


def new_secret() -> str:
    """`whsec_` and the base64 of random bytes: the format receivers' libraries expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(*, secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` (v1, HMAC-SHA256 of
    "id.timestamp.body") for sending `body` at `at`; the id stays the same across retries."""
    at = at.astimezone(UTC)
    signature = Webhook(secret).sign(message_id, at, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": signature,
    }
