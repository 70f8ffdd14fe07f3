"""Idempotency keys: the first answer to a keyed request, kept to replay it on a retry."""

from datetime import timedelta

from django.conf import settings
from django.db import models

KEY_MAX_LENGTH = 255
# SPEC §2: a key is honoured for 24 hours; an older one is ignored, then pruned.
KEY_LIFETIME = timedelta(hours=24)


class IdempotencyKey(models.Model):
    """One user's key, the fingerprint of the request that first used it, and its answer.

    The row is inserted at the start of the transaction that does the work and gets its answer
    in the same transaction, so a committed row always has one; `response_status` is null only
    while that transaction runs (and a concurrent request with the key waits on the row lock).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=KEY_MAX_LENGTH)
    # SHA-256 of the method, path and canonical JSON body of the first request.
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    # The exact bytes of the body sent (as text), so that a replay is byte for byte the same.
    response_body = models.TextField(default="")
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.key!r} of user {self.user_id} ({self.response_status})"
