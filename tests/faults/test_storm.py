"""The storm (tests/faults/storm.py): a short one in every PostgreSQL run, a long one with
`make storm` (STORM_SECONDS, STORM_CLIENTS, STORM_WORKERS, STORM_SEED from the environment)."""

import os

import pytest

from tests.faults.storm import StormConfig, product_prices, run_storm
from tests.live import products_create, user_token

pytestmark = pytest.mark.postgres

CONFIG = StormConfig(
    duration=float(os.environ.get("STORM_SECONDS", "8")),
    clients=int(os.environ.get("STORM_CLIENTS", "32")),
    workers=int(os.environ.get("STORM_WORKERS", "3")),
    seed=int(os.environ.get("STORM_SEED", "1")),
)


@pytest.mark.timeout(CONFIG.duration + 120)
def test_storm_keeps_every_invariant(live_server_factory):
    # given
    products_create(
        {f"S{i:02d}": CONFIG.initial_stock for i in range(CONFIG.products)},
        product_prices(CONFIG.products),
    )
    buyers = [user_token(f"storm-{i}") for i in range(CONFIG.clients)]
    staff = user_token("storm-staff", staff=True)
    server = live_server_factory(workers=CONFIG.workers)

    # when
    report = run_storm(server.url, CONFIG, buyers, staff)

    # then
    print("\n" + report.summary())
    assert report.operations > 0
    assert not report.violations, report.summary()
