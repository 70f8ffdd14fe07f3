"""The fast acceptor of POST /orders bodies agrees exactly with the DRF serializer."""

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from orderservice.orders.apis import OrderListApi
from orderservice.orders.fastparse import place_body_accept
from orderservice.orders.lines import merge_lines

valid_ids = st.one_of(
    st.sampled_from(["SKU-1", "SKU-2", "a", "x" * 64, "A.b_c-9"]),
    st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
)
bad_ids = st.one_of(
    st.sampled_from(["", "x" * 65, "SKU 1", "SKU-1\n", "ü", "SKU/1", " SKU-1"]),
    st.integers(),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.text(max_size=2), max_size=1),
)
bad_counts = st.one_of(
    st.sampled_from([0, -1, 10_001, True, False, 1.0, 2.5, "3", None, [1], {"n": 1}]),
    st.integers(max_value=0),
    st.integers(min_value=10_001),
)
valid_lines = st.fixed_dictionaries(
    {"product_id": valid_ids, "item_count": st.integers(min_value=1, max_value=10_000)}
)


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    size = draw(st.sampled_from([1, 1, 2, 3, 5, 100]))
    if size > 5:
        products = [draw(valid_lines)] * size
    else:
        products = draw(st.lists(valid_lines, min_size=size, max_size=size))
    body: dict[str, Any] = {"products": products}
    if draw(st.booleans()):
        body["fulfillment"] = draw(st.sampled_from(["partial", "all_or_nothing"]))
    return body


@st.composite
def bodies(draw: st.DrawFn) -> Any:
    """A valid body, or one with exactly one thing wrong."""
    body = draw(valid_bodies())
    lines = body["products"] = [dict(line) for line in body["products"]]
    line = lines[draw(st.integers(0, len(lines) - 1))]
    mutation = draw(st.integers(0, 12))
    if mutation == 1:
        line["product_id"] = draw(bad_ids)
    elif mutation == 2:
        line["item_count"] = draw(bad_counts)
    elif mutation == 3:
        del line[draw(st.sampled_from(["product_id", "item_count"]))]
    elif mutation == 4:
        line[draw(st.sampled_from(["extra", "product_count", "PRODUCT_ID"]))] = 1
    elif mutation == 5:
        body["fulfillment"] = draw(st.sampled_from(["PARTIAL", "", None, 1, True, ["partial"]]))
    elif mutation == 6:
        body[draw(st.sampled_from(["extra", "Products", "order_status"]))] = 1
    elif mutation == 7:
        body["products"] = draw(st.sampled_from([[], [lines[0]] * 101, None, "x", {"a": 1}]))
    elif mutation == 8:
        lines[0] = draw(st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just([])))
    elif mutation == 9:
        del body["products"]
    elif mutation == 10:
        return draw(st.one_of(st.none(), st.lists(st.integers(), max_size=2), st.text(max_size=3)))
    return body


def _line(product_id: Any = "SKU-1", item_count: Any = 1) -> dict[str, Any]:
    return {"product_id": product_id, "item_count": item_count}


@settings(max_examples=400, deadline=None)
@given(bodies())
@example({"products": [_line(item_count=True)]})
@example({"products": [_line(item_count=1.0)]})
@example({"products": [_line(item_count=0)]})
@example({"products": [_line(item_count=10_001)]})
@example({"products": [_line(product_id="SKU-1\n")]})
@example({"products": [_line(product_id="x" * 65)]})
@example({"products": [_line()] * 101})
@example({"products": [_line()] * 100})
@example({"products": [{**_line(), "extra": 1}]})
@example({"products": [_line()], "extra": 1})
@example({"products": [_line()], "fulfillment": None})
def test_fast_path_accepts_exactly_what_the_serializer_accepts(body: Any) -> None:
    # given
    serializer = OrderListApi.InputSerializer(data=body)

    # when
    valid = serializer.is_valid()
    fast = place_body_accept(body)

    # then
    if valid:
        data = serializer.validated_data
        expected = (
            merge_lines((line["product_id"], line["item_count"]) for line in data["products"]),
            data["fulfillment"] == "partial",
        )
        assert fast == expected
    else:
        assert fast is None, serializer.errors


def test_a_plain_valid_body_takes_the_fast_path() -> None:
    body = {
        "products": [
            {"product_id": "SKU-1", "item_count": 2},
            {"product_id": "SKU-1", "item_count": 1},
        ]
    }
    assert place_body_accept(body) == ({"SKU-1": 3}, True)
