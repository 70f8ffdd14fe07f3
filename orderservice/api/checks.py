"""System checks for what Django's own cannot see in our settings.

Django's security.W003 (and W016, which depends on it) look for
"django.middleware.csrf.CsrfViewMiddleware" by name in MIDDLEWARE. The admin's CSRF middleware
is a subclass run for admin paths only (orderservice.api.middleware), so settings silence W003
and this check does its job for any subclass.
"""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.core.checks.security import csrf as django_csrf
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string

W003 = Warning(django_csrf.W003.msg, id="orderservice.W003")


def _csrf_middleware_installed() -> bool:
    for path in settings.MIDDLEWARE:
        try:
            middleware = import_string(path)
        except ImportError:
            continue
        if isinstance(middleware, type) and issubclass(middleware, CsrfViewMiddleware):
            return True
    return False


@register(Tags.security, deploy=True)
def check_csrf_middleware(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    if not _csrf_middleware_installed():
        return [W003]
    if not (settings.CSRF_USE_SESSIONS or settings.CSRF_COOKIE_SECURE):
        return [django_csrf.W016]
    return []
