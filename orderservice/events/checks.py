"""`check --deploy`: webhook secrets need encryption keys from the environment."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from orderservice.events.keys import keys_refusal


@register(Tags.security, deploy=True)
def webhook_secret_keys(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    refusal = keys_refusal()
    if refusal:
        return [Error(refusal, hint=_KEY_HINT, id="events.E001")]
    if settings.WEBHOOK_LEASE_SECONDS <= settings.WEBHOOK_TIMEOUT_SECONDS:
        return [
            Error(
                "WEBHOOK_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_SECONDS.",
                hint="Otherwise a slow delivery may be claimed and sent by a second worker.",
                id="events.E002",
            )
        ]
    return []


_KEY_HINT = (
    "Generate one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)
