"""What the idempotency service can refuse; kinds of common.exceptions, mapped at the edge."""

from orderservice.common.exceptions import Conflict, Unprocessable


class IdempotencyKeyReused(Unprocessable):
    """The key was used before, by the same user, for a different request."""

    code = "idempotency-key-reused"


class IdempotencyKeyInFlight(Conflict):
    """Another request with the same key is still running; it will store the answer."""

    code = "idempotency-key-in-flight"
    retry_after = 1  # the other request holds the key for one transaction: about now
