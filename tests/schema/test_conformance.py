"""Schemathesis against GET /schema: the app answers only what its OpenAPI document says.

The app runs in-process (WSGI) on the test database, so this runs on SQLite and on PostgreSQL
alike. Every operation is called with schema-derived data (the documented examples, then a
bounded number of generated cases, valid and invalid) as a normal user and as staff; a state
machine then follows the schema's links (POST /orders -> GET/PATCH/DELETE /orders/{order_id} with
the returned ETag as If-Match, POST /products -> GET/PATCH /products/{product_id}).

Every check schemathesis has runs (no 5xx, documented status codes, body schemas, content types,
headers, invalid data refused, authentication not ignored, ...) except positive_data_acceptance:
a schema cannot say which product ids exist or which cursors a `next` link produced, so a
well-formed body naming an unknown product rightly gets 400.

SCHEMA_FUZZ_EXAMPLES and SCHEMA_FUZZ_SEED widen or vary a run locally.
"""

import os
import re
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import strategies as st

from orderservice.common.ids import PRODUCT_ID_REGEX
from orderservice.idempotency.models import IdempotencyKey
from orderservice.inventory.models import Product, StockMovement
from orderservice.orders.models import Order
from orderservice.tokens.services import token_issue
from tests.live import products_create
from tests.schema.support import EXCLUDED_CHECKS, HYPOTHESIS_SETTINGS, STOCK

MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("SCHEMA_FUZZ_SEED", "20261125"))

GENERATION = {"max-examples": MAX_EXAMPLES, "database": "none"}

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": GENERATION,
        "phases": {
            # Ids seen in earlier responses (order_id, product_id) feed later requests.
            "fuzzing": {"extra-data-sources": {"responses": True}},
            # Workflows are about valid sequences; invalid inputs are the fuzzing phase's job.
            "stateful": {"generation": {**GENERATION, "mode": "positive"}},
        },
    }
)

schema = schemathesis.openapi.from_wsgi("/schema", get_wsgi_application(), config=CONFIG)


# Generated order lines mostly name these, so generated orders get placed and edited, not just
# refused for unknown products.
KNOWN_SKUS = ["SKU-1", "SKU-2"]
_ORDER_PATHS = {"/orders", "/orders/{order_id}"}


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    lines = body.get("products") if isinstance(body, dict) else None
    if context.operation is None or context.operation.path not in _ORDER_PATHS:
        return st.just(body)
    if not isinstance(lines, list) or not all(_is_sku_line(line) for line in lines):
        return st.just(body)  # an invalid body (negative case) stays as generated
    choices = st.lists(
        st.sampled_from([None, *KNOWN_SKUS, *KNOWN_SKUS]), min_size=len(lines), max_size=len(lines)
    )
    return choices.map(
        lambda picks: {
            **body,
            "products": [
                {**line, "product_id": pick or line["product_id"]}
                for line, pick in zip(lines, picks, strict=True)
            ],
        }
    )


def _is_sku_line(line: Any) -> bool:
    return (
        isinstance(line, dict)
        and isinstance(line.get("product_id"), str)
        and re.fullmatch(PRODUCT_ID_REGEX, line["product_id"]) is not None
    )


@pytest.fixture(autouse=True)
def _keep_test_connection() -> Iterator[None]:
    """Calls go straight to the WSGI app, not through Django's test client, so undo what the
    client would: Django closes "old" connections around each request, which on PostgreSQL
    would close the test's own connection, transaction and all."""
    # Only where it is connected: at start-up it leaves request_started (api/request_signals.py).
    held_off = [
        signal
        for signal in (request_started, request_finished)
        if signal.disconnect(close_old_connections)
    ]
    yield
    for signal in held_off:
        signal.connect(close_old_connections)


@pytest.fixture
def tokens(db: None) -> dict[str, str]:
    products_create(STOCK)
    return {
        "user": token_issue(username="fuzz-user"),
        "staff": token_issue(username="fuzz-staff", staff=True),
    }


@pytest.mark.parametrize("role", ["user", "staff"])
@schema.parametrize()
@HYPOTHESIS_SETTINGS
def test_every_operation_conforms(case: schemathesis.Case, tokens: dict[str, str], role: str):
    case.call_and_validate(
        headers={"Authorization": f"Token {tokens[role]}"}, excluded_checks=EXCLUDED_CHECKS
    )


@pytest.mark.parametrize("role", ["user", "staff"])
def test_linked_operations_conform(tokens: dict[str, str], role: str):
    authorization = f"Token {tokens[role]}"

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each scenario starts from the same data, so Hypothesis can replay one it found.
            IdempotencyKey.objects.all().delete()
            Order.objects.all().delete()
            StockMovement.objects.exclude(product_id__in=STOCK).delete()
            Product.objects.exclude(product_id__in=STOCK).delete()
            for product_id, count in STOCK.items():
                Product.objects.filter(product_id=product_id).update(product_count=count)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": {"Authorization": authorization}}

        def validate_response(
            self, response: Any, case: schemathesis.Case, *args: Any, **kwargs: Any
        ) -> None:
            case.validate_response(
                response, excluded_checks=EXCLUDED_CHECKS, headers=kwargs.get("headers")
            )

    Workflow.run(
        settings=hypothesis.settings(
            HYPOTHESIS_SETTINGS,
            max_examples=MAX_EXAMPLES,
            stateful_step_count=6,
            # No shrinking: a failing scenario is reported as found (the server's state moves on).
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
    )
