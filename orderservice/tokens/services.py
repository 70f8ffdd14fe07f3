"""Issuing, checking and revoking API tokens."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from orderservice.common import clock
from orderservice.tokens.models import ApiToken, token_hash


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


# Each process remembers a key's user for TOKEN_CACHE_SECONDS, sparing a query on every request.
# The stated bound: a revoked token, or a deactivated user, may keep working for up to that long
# in other processes (token_cache_clear() makes it immediate in the process that revokes).
# Expiry is checked on every request, cached or not. Only hits are cached, so random keys can't
# fill it; it is emptied when it reaches _CACHE_MAX_ENTRIES.
_cache: dict[str, tuple[float, AbstractBaseUser, datetime | None]] = {}
_CACHE_MAX_ENTRIES = 10_000


def token_cache_clear() -> None:
    _cache.clear()


def token_revoke(*, key: str | None = None, username: str | None = None) -> int:
    """Delete the token with this key and/or every token of this user; return how many.

    Immediate in this process; other processes stop accepting the key within
    TOKEN_CACHE_SECONDS (the cache bound above).
    """
    if key is None and username is None:
        raise ValueError("name a key or a username")
    tokens = ApiToken.objects.all()
    if key is not None:
        tokens = tokens.filter(key_hash=token_hash(key))
    if username is not None:
        tokens = tokens.filter(user__username=username)
    count, _ = tokens.delete()
    token_cache_clear()
    return count


def token_user(key: str) -> AbstractBaseUser | None:
    """The active user a key belongs to, or None for an unknown, expired or inactive key."""
    digest = token_hash(key)
    ttl = settings.TOKEN_CACHE_SECONDS
    hit = _cache.get(digest) if ttl > 0 else None
    if hit is not None and hit[0] > clock.monotonic():
        _, user, expires_at = hit
    else:
        token = (
            ApiToken.objects.select_related("user")
            .only("expires_at", "user__is_active", "user__is_staff", "user__username")
            .filter(key_hash=digest)
            .first()
        )
        if token is None or not token.user.is_active:
            _cache.pop(digest, None)
            return None
        user, expires_at = token.user, token.expires_at
        if ttl > 0:
            if len(_cache) >= _CACHE_MAX_ENTRIES:
                _cache.clear()
            _cache[digest] = (clock.monotonic() + ttl, user, expires_at)
    if expires_at is not None and expires_at <= clock.now():
        return None
    return user
