"""Running it: keys required in production, the prune and rotate commands, the admin, metrics."""

import io
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, override_settings
from prometheus_client import REGISTRY

from orderservice.common import clock
from orderservice.events.keys import keys_refusal, secret_decrypt, secret_encrypt
from orderservice.events.models import Delivery, Event, WebhookEndpoint
from orderservice.events.relay import events_fan_out
from tests.events.conftest import subscribe, work_until, write_events
from tests.events.receiver import Receiver
from tests.live import REPO_ROOT


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WEBHOOK_"))}
    clean.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**clean, "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("keys", "refusal"), [("", "must be set"), ("short", "Fernet keys")])
def test_check_deploy_requires_webhook_keys_in_production(keys: str, refusal: str):
    result = _manage("check", "--deploy", "--fail-level", "ERROR", WEBHOOK_SECRET_KEYS=keys)

    assert result.returncode != 0
    assert "events.E001" in result.stderr
    assert refusal in result.stderr


def test_the_worker_refuses_to_start_without_keys_in_production():
    result = _manage("run_webhooks", WEBHOOK_SECRET_KEYS="")

    assert result.returncode != 0
    assert "WEBHOOK_SECRET_KEYS must be set when DEBUG is off" in result.stderr


@override_settings(WEBHOOK_SECRET_KEYS=[], DEBUG=True)
def test_with_debug_on_a_development_key_is_derived():
    assert keys_refusal() is None
    assert secret_decrypt(secret_encrypt("whsec_abc")) == "whsec_abc"


@pytest.mark.django_db(transaction=True)  # the feed serves ended transactions only
@override_settings(EVENT_RETENTION_DAYS=30)
def test_prune_deletes_events_past_retention_and_their_deliveries():
    with override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE=True):
        subscribe("http://127.0.0.1:9/hook")
    write_events(3)
    events_fan_out()
    old = list(Event.objects.order_by("id").values_list("id", flat=True)[:2])
    Event.objects.filter(id__in=old).update(created_at=clock.now() - timedelta(days=31))

    out = io.StringIO()
    call_command("prune_events", stdout=out)

    assert out.getvalue() == "Deleted 2 events older than 30 days.\n"
    assert Event.objects.count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_admin_enables_disables_and_retries_through_the_services():
    # given
    admin = User.objects.create_superuser("root", password="not-used-here")
    client = Client()
    client.force_login(admin)
    with override_settings(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE=True):
        created = subscribe("http://127.0.0.1:9/hook")
    webhook = created.endpoint
    write_events(1)
    events_fan_out()
    Delivery.objects.update(status="failed", next_attempt_at=None)
    delivery = Delivery.objects.get()

    # when / then: the pages show them, read-only
    assert client.get("/admin/events/webhookendpoint/").status_code == 200
    page = client.get(f"/admin/events/webhookendpoint/{webhook.pk}/change/")
    assert page.status_code == 200
    assert list(page.context["adminform"].form.fields) == ["enabled"]
    assert created.secret.encode() not in page.content
    assert webhook.secret_encrypted.encode() not in page.content
    assert client.get("/admin/events/delivery/").status_code == 200
    assert client.get("/admin/events/webhookendpoint/add/").status_code == 403

    # disable, enable
    action = {"_selected_action": [webhook.pk], "action": "disable"}
    client.post("/admin/events/webhookendpoint/", action)
    assert WebhookEndpoint.objects.get().enabled is False
    client.post("/admin/events/webhookendpoint/", {**action, "action": "enable"})
    assert WebhookEndpoint.objects.get().enabled is True

    # retry
    retry = {"_selected_action": [delivery.pk], "action": "retry"}
    client.post("/admin/events/delivery/", retry)
    assert Delivery.objects.get().status == "pending"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhooks")
def test_metrics_count_events_and_deliveries(receiver_factory: Callable[..., Receiver]):
    written = _value("orders_events_written_total", type="product.low_stock")
    delivered = _value("orders_webhook_deliveries_total", outcome="delivered")
    retried = _value("orders_webhook_deliveries_total", outcome="retry")
    latency = _value("orders_webhook_delivery_seconds_count")
    receiver = receiver_factory(lambda n: (500 if n == 0 else 200, 0.0))
    subscribe(receiver.url, ["product.*"])

    write_events(2, "product.low_stock")
    work_until(lambda: Delivery.objects.filter(status="delivered").count() == 2)

    assert _value("orders_events_written_total", type="product.low_stock") == written + 2
    assert _value("orders_webhook_deliveries_total", outcome="delivered") == delivered + 2
    assert _value("orders_webhook_deliveries_total", outcome="retry") == retried + 1
    assert _value("orders_webhook_delivery_seconds_count") == latency + 2
    assert _value("orders_webhook_oldest_undelivered_seconds") >= 0
