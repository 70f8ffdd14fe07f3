"""Pure rules about order lines: merging duplicates and applying an edit."""

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from orderservice.orders.lines import LineChange, apply_edit, merge_lines

product_ids = st.sampled_from(["A", "B", "C", "D", "E"])
counts = st.integers(min_value=1, max_value=10_000)
# An order's current lines: distinct products, positive counts, in insertion order.
orders = st.dictionaries(product_ids, counts, min_size=1)
# An edit: distinct products (already merged), counts from 0 (remove) up.
edits = st.dictionaries(product_ids, st.integers(min_value=0, max_value=10_000), min_size=1)


def test_merge_adds_counts_and_keeps_first_seen_order() -> None:
    # given
    lines = [("B", 2), ("A", 1), ("B", 3), ("C", 4), ("A", 5)]

    # when
    merged = merge_lines(lines)

    # then
    assert merged == {"B": 5, "A": 6, "C": 4}
    assert list(merged) == ["B", "A", "C"]


def test_merge_of_nothing_is_empty() -> None:
    # when / then
    assert merge_lines([]) == {}


@given(st.lists(st.tuples(product_ids, counts), max_size=100))
def test_merge_preserves_each_products_total(lines: list[tuple[str, int]]) -> None:
    # when
    merged = merge_lines(lines)

    # then
    expected: Counter[str] = Counter()
    for product_id, count in lines:
        expected[product_id] += count
    assert merged == dict(expected)
    assert sum(merged.values()) == sum(count for _, count in lines)
    assert list(merged) == list(dict.fromkeys(product_id for product_id, _ in lines))


def test_edit_sets_adds_and_removes() -> None:
    # given
    current = {"A": 2, "B": 1, "C": 7}

    # when
    lines, changes = apply_edit(current, {"A": 5, "B": 0, "D": 3})

    # then
    assert lines == {"A": 5, "C": 7, "D": 3}
    assert list(lines) == ["A", "C", "D"]  # existing products keep their place, new ones last
    assert changes == [LineChange("A", 2, 5), LineChange("B", 1, 0), LineChange("D", 0, 3)]
    assert current == {"A": 2, "B": 1, "C": 7}  # the input is not modified


def test_edit_to_the_same_counts_changes_nothing() -> None:
    # given
    current = {"A": 2, "B": 1}

    # when
    lines, changes = apply_edit(current, {"A": 2, "C": 0})

    # then
    assert lines == current
    assert changes == []


def test_edit_removing_everything_leaves_no_lines() -> None:
    # when
    lines, changes = apply_edit({"A": 2}, {"A": 0})

    # then
    assert lines == {}
    assert changes == [LineChange("A", 2, 0)]


@given(orders, edits)
def test_edit_invariants(current: dict[str, int], requested: dict[str, int]) -> None:
    # when
    lines, changes = apply_edit(current, requested)

    # then every requested product ends at its requested count, every other one is untouched
    for product_id in set(current) | set(requested):
        expected = requested.get(product_id, current.get(product_id, 0))
        assert lines.get(product_id, 0) == expected
    # no line is ever zero or negative
    assert all(count > 0 for count in lines.values())
    # the changes are exactly the products whose count moved, with true before/after values
    assert {c.product_id for c in changes} == {
        p for p in set(current) | set(lines) if current.get(p, 0) != lines.get(p, 0)
    }
    for change in changes:
        assert change.before == current.get(change.product_id, 0)
        assert change.after == lines.get(change.product_id, 0)
        assert change.before != change.after
    # replaying the changes as stock deltas accounts for every unit
    delta = sum(c.after - c.before for c in changes)
    assert sum(lines.values()) - sum(current.values()) == delta
    # existing products keep their relative order; new ones come after them
    kept = [p for p in current if p in lines]
    assert list(lines)[: len(kept)] == kept


@given(orders, edits)
def test_applying_the_same_edit_twice_changes_nothing_the_second_time(
    current: dict[str, int], requested: dict[str, int]
) -> None:
    # given
    once, _ = apply_edit(current, requested)

    # when
    twice, changes = apply_edit(once, requested)

    # then
    assert twice == once
    assert changes == []
