"""Idempotency keys: run a keyed request once, store its answer in the same transaction, replay it.

A key is claimed by inserting its row first thing in the transaction. A concurrent request with
the same key blocks on that uncommitted row (the unique constraint), for at most the database's
lock timeout; when the first one commits it finds the stored answer and replays it, and when the
first one rolls back it claims the key itself. No second execution, in any interleaving.
"""

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, OperationalError, transaction

from orderservice.common import clock, metrics
from orderservice.common.db import in_transaction, sqlstate
from orderservice.idempotency.exceptions import IdempotencyKeyInFlight, IdempotencyKeyReused
from orderservice.idempotency.models import KEY_LIFETIME, IdempotencyKey

_LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired


@dataclass(frozen=True)
class StoredResponse:
    """An answer as sent: status, the exact body text, and the headers worth replaying."""

    status: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyedResponse:
    response: StoredResponse
    replayed: bool


@in_transaction
def idempotency_key_run(
    *,
    user: AbstractBaseUser,
    key: str,
    fingerprint: str,
    perform: Callable[[], StoredResponse],
) -> KeyedResponse:
    """Run `perform` once per (user, key) and store its answer with its work, in one transaction.

    A repeat with the same fingerprint within KEY_LIFETIME gets the stored answer back and runs
    nothing. `perform` joins this transaction; whatever it raises is not stored (the key stays
    free, so a corrected retry runs afresh). Locks the key's row. Raises IdempotencyKeyReused for
    another fingerprint, IdempotencyKeyInFlight when the request holding the key does not finish
    within the lock timeout.
    """
    row, replay = _claim(user=user, key=key, fingerprint=fingerprint)
    if replay is not None:
        metrics.on_commit(metrics.ORDERS_IDEMPOTENT_REPLAYS.inc)
        return KeyedResponse(response=replay, replayed=True)
    response = perform()
    row.response_status = response.status
    row.response_body = response.body
    row.response_headers = dict(response.headers)
    row.save(update_fields=["response_status", "response_body", "response_headers"])
    return KeyedResponse(response=response, replayed=False)


def idempotency_keys_prune(*, now: datetime | None = None) -> int:
    """Delete the keys past KEY_LIFETIME (they are ignored already); returns how many."""
    cutoff = (now or clock.now()) - KEY_LIFETIME
    deleted, _ = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted


def _claim(
    *, user: AbstractBaseUser, key: str, fingerprint: str
) -> tuple[IdempotencyKey, StoredResponse | None]:
    """The key's row, locked by this transaction, and the answer to replay if there is one."""
    now = clock.now()
    try:
        # A savepoint: a duplicate key must not abort the caller's transaction.
        with _waiting_for_key(key), transaction.atomic():
            row = IdempotencyKey.objects.create(
                user_id=user.pk, key=key, fingerprint=fingerprint, created_at=now
            )
        return row, None
    except IntegrityError:
        pass  # the key exists, committed: it was used before
    with _waiting_for_key(key):
        held = IdempotencyKey.objects.select_for_update().filter(user_id=user.pk, key=key).first()
    if held is None:  # pruned between the two statements; the client may simply retry
        raise IdempotencyKeyInFlight(key)
    row = held
    if row.created_at <= now - KEY_LIFETIME:
        # Expired keys are ignored: this request starts the key afresh.
        row.fingerprint = fingerprint
        row.created_at = now
        row.response_status = None
        row.response_body = ""
        row.response_headers = {}
        row.save()
        return row, None
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused(key)
    if row.response_status is None:
        raise IdempotencyKeyInFlight(key)  # never committed that way; kept as a guard
    replay = StoredResponse(
        status=row.response_status, body=row.response_body, headers=row.response_headers
    )
    return row, replay


@contextlib.contextmanager
def _waiting_for_key(key: str) -> Iterator[None]:
    """Turn a lock timeout while waiting for the key's holder into IdempotencyKeyInFlight."""
    try:
        yield
    except OperationalError as exc:
        if sqlstate(exc) == _LOCK_NOT_AVAILABLE:
            raise IdempotencyKeyInFlight(key) from exc
        raise
