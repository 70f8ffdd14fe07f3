"""Refusals of the events app, each of one kind of common.exceptions."""

from collections.abc import Mapping
from typing import Any

from orderservice.common.exceptions import InvalidInput, NotFound


class WebhookNotFound(NotFound):
    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"no webhook {webhook_id}")


class DeliveryNotFound(NotFound):
    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"no delivery {delivery_id}")


class UnknownEvent(InvalidInput):
    """`?after=` names no event kept in the feed."""

    def __init__(self, event_id: str) -> None:
        super().__init__(event_id)

    def details(self) -> Mapping[str, Any]:
        return {"after": ["No such event in the feed (events are kept EVENT_RETENTION_DAYS)."]}


class WebhookUrlRefused(InvalidInput):
    """A webhook URL that may not be used; the message says why (also at delivery time)."""

    def details(self) -> Mapping[str, Any]:
        return {"url": [str(self)]}
