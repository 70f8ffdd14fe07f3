"""The kinds of failure every app's exceptions belong to; plain Python, no HTTP.

An app's exception subclasses its kind, so the HTTP edge (api/errors.py) answers each kind the
same way without knowing any app: the kind picks the status, `code` the catalogue entry.
"""

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """A failure reported to the caller as one of the kinds below, never as a bug."""

    # The slug of this failure's entry in the error catalogue (e.g. "order-not-found"); None:
    # the kind's general entry.
    code: ClassVar[str | None] = None
    # Seconds a client should wait before sending the same request again; None: no advice.
    retry_after: int | None = None

    def details(self) -> Mapping[str, Any] | None:
        """What the client needs to correct the request (JSON-able), or None."""
        return None


class NotFound(DomainError):
    """The thing named does not exist, or is not the caller's to see."""


class InvalidInput(DomainError):
    """Well-formed, but refers to something invalid (unknown products, an edit that empties)."""


class Conflict(DomainError):
    """The current state forbids the change; the message says why."""


class PreconditionFailed(DomainError):
    """The client's precondition (which version it edits) no longer holds."""


class Unprocessable(DomainError):
    """The request contradicts what an earlier one with the same identity asked."""


class InsufficientStock(DomainError):
    """The stock cannot fill what was asked; `details()` lists what is short."""


class DatabaseUnavailable(DomainError):
    """The database did not complete the work within the retry budget.

    `wait` is the number of seconds a client should wait before retrying.
    """

    def __init__(self, wait: int = 1) -> None:
        super().__init__(f"database unavailable, retry in {wait}s")
        self.wait = self.retry_after = wait
