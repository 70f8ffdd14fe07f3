"""factory_boy factories for users and products; orders are made through order_place."""

import factory
from django.contrib.auth import get_user_model

from orderservice.inventory.models import Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    product_id = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.Faker("sentence", nb_words=3)
    product_count = 10
