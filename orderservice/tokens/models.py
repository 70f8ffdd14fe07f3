"""API tokens, stored hashed: a copy of the database yields no usable key."""

import hashlib
import secrets

from django.conf import settings
from django.db import models

from orderservice.common import clock


def token_hash(key: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the key, to tell tokens apart in the admin without storing the key.
    prefix = models.CharField(max_length=8, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table the model had in the api app: moving the model kept the table and its rows
        # (tokens/migrations/0001_initial.py).
        db_table = "api_apitoken"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def generate_key() -> str:
        return secrets.token_urlsafe(32)
