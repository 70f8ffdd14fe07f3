"""idempotency_key_run and idempotency_keys_prune: once per key, stored with the work, replayed."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from orderservice.common import clock
from orderservice.idempotency.exceptions import IdempotencyKeyReused
from orderservice.idempotency.models import IdempotencyKey
from orderservice.idempotency.services import (
    StoredResponse,
    idempotency_key_run,
    idempotency_keys_prune,
)
from orderservice.inventory.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def user() -> User:
    return User.objects.create(username="alice")


class Work:
    """A unit of work that writes to the database and counts its runs."""

    def __init__(self, status: int = 200, *, fail: bool = False) -> None:
        self.runs = 0
        self.status = status
        self.fail = fail

    def __call__(self) -> StoredResponse:
        self.runs += 1
        Product.objects.create(product_id=f"P{self.runs}", name="made by the work")
        if self.fail:
            raise RuntimeError("the work failed")
        return StoredResponse(self.status, f'{{"run": {self.runs}}}', {"Location": "/x"})


def test_the_work_runs_once_and_its_answer_is_replayed(user):
    # given
    work = Work()

    # when
    first = idempotency_key_run(user=user, key="k", fingerprint="f", perform=work)
    second = idempotency_key_run(user=user, key="k", fingerprint="f", perform=work)

    # then
    assert work.runs == 1
    assert not first.replayed
    assert second.replayed
    assert second.response == StoredResponse(200, '{"run": 1}', {"Location": "/x"})
    assert Product.objects.count() == 1


def test_another_fingerprint_is_refused_and_runs_nothing(user):
    # given
    work = Work()
    idempotency_key_run(user=user, key="k", fingerprint="f", perform=work)

    # when / then
    with pytest.raises(IdempotencyKeyReused):
        idempotency_key_run(user=user, key="k", fingerprint="other", perform=work)
    assert work.runs == 1


def test_work_that_raises_stores_neither_its_writes_nor_the_key(user):
    # given
    failing = Work(fail=True)

    # when
    with pytest.raises(RuntimeError):
        idempotency_key_run(user=user, key="k", fingerprint="f", perform=failing)
    retried = idempotency_key_run(user=user, key="k", fingerprint="f", perform=Work(201))

    # then
    assert not retried.replayed
    assert retried.response.status == 201
    assert list(Product.objects.values_list("product_id", flat=True)) == ["P1"]
    key = IdempotencyKey.objects.get()
    assert (key.response_status, key.response_body) == (201, '{"run": 1}')


def test_an_expired_key_runs_the_work_again(user, monkeypatch):
    # given
    work = Work()
    idempotency_key_run(user=user, key="k", fingerprint="f", perform=work)
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=24, seconds=1))

    # when
    again = idempotency_key_run(user=user, key="k", fingerprint="other", perform=work)

    # then
    assert not again.replayed
    assert work.runs == 2
    key = IdempotencyKey.objects.get()
    assert key.fingerprint == "other"
    assert key.response_body == '{"run": 2}'


def test_prune_removes_keys_older_than_24_hours(user):
    # given
    work = Work()
    for key in ("a", "b"):
        idempotency_key_run(user=user, key=key, fingerprint="f", perform=work)
    IdempotencyKey.objects.filter(key="a").update(created_at=clock.now() - timedelta(hours=25))

    # when
    deleted = idempotency_keys_prune()

    # then
    assert deleted == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["b"]
