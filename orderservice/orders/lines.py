"""Pure rules about order lines: merging duplicates, describing an edit, pricing."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

MAX_LINES = 100  # per request, counted before duplicates are merged
MAX_ITEM_COUNT = 10_000  # per line


@dataclass(frozen=True)
class LineChange:
    product_id: str
    before: int
    after: int


def merge_lines(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Add up the counts of lines naming the same product, keeping first-seen order."""
    merged: dict[str, int] = {}
    for product_id, count in lines:
        merged[product_id] = merged.get(product_id, 0) + count
    return merged


def apply_edit(
    current: Mapping[str, int], requested: Mapping[str, int]
) -> tuple[dict[str, int], list[LineChange]]:
    """The order's lines after setting each requested product's count (0 removes it).

    Returns the new lines (existing products keep their place, new ones are appended) and the
    changes actually made; a request that sets a count to its current value changes nothing.
    """
    result = dict(current)
    changes: list[LineChange] = []
    for product_id, count in requested.items():
        before = current.get(product_id, 0)
        if before == count:
            continue
        changes.append(LineChange(product_id, before, count))
        if count:
            result[product_id] = count
        else:
            del result[product_id]
    return result, changes


def line_total(unit_price: Decimal, item_count: int) -> Decimal:
    """unit_price x item_count, exactly (a Decimal of cents times an integer is exact)."""
    return unit_price * item_count


def order_total(lines: Mapping[str, int], prices: Mapping[str, Decimal]) -> Decimal:
    """The sum of the line totals, exactly; 0.00 for no lines."""
    return sum(
        (line_total(prices[product_id], count) for product_id, count in lines.items()),
        Decimal("0.00"),
    )
