"""bench.layers' arithmetic: self and inclusive instructions per layer from the probes' counts."""

from bench import layers


def _probe(id_: int, label: str, parent: int, depth: int, calls: int) -> dict:
    return {
        "id": id_,
        "label": label,
        "parent": parent,
        "depth": depth,
        "probe": f"probe_{id_}",
        "calls": calls,
    }


def test_self_is_inclusive_minus_inner_probes_and_the_probe_overhead():
    probes = [
        _probe(0, layers.REQUEST, -1, 0, calls=2),
        _probe(1, "middleware A", 0, 1, calls=2),
        _probe(2, "DB statement", 1, 2, calls=4),
        _probe(3, "DB statement", 0, 1, calls=2),  # the same layer under another parent
    ]
    # Raw inclusive counts include each probe's own overhead (10 inside, 100 per call made).
    costs = {"probe_0": 2_000, "probe_1": 1_200, "probe_2": 400, "probe_3": 100}
    rows = {r["layer"]: r for r in layers._layers(probes, costs, 2, 10.0, 100.0)}

    # Over the 2 requests, request: 2000 - (1200 + 100) - 2 x 10 - 100 x (2 + 2) inner calls = 280.
    assert rows[layers.REQUEST]["self"] == 140
    # middleware A: 1200 - 400 - 2 x 10 - 100 x 4 = 380; DB: (400 - 40) + (100 - 20) = 440.
    assert rows["middleware A"]["self"] == 190
    assert rows["DB statement"]["self"] == 220
    # Inclusive without overhead is the sum of the selves below: 280 + 380 + 440.
    assert rows[layers.REQUEST]["inclusive"] == (280 + 380 + 440) // 2
    assert rows["middleware A"]["inclusive"] == (380 + 360) // 2
    assert rows["DB statement"]["self_pct"] == round(100 * 440 / 1100, 1)


def test_the_table_shows_every_layer_indented_by_depth():
    results = {
        "requests": 1,
        "database": "sqlite",
        "probe_overhead": {"inside": 1, "call": 2},
        "kinds": {
            "floor": [
                {"layer": layers.REQUEST, "depth": 0, "inclusive": 10, "self": 4, "self_pct": 40.0},
                {"layer": "view X.get", "depth": 1, "inclusive": 6, "self": 6, "self_pct": 60.0},
            ]
        },
    }
    text = layers.table(results)
    assert "  floor" in text
    assert f"  {layers.REQUEST}" in text
    assert "    view X.get" in text
