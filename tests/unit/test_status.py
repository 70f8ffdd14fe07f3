"""The order status pipeline of SPEC §3, as data: every (from, to) pair."""

import itertools

import pytest

from orderservice.orders.status import (
    ALLOWED_TRANSITIONS,
    EDITABLE_STATUSES,
    OrderStatus,
    edit_refusal,
    transition_refusal,
)

STATUSES = ["placed", "processing", "shipped", "delivered", "cancelled"]

# SPEC §3, written out independently of the code: placed -> processing -> shipped -> delivered;
# placed or processing -> cancelled.
SPEC_TRANSITIONS = {
    ("placed", "processing"),
    ("processing", "shipped"),
    ("shipped", "delivered"),
    ("placed", "cancelled"),
    ("processing", "cancelled"),
}


def test_statuses_are_the_five_of_the_spec() -> None:
    # when / then
    assert list(OrderStatus.values) == STATUSES
    assert set(ALLOWED_TRANSITIONS) == set(STATUSES)


@pytest.mark.parametrize(("current", "target"), sorted(SPEC_TRANSITIONS))
def test_allowed_transition_has_no_refusal(current: str, target: str) -> None:
    # when / then
    assert transition_refusal(current, target) is None


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(set(itertools.product(STATUSES, STATUSES)) - SPEC_TRANSITIONS),
)
def test_every_other_transition_is_refused_with_a_sentence(current: str, target: str) -> None:
    # when
    refusal = transition_refusal(current, target)

    # then
    assert refusal is not None
    assert refusal.endswith(".")
    assert current in refusal


@pytest.mark.parametrize(
    ("current", "target", "sentence"),
    [
        ("cancelled", "cancelled", "Order is already cancelled."),
        ("shipped", "cancelled", "Order is already shipped and can no longer be cancelled."),
        ("delivered", "cancelled", "Order is already delivered and can no longer be cancelled."),
        ("placed", "placed", "Order is already placed."),
        ("shipped", "shipped", "Order is already shipped."),
        ("placed", "shipped", "Order cannot move from placed to shipped."),
        ("placed", "delivered", "Order cannot move from placed to delivered."),
        ("delivered", "placed", "Order cannot move from delivered to placed."),
        ("cancelled", "placed", "Order cannot move from cancelled to placed."),
        ("shipped", "processing", "Order cannot move from shipped to processing."),
    ],
)
def test_refusal_sentences(current: str, target: str, sentence: str) -> None:
    # when / then
    assert transition_refusal(current, target) == sentence


def test_terminal_statuses_go_nowhere() -> None:
    # when / then
    for current in ("delivered", "cancelled"):
        assert all(transition_refusal(current, target) for target in STATUSES)


@pytest.mark.parametrize("current", ["placed", "processing"])
def test_placed_and_processing_orders_are_editable(current: str) -> None:
    # when / then
    assert edit_refusal(current) is None
    assert current in EDITABLE_STATUSES


@pytest.mark.parametrize(
    ("current", "sentence"),
    [
        ("shipped", "Order is shipped and can no longer be edited."),
        ("delivered", "Order is delivered and can no longer be edited."),
        ("cancelled", "Order is cancelled and can no longer be edited."),
    ],
)
def test_other_orders_are_not_editable(current: str, sentence: str) -> None:
    # when / then
    assert edit_refusal(current) == sentence
