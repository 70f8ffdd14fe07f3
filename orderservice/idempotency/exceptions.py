"""What the idempotency service can refuse; plain exceptions, mapped to HTTP in api/errors.py."""


class IdempotencyKeyReused(Exception):
    """The key was used before, by the same user, for a different request."""


class IdempotencyKeyInFlight(Exception):
    """Another request with the same key is still running; it will store the answer."""
