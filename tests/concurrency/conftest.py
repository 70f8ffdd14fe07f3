"""Fixtures for the concurrency tests: the live app server of tests/live.py."""

from tests.live import (
    live_server_factory,
    live_server_url,
    module_live_server,
    shared_live_server_url,
)

__all__ = [
    "live_server_factory",
    "live_server_url",
    "module_live_server",
    "shared_live_server_url",
]
