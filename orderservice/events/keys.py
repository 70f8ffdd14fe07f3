"""Webhook secrets at rest: encrypted with keys from the environment, so that a copy of the
database alone cannot sign a webhook.

WEBHOOK_SECRET_KEYS is a comma-separated list of Fernet keys: the first encrypts, any decrypts
(MultiFernet). To rotate, put a new key first, run `rotate_webhook_secrets`, then drop the old
key. With DEBUG on and no keys, a development key is derived from SECRET_KEY.
"""

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def keys_refusal() -> str | None:
    """Why the configured keys cannot be used (production), or None."""
    if not settings.WEBHOOK_SECRET_KEYS:
        if settings.DEBUG:
            return None
        return "WEBHOOK_SECRET_KEYS must be set when DEBUG is off (it encrypts webhook secrets)."
    try:
        _box(tuple(settings.WEBHOOK_SECRET_KEYS))
    except ValueError:
        return "WEBHOOK_SECRET_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)."
    return None


def secret_encrypt(secret: str) -> str:
    return _current_box().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    """The secret; ImproperlyConfigured when no configured key opens it (a key was dropped)."""
    try:
        return _current_box().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "No key in WEBHOOK_SECRET_KEYS decrypts this webhook secret."
        ) from exc


def secret_reencrypt(token: str) -> str:
    """The same secret, encrypted with the first key (rotation)."""
    return _current_box().rotate(token.encode()).decode()


def _current_box() -> MultiFernet:
    refusal = keys_refusal()
    if refusal:
        raise ImproperlyConfigured(refusal)
    keys = settings.WEBHOOK_SECRET_KEYS or [_development_key(settings.SECRET_KEY)]
    return _box(tuple(keys))


@functools.lru_cache(maxsize=8)
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _development_key(secret_key: str) -> str:
    digest = hashlib.sha256(b"orderservice webhook secrets\0" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()
