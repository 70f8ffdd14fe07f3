"""Issuing, checking and revoking API tokens."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from orderservice.api.models import ApiToken, token_hash
from orderservice.common import clock


def token_issue(*, username: str, staff: bool = False, expires_at: datetime | None = None) -> str:
    """Create the user if missing (staff if asked) and a new token; return the key, shown once."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
    if staff and not user.is_staff:
        user.is_staff = True
    user.save()
    key = ApiToken.generate_key()
    ApiToken.objects.create(
        key_hash=token_hash(key), prefix=key[:8], user=user, expires_at=expires_at
    )
    return key


def token_user(key: str) -> AbstractBaseUser | None:
    """The active user a key belongs to, or None for an unknown, expired or inactive key."""
    token = (
        ApiToken.objects.select_related("user")
        .only("expires_at", "user__is_active", "user__is_staff", "user__username")
        .filter(key_hash=token_hash(key))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= clock.now():
        return None
    return token.user
