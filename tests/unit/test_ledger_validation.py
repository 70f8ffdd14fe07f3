"""SPEC §10 and §11 validation, case by case, through the request serializers (no database)."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework import serializers

from orderservice.api.errors import validation_details
from orderservice.api.fields import money_text
from orderservice.inventory.apis import ProductAdjustmentApi, ProductDetailApi, ProductListApi
from tests.unit.ledger_validation_cases import (
    ADJUSTMENT_INVALID,
    ADJUSTMENT_VALID,
    PRICE_INVALID,
    PRICE_RULE,
    PRICE_VALID,
    THRESHOLD_INVALID,
)
from tests.unit.validation_cases import product

BODIES = {
    "create": (ProductListApi.InputSerializer, product),
    "patch": (ProductDetailApi.InputSerializer, lambda **changes: changes),
}


def _errors(serializer_class: type[serializers.Serializer], body: Any) -> dict[str, list[str]]:
    serializer = serializer_class(data=body)
    assert not serializer.is_valid(), f"accepted: {body!r}"
    return validation_details(serializer.errors)


def _valid(serializer_class: type[serializers.Serializer], body: Any) -> dict[str, Any]:
    serializer = serializer_class(data=body)
    assert serializer.is_valid(), validation_details(serializer.errors)
    return dict(serializer.validated_data)


@pytest.mark.parametrize("where", BODIES)
@pytest.mark.parametrize("price", PRICE_INVALID)
def test_a_price_not_a_decimal_string_with_2_places_in_range_is_refused(
    where: str, price: Any
) -> None:
    # given
    serializer_class, body = BODIES[where]

    # when
    errors = _errors(serializer_class, body(price=price))

    # then
    assert errors == {"price": [PRICE_RULE]}


@pytest.mark.parametrize("where", BODIES)
def test_a_null_price_is_refused(where: str) -> None:
    # given
    serializer_class, body = BODIES[where]

    # when / then
    assert _errors(serializer_class, body(price=None)) == {"price": ["This field may not be null."]}


@pytest.mark.parametrize("where", BODIES)
@pytest.mark.parametrize(("price", "shown"), PRICE_VALID)
def test_a_valid_price_is_the_exact_decimal(where: str, price: str, shown: str) -> None:
    # given
    serializer_class, body = BODIES[where]

    # when
    validated = _valid(serializer_class, body(price=price))

    # then
    assert validated["price"] == Decimal(price)
    assert money_text(validated["price"]) == shown


@pytest.mark.parametrize("where", BODIES)
@pytest.mark.parametrize(("threshold", "message"), THRESHOLD_INVALID)
def test_a_threshold_out_of_range_or_not_an_integer_is_refused(
    where: str, threshold: Any, message: str
) -> None:
    # given
    serializer_class, body = BODIES[where]

    # when / then
    assert _errors(serializer_class, body(low_stock_threshold=threshold)) == {
        "low_stock_threshold": [message]
    }


@pytest.mark.parametrize("where", BODIES)
@pytest.mark.parametrize("threshold", [0, 5, 1_000_000_000])
def test_a_threshold_in_range_is_accepted(where: str, threshold: int) -> None:
    # given
    serializer_class, body = BODIES[where]

    # when / then
    assert _valid(serializer_class, body(low_stock_threshold=threshold))["low_stock_threshold"] == (
        threshold
    )


@pytest.mark.parametrize(("body", "details"), ADJUSTMENT_INVALID)
def test_adjustment_body_refused(body: Any, details: dict[str, list[str]]) -> None:
    # when / then
    assert _errors(ProductAdjustmentApi.InputSerializer, body) == details


@pytest.mark.parametrize(("body", "validated"), ADJUSTMENT_VALID)
def test_adjustment_body_accepted(body: Any, validated: dict[str, Any]) -> None:
    # when / then
    assert _valid(ProductAdjustmentApi.InputSerializer, body) == validated
