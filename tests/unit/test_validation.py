"""SPEC §1 and §6 validation, case by case, through the request serializers (no database)."""

from typing import Any

import pytest
from rest_framework import serializers

from orderservice.api.errors import validation_details
from orderservice.inventory.apis import ProductDetailApi, ProductListApi
from orderservice.orders.apis import OrderDetailApi, OrderListApi
from orderservice.orders.lines import merge_lines
from tests.unit.validation_cases import (
    EDIT_INVALID,
    EDIT_VALID,
    PLACE_INVALID,
    PLACE_VALID,
    PRODUCT_CREATE_INVALID,
    PRODUCT_CREATE_VALID,
    PRODUCT_PATCH_INVALID,
    PRODUCT_PATCH_VALID,
    STATUS_INVALID,
)


def _errors(serializer_class: type[serializers.Serializer], body: Any) -> dict[str, list[str]]:
    serializer = serializer_class(data=body)
    assert not serializer.is_valid(), f"accepted: {body!r}"
    return validation_details(serializer.errors)


def _valid(serializer_class: type[serializers.Serializer], body: Any) -> dict[str, Any]:
    serializer = serializer_class(data=body)
    assert serializer.is_valid(), validation_details(serializer.errors)
    return dict(serializer.validated_data)


def _merged(validated: dict[str, Any]) -> dict[str, int]:
    return merge_lines((line["product_id"], line["item_count"]) for line in validated["products"])


@pytest.mark.parametrize(("body", "details"), PLACE_INVALID)
def test_place_body_refused(body: Any, details: dict[str, list[str]]) -> None:
    # when
    errors = _errors(OrderListApi.InputSerializer, body)

    # then
    assert errors == details


@pytest.mark.parametrize(("body", "lines", "partial"), PLACE_VALID)
def test_place_body_accepted(body: Any, lines: dict[str, int], partial: bool) -> None:
    # when
    validated = _valid(OrderListApi.InputSerializer, body)

    # then
    assert _merged(validated) == lines
    assert (validated["fulfillment"] == "partial") is partial


@pytest.mark.parametrize(("body", "details"), [*EDIT_INVALID, *STATUS_INVALID])
def test_edit_body_refused(body: Any, details: dict[str, list[str]]) -> None:
    # when
    errors = _errors(OrderDetailApi.InputSerializer, body)

    # then
    assert errors == details


@pytest.mark.parametrize(("body", "lines"), EDIT_VALID)
def test_edit_body_accepted(body: Any, lines: dict[str, int]) -> None:
    # when
    validated = _valid(OrderDetailApi.InputSerializer, body)

    # then
    assert _merged(validated) == lines
    assert "order_status" not in validated


@pytest.mark.parametrize("status", ["placed", "processing", "shipped", "delivered", "cancelled"])
def test_status_body_accepted(status: str) -> None:
    # when
    validated = _valid(OrderDetailApi.InputSerializer, {"order_status": status})

    # then
    assert validated == {"order_status": status}


@pytest.mark.parametrize(("body", "details"), PRODUCT_CREATE_INVALID)
def test_product_create_body_refused(body: Any, details: dict[str, list[str]]) -> None:
    # when
    errors = _errors(ProductListApi.InputSerializer, body)

    # then
    assert errors == details


@pytest.mark.parametrize(("body", "validated"), PRODUCT_CREATE_VALID)
def test_product_create_body_accepted(body: Any, validated: dict[str, Any]) -> None:
    # when / then
    assert _valid(ProductListApi.InputSerializer, body) == validated


@pytest.mark.parametrize(("body", "details"), PRODUCT_PATCH_INVALID)
def test_product_patch_body_refused(body: Any, details: dict[str, list[str]]) -> None:
    # when
    errors = _errors(ProductDetailApi.InputSerializer, body)

    # then
    assert errors == details


@pytest.mark.parametrize("body", PRODUCT_PATCH_VALID)
def test_product_patch_body_accepted(body: dict[str, Any]) -> None:
    # when / then
    assert _valid(ProductDetailApi.InputSerializer, body) == body
