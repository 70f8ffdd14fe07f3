"""The edge answers KINDS of domain failure: exceptions made up here, in no app, get their body."""

import json
from collections.abc import Mapping
from typing import Any

import pytest
from django.test import RequestFactory

from orderservice.api import errors
from orderservice.common.exceptions import (
    Conflict,
    DatabaseUnavailable,
    DomainError,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)
from orderservice.idempotency import exceptions as idempotency_exceptions
from orderservice.inventory import exceptions as inventory_exceptions
from orderservice.orders import exceptions as orders_exceptions
from tests.api.support import DOCS, NOT_FOUND, ORDER_NOT_FOUND, OUT_OF_STOCK, PRECONDITION_FAILED


class GadgetNotFound(NotFound):
    pass


class WidgetNotFound(NotFound):
    code = "order-not-found"


class BadColours(InvalidInput):
    def details(self) -> Mapping[str, Any]:
        return {"colours": ["mauve"]}


class NoWidgetsLeft(InsufficientStock):
    code = "product-out-of-stock"

    def details(self) -> Mapping[str, Any]:
        return {"out_of_stock": [{"product_id": "W", "requested": 2, "available": 1}]}


class WidgetFrozen(Conflict):
    pass


class WidgetBusy(Conflict):
    code = "idempotency-key-in-flight"
    retry_after = 7


class WidgetChanged(PreconditionFailed):
    pass


class WidgetMismatch(Unprocessable):
    pass


class WidgetStoreDown(DatabaseUnavailable):
    pass


class NotFoundCallingItselfConflict(NotFound):
    code = "conflict"  # another kind's entry: the kind decides, the code only picks among its own


CASES = [
    pytest.param(GadgetNotFound(), 404, NOT_FOUND, "not-found", None, {}, id="not-found"),
    pytest.param(
        WidgetNotFound(), 404, ORDER_NOT_FOUND, "order-not-found", None, {}, id="not-found-code"
    ),
    pytest.param(
        NotFoundCallingItselfConflict(), 404, NOT_FOUND, "not-found", None, {}, id="foreign-code"
    ),
    pytest.param(
        BadColours(),
        400,
        errors.INVALID_REQUEST.message,
        "invalid-request",
        {"colours": ["mauve"]},
        {},
        id="invalid-input",
    ),
    pytest.param(
        NoWidgetsLeft(),
        404,
        OUT_OF_STOCK,
        "product-out-of-stock",
        {"out_of_stock": [{"product_id": "W", "requested": 2, "available": 1}]},
        {},
        id="insufficient-stock",
    ),
    pytest.param(
        WidgetFrozen("Widget is frozen."),
        409,
        "Widget is frozen.",
        "conflict",
        None,
        {},
        id="conflict-says-why",
    ),
    pytest.param(
        WidgetBusy("ignored: the catalogue's sentence"),
        409,
        errors.IDEMPOTENCY_KEY_IN_FLIGHT.message,
        "idempotency-key-in-flight",
        None,
        {"Retry-After": "7"},
        id="conflict-code-retry-after",
    ),
    pytest.param(
        WidgetChanged(),
        412,
        PRECONDITION_FAILED,
        "precondition-failed",
        None,
        {},
        id="precondition-failed",
    ),
    pytest.param(
        WidgetMismatch(),
        422,
        errors.IDEMPOTENCY_KEY_REUSED.message,
        "idempotency-key-reused",
        None,
        {},
        id="unprocessable",
    ),
    pytest.param(
        WidgetStoreDown(wait=3),
        503,
        errors.INVENTORY_UNAVAILABLE.message,
        "inventory-unavailable",
        None,
        {"Retry-After": "3"},
        id="database-unavailable",
    ),
]


@pytest.mark.parametrize(("exc", "status", "error", "anchor", "details", "headers"), CASES)
def test_each_kind_is_answered_by_its_catalogue_entry(
    exc: DomainError,
    status: int,
    error: str,
    anchor: str,
    details: dict[str, Any] | None,
    headers: dict[str, str],
) -> None:
    # given
    request = RequestFactory().get("/anything")

    # when
    response = errors.exception_handler(exc, {"request": request})

    # then
    assert response is not None
    assert response.status_code == status
    expected: dict[str, Any] = {"error": error, "documentation": f"{DOCS}#{anchor}"}
    if details is not None:
        expected["details"] = details
    assert json.loads(response.content) == expected
    assert {name: response[name] for name in headers if response.has_header(name)} == headers
    if not headers:
        assert not response.has_header("Retry-After")


def test_a_domain_error_of_no_kind_is_a_bug() -> None:
    class Unclassified(DomainError):
        pass

    request = RequestFactory().get("/anything")

    # DRF then lets it through to the 500 handler; outside DRF it is answered as a 500 here.
    assert errors.exception_handler(Unclassified(), {"request": request}) is None
    assert errors.exception_response(Unclassified(), request).status_code == 500


APP_EXCEPTIONS = [
    cls
    for module in (orders_exceptions, inventory_exceptions, idempotency_exceptions)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, DomainError) and cls.__module__ == module.__name__
]


def test_the_apps_declare_exceptions() -> None:
    assert len(APP_EXCEPTIONS) == 12  # inventory: StockNotAsExpected, StockWouldGoNegative too


@pytest.mark.parametrize("cls", APP_EXCEPTIONS, ids=lambda cls: cls.__name__)
def test_each_app_exception_code_names_an_entry_of_its_kind(cls: type[DomainError]) -> None:
    kind = next(base for base in cls.__mro__ if base in errors.KIND_ENTRIES)
    assert cls.code in {entry.slug for entry in errors.KIND_ENTRIES[kind]}
