"""Medians, ratios, the SPEC §7 checks on the database, and the printed table."""

from __future__ import annotations

import statistics
from typing import Any

import psycopg

from bench import procs

# (ratio name, numerator scenario, denominator scenario, target or None)
RATIOS = (
    ("place / framework floor", "place_uniform", "floor", None),
    ("place / database ceiling", "place_uniform", "db_ceiling", 0.30),
    ("hot / uniform", "place_hot", "place_uniform", 0.90),
    ("hot place / hot database ceiling", "place_hot", "db_ceiling_hot", None),
    # --stack: the same place load through nginx + PgBouncer (SPEC §13), and PgBouncer alone.
    ("stack / direct place", "place_stack", "place_uniform", 0.85),
    ("PgBouncer only / direct place", "place_pgbouncer", "place_uniform", None),
)
_MEDIAN_FIELDS = ("ok_per_s", "p50_ms", "p95_ms", "p99_ms", "mean_ms")


def _median(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def median_run(runs: list[dict]) -> dict[str, Any]:
    """Medians of the repeats of one scenario; errors are the total over all repeats."""
    summary: dict[str, Any] = {f: _median([r[f] for r in runs]) for f in _MEDIAN_FIELDS}
    summary["ok_per_s_runs"] = [r["ok_per_s"] for r in runs]
    summary["errors"] = sum(r["errors"] for r in runs)
    summary["requests"] = sum(r["requests"] for r in runs)
    statuses: dict[str, int] = {}
    for run in runs:
        for key, n in {**run["error_statuses"], **run["socket_errors"]}.items():
            statuses[key] = statuses.get(key, 0) + n
    summary["error_kinds"] = statuses
    summary["cpu_cores"] = {
        key: _median([r["cpu_cores"][key] for r in runs]) for key in runs[0]["cpu_cores"]
    }
    return summary


def ratios(runs: dict[str, list[dict]]) -> dict[str, Any]:
    """Each ratio of medians, and the median of the ratios taken repeat by repeat (side by side)."""
    found: dict[str, Any] = {}
    for name, top, bottom, target in RATIOS:
        if not runs.get(top) or not runs.get(bottom):
            continue
        top_median = statistics.median(r["ok_per_s"] for r in runs[top])
        bottom_median = statistics.median(r["ok_per_s"] for r in runs[bottom])
        paired = [
            a["ok_per_s"] / b["ok_per_s"]
            for a, b in zip(runs[top], runs[bottom], strict=False)
            if b["ok_per_s"]
        ]
        value = top_median / bottom_median if bottom_median else None
        found[name] = {
            "of_medians": round(value, 3) if value is not None else None,
            "median_of_paired": round(statistics.median(paired), 3) if paired else None,
            "target": target,
            "met": None if target is None or value is None else value >= target,
        }
    return found


def memory_of(master: int, workers: list[int]) -> dict[str, Any]:
    """Resident memory of each app server worker (MiB): now, peak, and the private part."""
    rows = []
    for pid in workers:
        kib = procs.memory_kib(pid)
        if kib:
            rows.append(
                {
                    "pid": pid,
                    "rss_mib": round(kib.get("VmRSS", 0) / 1024, 1),
                    "peak_rss_mib": round(kib.get("VmHWM", 0) / 1024, 1),
                    "private_mib": round(kib.get("RssAnon", 0) / 1024, 1),
                }
            )
    master_kib = procs.memory_kib(master)
    return {
        "workers": rows,
        "worker_rss_mib_median": _median([r["rss_mib"] for r in rows]),
        "worker_rss_mib_max": max((r["rss_mib"] for r in rows), default=None),
        "worker_peak_rss_mib_max": max((r["peak_rss_mib"] for r in rows), default=None),
        "worker_private_mib_median": _median([r["private_mib"] for r in rows]),
        "master_rss_mib": round(master_kib.get("VmRSS", 0) / 1024, 1) if master_kib else None,
    }


def check_invariants(conn: psycopg.Connection, *, stock: int, products: int) -> dict[str, Any]:
    """SPEC §7 on the final database.

    1. No product_count below zero.
    2. For every product: product_count + items of non-cancelled orders == initial stock +
       restocks. Every product started at `stock` and the benchmark restocks nothing.
    And: no order without a line, and no product appeared or vanished. Where the schema has the
    stock ledger (SPEC §11), what `manage.py stock_audit` checks too: every product's movements
    add up to its product_count, every order's order_* movements to minus what it holds.
    """
    negative = conn.execute(
        "SELECT count(*) FROM inventory_product WHERE product_count < 0"
    ).fetchone()
    broken = conn.execute(
        """
        WITH held AS (
            SELECT item.product_id, sum(item.item_count) AS items
              FROM orders_orderitem AS item
              JOIN orders_order AS o ON o.id = item.order_id
             WHERE o.status <> 'cancelled'
             GROUP BY item.product_id
        )
        SELECT p.product_id, p.product_count, coalesce(held.items, 0)
          FROM inventory_product AS p
          LEFT JOIN held USING (product_id)
         WHERE p.product_count + coalesce(held.items, 0) <> %s
         ORDER BY p.product_id
        """,
        (stock,),
    ).fetchall()
    empty = conn.execute(
        """
        SELECT count(*) FROM orders_order AS o
         WHERE NOT EXISTS (SELECT 1 FROM orders_orderitem AS i WHERE i.order_id = o.id)
        """
    ).fetchone()
    product_rows = conn.execute("SELECT count(*) FROM inventory_product").fetchone()
    ledger = _ledger_violations(conn)
    negative_count = negative[0] if negative else -1
    empty_count = empty[0] if empty else -1
    product_count = product_rows[0] if product_rows else -1
    return {
        "ok": negative_count == 0
        and not broken
        and empty_count == 0
        and product_count == products
        and not any(ledger.values()),
        "negative_stock": negative_count,
        "conservation_violations": len(broken),
        "violation_examples": [
            {"product_id": pid, "product_count": count, "held_by_orders": held, "initial": stock}
            for pid, count, held in broken[:10]
        ],
        "orders_without_items": empty_count,
        "products": product_count,
        "ledger_violations": ledger,
    }


def _ledger_violations(conn: psycopg.Connection) -> dict[str, int]:
    """Products whose movements do not add up to their stock, and (order, product) pairs whose
    order movements do not take what the order holds; {} without a ledger (an older revision)."""
    exists = conn.execute("SELECT to_regclass('inventory_stockmovement') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    products = conn.execute(
        """
        SELECT count(*)
          FROM inventory_product AS p
          LEFT JOIN (SELECT product_id, sum(delta) AS total
                       FROM inventory_stockmovement GROUP BY product_id) AS m USING (product_id)
         WHERE p.product_count <> coalesce(m.total, 0)
        """
    ).fetchone()
    orders = conn.execute(
        """
        WITH held AS (
            SELECT item.order_id, item.product_id,
                   CASE WHEN o.status = 'cancelled' THEN 0 ELSE item.item_count END AS units
              FROM orders_orderitem AS item JOIN orders_order AS o ON o.id = item.order_id
        ), taken AS (
            SELECT order_id, product_id, -sum(delta) AS units
              FROM inventory_stockmovement
             WHERE reason IN ('order_placed', 'order_edited', 'order_cancelled')
             GROUP BY order_id, product_id
        )
        SELECT count(*)
          FROM held FULL JOIN taken USING (order_id, product_id)
         WHERE coalesce(held.units, 0) <> coalesce(taken.units, 0)
        """
    ).fetchone()
    return {
        "products": products[0] if products else -1,
        "order_lines": orders[0] if orders else -1,
    }


def order_accounting(
    *,
    stored: int,
    stored_cancelled: int,
    seeded: int,
    seeded_cancelled: int,
    tally: dict[str, int],
) -> dict[str, Any]:
    """SPEC §7.3 as far as a closed-loop load generator can see it.

    Every 200 to a place (and every committed pgbench order) must be a stored order, and every
    200 to a cancel a cancelled one. A load run that ends at its deadline drops the requests in
    flight without reading their answers, so the database may hold up to one extra order (or
    cancel) per connection per run, never fewer than were answered.
    """
    extra_orders = stored - seeded - tally["placed"]
    extra_cancels = stored_cancelled - seeded_cancelled - tally["cancelled"]
    bound = tally["inflight_bound"]
    return {
        "ok": 0 <= extra_orders <= bound and 0 <= extra_cancels <= bound,
        "orders_stored": stored,
        "orders_answered_200": tally["placed"],
        "orders_seeded": seeded,
        "unanswered_orders": extra_orders,
        "cancels_stored": stored_cancelled,
        "cancels_answered_200": tally["cancelled"],
        "unanswered_cancels": extra_cancels,
        "in_flight_bound": bound,
    }


def progress_line(repeat: int, repeats: int, run: dict) -> str:
    cpu = run["cpu_cores"]
    return (
        f"  [{repeat}/{repeats}] {run['scenario']:<15} {run['ok_per_s'] or 0:>8.1f} ok/s"
        f"  p50 {_ms(run['p50_ms'])}  p99 {_ms(run['p99_ms'])}  errors {run['errors']}"
        f"  cores app {_num(cpu['service'])} db {_num(cpu['postgres'])}"
        f" load {_num(cpu['loadgen'])} all {_num(cpu['machine'])}"
    )


def _ms(value: float | None) -> str:
    return f"{value:7.1f} ms" if value is not None else "      - ms"


def _num(value: float | None, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if value is not None else "-"


def table(results: dict[str, Any]) -> str:
    s = results["settings"]
    g = s["server"]
    lines = [
        f"Order service benchmark  {results['started_at'][:19]}Z  app {results['app']['git']}"
        + (f"  [{results['label']}]" if results["label"] else ""),
        f"  {s['products']} products, {s['users']} users, {s['connections']} connections,"
        f" {s['duration_s']:g} s x {s['repeats']} repeats (medians; errors summed);"
        f" {g['name']} {g['workers']} workers"
        + (f" ({g['threads']} threads)" if g["threads"] > 1 else "")
        + f"; {results['machine']['cores']} cores shared with the load generator"
        + f" (busy before the run: {results['machine']['busy_cores_before']:.2f})",
    ]
    stack = s.get("stack")
    if stack:
        lines.append(
            f"  --stack: place_stack is place_uniform through nginx -> {stack['apps']} app"
            f" server(s) x {stack['workers_per_app']} workers -> PgBouncer (transaction mode);"
            " place_pgbouncer through PgBouncer alone; app cores include nginx and PgBouncer;"
            f" every server counts rate limits in Redis ({stack['redis_url']})"
        )
    lines += [
        "",
        f"  {'scenario':<15} {'ok/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
        f"   cores: {'app':>4} {'db':>4} {'load':>4} {'all':>4}",
    ]
    for name, m in results["medians"].items():
        cpu = m["cpu_cores"]
        lines.append(
            f"  {name:<15} {_num(m['ok_per_s'], 1):>8} {_num(m['p50_ms'], 1):>8}"
            f" {_num(m['p95_ms'], 1):>8} {_num(m['p99_ms'], 1):>8} {m['errors']:>7}"
            f"          {_num(cpu['service'], 1):>4} {_num(cpu['postgres'], 1):>4}"
            f" {_num(cpu['loadgen'], 1):>4} {_num(cpu['machine'], 1):>4}"
        )
    lines.append("")
    for name, r in results["ratios"].items():
        target = ""
        if r["target"] is not None:
            target = f"   target >= {r['target']:.2f}: {'met' if r['met'] else 'NOT met'}"
        lines.append(
            f"  {name:<34} {_num(r['of_medians'], 3):>6}"
            f"  (repeat by repeat: {_num(r['median_of_paired'], 3)}){target}"
        )
    mem = results["memory"]
    if mem:
        lines.append(
            f"  memory per worker: RSS median {_num(mem['worker_rss_mib_median'], 1)} MiB,"
            f" max {_num(mem['worker_rss_mib_max'], 1)} MiB"
            f" (peak {_num(mem['worker_peak_rss_mib_max'], 1)} MiB;"
            f" private {_num(mem['worker_private_mib_median'], 1)} MiB)"
        )
    counted = results["statements"]
    checks = counted.get("health_checks", {})
    lines.append(
        "  SQL round trips per request (statements incl. BEGIN/COMMIT"
        + (" + CONN_HEALTH_CHECKS probes" if any(checks.values()) else "")
        + "): "
        + ", ".join(
            f"{name} {n}" + (f"+{checks[name]}" if checks.get(name) else "")
            for name, n in counted.get("statements", counted["per_request"]).items()
        )
    )
    inv = results["invariants"]
    acc = results["order_accounting"]
    lines.append("")
    lines.append(
        f"  SPEC §7 invariants: {'OK' if inv['ok'] else 'VIOLATED'}"
        f"  (negative stock: {inv['negative_stock']}; products whose count + items held by"
        f" non-cancelled orders != initial: {inv['conservation_violations']};"
        f" orders without lines: {inv['orders_without_items']})"
    )
    ledger = inv.get("ledger_violations")
    if ledger:
        lines.append(
            f"  SPEC §11 stock ledger: {'VIOLATED' if any(ledger.values()) else 'OK'}"
            f"  (products not explained by their movements: {ledger['products']}; order lines"
            f" not matched by their movements: {ledger['order_lines']})"
        )
    lines.append(
        f"  Orders accounted: {'OK' if acc['ok'] else 'NOT OK'}  ({acc['orders_stored']} stored ="
        f" {acc['orders_seeded']} seeded + {acc['orders_answered_200']} answered 200 +"
        f" {acc['unanswered_orders']} in flight at run ends (bound {acc['in_flight_bound']});"
        f" cancels {acc['cancels_stored']}, {acc['unanswered_cancels']} in flight)"
    )
    prof = results.get("profile")
    if prof:
        lines.append("")
        lines.append(prof["text"])
    return "\n".join(lines)
