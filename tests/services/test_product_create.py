"""inventory.services.product_create."""

import pytest
from django.db import transaction

from orderservice.inventory.exceptions import ProductAlreadyExists
from orderservice.inventory.models import Product
from orderservice.inventory.services import product_create
from tests.factories import ProductFactory, stock

pytestmark = pytest.mark.django_db


def test_create_stores_the_product() -> None:
    # when
    product = product_create(product_id="KETTLE-1", name="Kettle", product_count=7)

    # then
    assert (product.product_id, product.name, product.product_count) == ("KETTLE-1", "Kettle", 7)
    fresh = Product.objects.get(product_id="KETTLE-1")
    assert (fresh.name, fresh.product_count) == ("Kettle", 7)


def test_an_existing_id_is_refused_and_the_product_left_alone() -> None:
    # given
    ProductFactory.create(product_id="KETTLE-1", name="Kettle", product_count=7)

    # when
    with pytest.raises(ProductAlreadyExists):
        product_create(product_id="KETTLE-1", name="Other", product_count=99)

    # then
    assert Product.objects.values_list("name", "product_count").get() == ("Kettle", 7)


def test_a_refused_duplicate_leaves_an_enclosing_transaction_usable() -> None:
    # given a caller that already holds a transaction (the Django admin wraps its views in one)
    ProductFactory.create(product_id="KETTLE-1", product_count=7)

    # when
    with transaction.atomic():
        with pytest.raises(ProductAlreadyExists):
            product_create(product_id="KETTLE-1", name="Other", product_count=99)
        product_create(product_id="KETTLE-2", name="Second", product_count=1)

    # then
    assert stock() == {"KETTLE-1": 7, "KETTLE-2": 1}


def test_ids_differing_only_in_case_are_different_products() -> None:
    # given
    ProductFactory.create(product_id="kettle", product_count=1)

    # when
    product_create(product_id="KETTLE", name="Loud kettle", product_count=2)

    # then
    assert stock() == {"KETTLE": 2, "kettle": 1}
