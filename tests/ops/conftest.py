"""The live-server fixtures (tests/live.py) for the operations tests."""

from tests.live import live_server_factory, live_server_url

__all__ = ["live_server_factory", "live_server_url"]
