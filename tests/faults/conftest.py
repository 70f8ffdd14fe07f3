"""Fixtures for the fault tests: the live app server, a cuttable TCP proxy, a webhook."""

from collections.abc import Iterator

import pytest
from django.db import connection

from tests.faults.proxy import TcpProxy, running_proxy
from tests.faults.webhook import WebhookReceiver, running_webhook
from tests.live import current_database_url, live_server_factory

__all__ = ["live_server_factory", "pg_proxy", "proxied_database_url", "webhook"]


@pytest.fixture
def pg_proxy() -> Iterator[TcpProxy]:
    """A TCP proxy in front of the test's PostgreSQL server."""
    conf = connection.settings_dict
    with running_proxy(conf["HOST"] or "127.0.0.1", int(conf["PORT"] or 5432)) as proxy:
        yield proxy


@pytest.fixture
def proxied_database_url(pg_proxy: TcpProxy) -> str:
    """The test database's URL, through the proxy."""
    conf = connection.settings_dict
    direct = current_database_url()
    host_port = f"{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}"
    assert host_port in direct, direct
    return direct.replace(host_port, f"127.0.0.1:{pg_proxy.port}")


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with running_webhook() as receiver:
        yield receiver
