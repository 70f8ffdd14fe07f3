"""What the order services can refuse; plain exceptions, mapped to HTTP in api/errors.py."""


class OrderNotFound(Exception):
    """Missing, or not the caller's: the two are indistinguishable on purpose."""


class OrderConflict(Exception):
    """The order's state forbids the change; the message says why."""


class OrderVersionMismatch(Exception):
    """The client's If-Match does not name the order's current version."""


class EmptyOrder(Exception):
    """An edit would leave the order without items."""
