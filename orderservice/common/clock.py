"""The one source of wall-clock and monotonic time, so tests can move it."""

import time
from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def monotonic() -> float:
    return time.monotonic()


def sleep(seconds: float) -> None:
    time.sleep(seconds)
