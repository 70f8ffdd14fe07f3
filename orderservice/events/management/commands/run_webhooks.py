"""`python manage.py run_webhooks`: the webhook worker; run one or more next to the web servers."""

import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import start_http_server

from orderservice.events.keys import keys_refusal
from orderservice.events.worker import Worker

logger = logging.getLogger("orderservice.events.worker")


class Command(BaseCommand):
    help = (
        "Deliver webhooks: hand committed events on to the endpoints that want them, send them "
        "signed, retry on schedule. Stops gracefully on SIGTERM or Ctrl-C (the attempts in "
        "flight finish). Several may run at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.WEBHOOK_CONCURRENCY,
            help="Attempts in flight at once (default: WEBHOOK_CONCURRENCY).",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=0,
            help="Serve this worker's Prometheus metrics on 127.0.0.1:PORT (0: not served).",
        )
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="Stop after this long (tests)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        refusal = keys_refusal()
        if refusal:
            raise CommandError(refusal)
        if settings.WEBHOOK_LEASE_SECONDS <= settings.WEBHOOK_TIMEOUT_SECONDS:
            raise CommandError("WEBHOOK_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_SECONDS.")
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1.")
        if options["metrics_port"]:
            start_http_server(options["metrics_port"], addr="127.0.0.1")
        worker = Worker(concurrency=options["concurrency"])

        def stop(signum: int, frame: Any) -> None:
            logger.info(
                "webhook worker: %s, finishing the attempts in flight", signal.Signals(signum).name
            )
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info("webhook worker: started, %d in flight at most", worker.concurrency)
        worker.run(max_seconds=options["max_seconds"])
        logger.info("webhook worker: stopped")
