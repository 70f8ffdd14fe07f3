"""SPEC §10 as a property: every price text a client may send is accepted and answered with two
places; every other text, and anything not a JSON string, is a 400 naming `price`."""

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from orderservice.api.errors import validation_details
from orderservice.api.fields import money_text
from orderservice.inventory.apis import ProductDetailApi
from tests.unit.ledger_validation_cases import PRICE_RULE

CENTS = st.integers(min_value=0, max_value=100_000_000)


@st.composite
def price_texts(draw: st.DrawFn) -> tuple[str, Decimal]:
    """A price as a client may write it (0, 1 or 2 places), and the amount it means."""
    cents = draw(CENTS)
    whole, part = divmod(cents, 100)
    places = draw(st.sampled_from([2, 1, 0] if part == 0 else [2, 1] if part % 10 == 0 else [2]))
    text = str(whole) if places == 0 else f"{whole}.{part:02d}"[: len(str(whole)) + 1 + places]
    return text, Decimal(cents) / 100


@given(price_texts())
def test_every_valid_price_text_is_accepted_and_answered_with_two_places(
    sent: tuple[str, Decimal],
) -> None:
    # given
    text, amount = sent

    # when
    serializer = ProductDetailApi.InputSerializer(data={"price": text})

    # then
    assert serializer.is_valid(), validation_details(serializer.errors)
    validated = serializer.validated_data
    assert validated["price"] == amount
    assert money_text(validated["price"]) == f"{amount:.2f}"


def _is_price(text: str) -> bool:
    """The rule of SPEC §10, stated without a regular expression."""
    whole, point, part = text.partition(".")
    digits = set("0123456789")
    return (
        bool(whole)
        and set(whole) <= digits
        and (whole == "0" or not whole.startswith("0"))
        and (not point or (1 <= len(part) <= 2 and set(part) <= digits))
        and Decimal(text) <= Decimal("1000000.00")
    )


@given(st.one_of(st.text(max_size=14), st.from_regex(r"[-+ 0-9.,eE_]{0,12}", fullmatch=True)))
def test_any_other_text_is_refused(text: str) -> None:
    # when
    serializer = ProductDetailApi.InputSerializer(data={"price": text})

    # then
    assert serializer.is_valid() == _is_price(text), text
    if not _is_price(text):
        assert validation_details(serializer.errors) == {"price": [PRICE_RULE]}


@given(st.one_of(st.floats(allow_nan=True), st.integers(), st.booleans(), st.none()))
def test_a_price_that_is_not_a_json_string_is_refused(price: Any) -> None:
    # when
    serializer = ProductDetailApi.InputSerializer(data={"price": price})

    # then
    assert not serializer.is_valid()
    assert "price" in validation_details(serializer.errors)
