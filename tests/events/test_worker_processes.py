"""`manage.py run_webhooks` as real processes on PostgreSQL: a worker killed mid-delivery loses
nothing (at least once), two workers never send the same attempt at once, SIGTERM lets the
attempts in flight finish, and a NOTIFY wakes an idle worker at once."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orderservice.events.models import Delivery, Event
from tests.events.conftest import subscribe, write_events
from tests.events.receiver import Receiver
from tests.live import REPO_ROOT, current_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_webhooks"),
]

TIME_LIMIT = 90.0


class WorkerProcess:
    def __init__(self, env: dict[str, str], concurrency: int) -> None:
        self.log = Path(tempfile.mkstemp(prefix="run_webhooks-", suffix=".log")[1])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_webhooks", "--concurrency", str(concurrency)],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def start_worker() -> Iterator[Callable[..., WorkerProcess]]:
    workers: list[WorkerProcess] = []

    def start(concurrency: int = 4, **settings: str) -> WorkerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "orderservice.settings",
                "DATABASE_URL": current_database_url(),
                "DEBUG": "0",
                "SECRET_KEY": "worker-test-secret-key-not-for-production-0123456789abcdefgh",
                "LOG_LEVEL": "WARNING",
                "WEBHOOK_ALLOW_HTTP": "1",
                "WEBHOOK_ALLOW_PRIVATE": "1",
                "WEBHOOK_TIMEOUT_SECONDS": "2",
                "WEBHOOK_LEASE_SECONDS": "3",
                "WEBHOOK_POLL_SECONDS": "0.1",
                "WEBHOOK_SCHEDULE_SCALE": "0.001",
                **settings,
            }
        )
        worker = WorkerProcess(env, concurrency)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(10)
        worker.log.unlink(missing_ok=True)


def _wait_for(condition: Callable[[], bool], what: str, workers: list[WorkerProcess]) -> None:
    deadline = time.monotonic() + TIME_LIMIT
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(worker.output() for worker in workers)
            raise AssertionError(f"timed out waiting for {what}; worker logs:\n{logs}")
        time.sleep(0.05)


def _all_delivered(count: int) -> Callable[[], bool]:
    return lambda: Delivery.objects.filter(status="delivered").count() == count


def test_a_worker_killed_mid_delivery_loses_nothing(
    receiver_factory: Callable[..., Receiver], start_worker: Callable[..., WorkerProcess]
):
    # given: 30 events for a receiver that takes 0.3 s per request
    receiver = receiver_factory(lambda n: (200, 0.3))
    subscribe(receiver.url)
    for _ in range(30):
        write_events(1)
    event_ids = set(Event.objects.values_list("event_id", flat=True))

    # when: the worker is SIGKILLed with deliveries in flight, and another one takes over
    first = start_worker()
    _wait_for(lambda: len(receiver.received) >= 6, "some deliveries", [first])
    first.signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    in_flight_when_killed = Delivery.objects.filter(status="pending").exclude(lease="").count()
    second = start_worker()
    _wait_for(_all_delivered(30), "every delivery", [second])
    second.signal(signal.SIGTERM)
    assert second.wait(15) == 0, second.output()

    # then: every event reached the receiver, none twice at the same time
    assert receiver.delivered_ids() == event_ids
    assert receiver.overlaps == []
    requests = len(receiver.received)
    print(
        f"\nkill/restart: {len(event_ids)} events, {requests} requests received, "
        f"{requests - len(event_ids)} duplicates, {in_flight_when_killed} claims left by the "
        "killed worker"
    )
    assert in_flight_when_killed > 0


def test_two_workers_never_send_the_same_attempt_at_once(
    receiver_factory: Callable[..., Receiver], start_worker: Callable[..., WorkerProcess]
):
    receiver = receiver_factory(lambda n: (200, 0.2))
    subscribe(receiver.url)
    workers = [start_worker(), start_worker()]
    for _ in range(40):
        write_events(1)

    _wait_for(_all_delivered(40), "every delivery", workers)
    for worker in workers:
        worker.signal(signal.SIGTERM)
    assert [worker.wait(15) for worker in workers] == [0, 0]

    assert receiver.overlaps == []
    assert len(receiver.received) == len(receiver.delivered_ids()) == 40


def test_sigterm_lets_the_attempts_in_flight_finish(
    receiver_factory: Callable[..., Receiver], start_worker: Callable[..., WorkerProcess]
):
    receiver = receiver_factory(lambda n: (200, 1.5))
    subscribe(receiver.url)
    write_events(6)
    worker = start_worker(concurrency=2)
    _wait_for(lambda: len(receiver.received) == 2, "two deliveries in flight", [worker])

    worker.signal(signal.SIGTERM)

    assert worker.wait(15) == 0, worker.output()
    assert Delivery.objects.filter(status="delivered").count() == 2
    assert Delivery.objects.filter(status="pending", attempts=[]).count() == 4
    assert len(receiver.received) == 2


def test_a_notify_wakes_an_idle_worker(
    receiver_factory: Callable[..., Receiver], start_worker: Callable[..., WorkerProcess]
):
    # given: a worker that would otherwise look for work every 30 s, idle
    receiver = receiver_factory()
    subscribe(receiver.url)
    worker = start_worker(WEBHOOK_POLL_SECONDS="30")
    time.sleep(3)

    # when
    written = time.monotonic()
    write_events(1)
    _wait_for(lambda: bool(receiver.delivered_ids()), "the delivery", [worker])

    # then: well before the next poll
    assert receiver.received[0].started - written < 5
