"""Schemathesis over real HTTP: uWSGI on the PostgreSQL test database (tests/live.py).

test_conformance.py covers the contract in-process on any database; this adds what only a real
server shows (uWSGI, production settings, headers on the wire), with fewer examples.
"""

import os
from collections.abc import Callable

import hypothesis
import pytest
import schemathesis
from schemathesis.core.result import Ok

from orderservice.tokens.services import token_issue
from tests.live import LiveServer, products_create
from tests.schema.support import EXCLUDED_CHECKS, HYPOTHESIS_SETTINGS, STOCK

LIVE_EXAMPLES = int(os.environ.get("SCHEMA_LIVE_EXAMPLES", "8"))


@pytest.mark.postgres
def test_every_operation_conforms_over_http(live_server_factory: Callable[..., LiveServer]):
    # given: committed data (transactional_db) the server can see, and two of its users
    products_create(STOCK)
    tokens = {
        "user": token_issue(username="live-user"),
        "staff": token_issue(username="live-staff", staff=True),
    }
    server = live_server_factory(workers=2)
    config = schemathesis.Config.from_dict(
        {"generation": {"max-examples": LIVE_EXAMPLES, "database": "none"}}
    )
    schema = schemathesis.openapi.from_url(f"{server.url}/schema", config=config)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert len(operations) >= 9

    # when / then: every operation, as each role
    for operation in operations:
        for role, token in tokens.items():
            try:
                _conformance_test(operation, token)()
            except Exception as exc:
                exc.add_note(f"{operation.label} as {role}; server log:\n{server.log_tail()}")
                raise


def _conformance_test(operation: schemathesis.APIOperation, token: str) -> Callable[[], None]:
    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(HYPOTHESIS_SETTINGS, max_examples=LIVE_EXAMPLES)
    def conforms(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Token {token}"},
            excluded_checks=EXCLUDED_CHECKS,
            timeout=30,
        )

    return conforms
