"""The live-server fixture of tests/live.py, for test_live.py."""

from tests.live import live_server_factory

__all__ = ["live_server_factory"]
