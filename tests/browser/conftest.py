"""Browser tests: Playwright driving Debian's chromium against the service under uWSGI."""

from tests.live import live_server_factory, live_server_url

__all__ = ["live_server_factory", "live_server_url"]
