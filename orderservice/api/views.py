"""Django-level JSON handlers for errors raised outside DRF views (urls.handler404 etc.)."""

from django.http import HttpRequest, JsonResponse

from orderservice.api import errors


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return errors.error_response(request, errors.NOT_FOUND)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return errors.error_response(request, errors.INVALID_REQUEST)


def server_error(request: HttpRequest) -> JsonResponse:
    return errors.error_response(request, errors.INTERNAL_ERROR)
