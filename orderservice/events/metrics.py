"""Event and webhook metrics (Prometheus, `orders_` like every business metric).

Events written are counted by the processes that write them (served at GET /metrics). The
deliveries, their latency and the age of the oldest undelivered event are the worker's: it
serves them itself (`run_webhooks --metrics-port`), or into PROMETHEUS_MULTIPROC_DIR when set.
"""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_WRITTEN = Counter("orders_events_written", "Events written (committed), by type.", ["type"])
WEBHOOK_DELIVERIES = Counter(
    "orders_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, retry (another attempt is scheduled), "
    "failed (no attempt left), lost (the claim had expired; another worker owns it).",
    ["outcome"],
)
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "orders_webhook_delivery_seconds",
    "From an event's creation to its successful delivery to one endpoint.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0),
)
WEBHOOK_OLDEST_UNDELIVERED_SECONDS = Gauge(
    "orders_webhook_oldest_undelivered_seconds",
    "Age of the oldest event not yet handed to the webhooks or with a delivery still pending.",
    multiprocess_mode="max",
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "orders_webhook_endpoints_disabled", "Endpoints disabled after their deliveries kept failing."
)


def count_written(event_types: list[str]) -> None:
    for event_type in event_types:
        EVENTS_WRITTEN.labels(type=event_type).inc()
