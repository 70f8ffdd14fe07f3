"""What the order services can refuse; each is a kind of common.exceptions, mapped at the edge."""

from collections.abc import Mapping
from typing import Any

from orderservice.common.exceptions import Conflict, InvalidInput, NotFound, PreconditionFailed


class OrderNotFound(NotFound):
    """Missing, or not the caller's: the two are indistinguishable on purpose."""

    code = "order-not-found"


class OrderConflict(Conflict):
    """The order's state forbids the change; the message says why."""

    code = "conflict"


class OrderVersionMismatch(PreconditionFailed):
    """The client's If-Match does not name the order's current version."""

    code = "precondition-failed"


class EmptyOrder(InvalidInput):
    """An edit would leave the order without items."""

    code = "invalid-request"

    def details(self) -> Mapping[str, Any]:
        return {
            "products": [
                "The change would leave the order without items; cancel it with DELETE instead."
            ]
        }
