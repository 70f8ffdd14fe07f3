"""A test-only URL configuration: the real API plus views that crash, for the 500 contract."""

from typing import NoReturn

from django.http import HttpRequest
from django.urls import path
from rest_framework.request import Request
from rest_framework.views import APIView

from orderservice.urls import handler400, handler404, handler500, urlpatterns

# What a careless bug might put into an exception message; none of it may reach the client.
SECRET = "SELECT * FROM api_apitoken -- password=hunter2 /work/main/orderservice/settings.py"


class CrashingApi(APIView):
    def get(self, request: Request) -> NoReturn:
        raise RuntimeError(SECRET)

    def post(self, request: Request) -> NoReturn:
        raise ZeroDivisionError(SECRET)


def crashing_view(request: HttpRequest) -> NoReturn:
    raise KeyError(SECRET)


urlpatterns = [
    path("crash/api", CrashingApi.as_view()),
    path("crash/django", crashing_view),
    *urlpatterns,
]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
