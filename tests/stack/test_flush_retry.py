"""The stack tests' closing flush is tried again when PostgreSQL aborted it for a deadlock with
the stack's own processes (tests/stack/conftest.py), and only then."""

import psycopg
import pytest
from django.core.management.base import CommandError
from django.test import TransactionTestCase

from tests.stack.conftest import flush_retried_on_deadlock


def _flush_failing(monkeypatch: pytest.MonkeyPatch, errors: list[Exception]) -> list[str]:
    calls: list[str] = []

    def teardown(self: TransactionTestCase) -> None:
        calls.append("flush")
        if errors:
            raise errors.pop(0)

    monkeypatch.setattr(TransactionTestCase, "_fixture_teardown", teardown)
    return calls


def _aborted(cause: Exception) -> CommandError:
    try:
        raise CommandError("Database test couldn't be flushed.") from cause
    except CommandError as exc:
        return exc


def test_a_flush_aborted_by_a_deadlock_is_tried_again(monkeypatch):
    calls = _flush_failing(monkeypatch, [_aborted(psycopg.errors.DeadlockDetected("deadlock"))])

    with flush_retried_on_deadlock():
        TransactionTestCase("__init__")._fixture_teardown()  # type: ignore[attr-defined]

    assert calls == ["flush", "flush"]


@pytest.mark.parametrize(
    "errors",
    [
        [_aborted(psycopg.errors.UndefinedTable("no such table"))],  # not a deadlock: at once
        [_aborted(psycopg.errors.DeadlockDetected("deadlock")) for _ in range(3)],  # 3 attempts
    ],
)
def test_any_other_failure_or_the_last_attempt_fails_the_test(monkeypatch, errors):
    expected = len(errors)
    calls = _flush_failing(monkeypatch, errors)

    with flush_retried_on_deadlock(), pytest.raises(CommandError):
        TransactionTestCase("__init__")._fixture_teardown()  # type: ignore[attr-defined]

    assert len(calls) == expected
