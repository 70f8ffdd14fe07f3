"""Strict JSON types for bodies: DRF's defaults coerce `"3"` and `1.0` and ignore extra keys."""

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orderservice.common.ids import PRODUCT_ID_REGEX


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: not a bool, a float (even 1.0) or a numeric string."""

    default_error_messages = {"invalid": "Must be a JSON integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


# An amount as clients send it: digits without a leading zero, at most 2 decimal places.
MONEY_PATTERN = r"(0|[1-9][0-9]{0,14})(\.[0-9]{1,2})?"
_CENT = Decimal("0.01")


def money_text(amount: Decimal) -> str:
    """An amount as every answer shows it: a string with exactly two places ("12.50")."""
    return f"{amount.quantize(_CENT):f}"


@extend_schema_field({"type": "string", "pattern": f"^{MONEY_PATTERN}$", "example": "12.50"})
class StrictMoneyField(serializers.Field):
    """An amount: a JSON string holding a decimal with at most 2 places, "0" to `max_value`.

    Not a JSON number (a float cannot hold every amount of cents), nor an exponent, a sign,
    spaces, a comma, NaN or Infinity: each of those is a 400 naming the field.
    """

    default_error_messages = {
        "invalid": 'Must be a JSON string holding a decimal from "0" to "{max_value}" with at '
        'most 2 places, e.g. "12.50".'
    }

    def __init__(self, *, max_value: Decimal, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_value = max_value

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not re.fullmatch(MONEY_PATTERN, data):
            self.fail("invalid", max_value=money_text(self.max_value))
        amount = Decimal(data)
        if amount > self.max_value:
            self.fail("invalid", max_value=money_text(self.max_value))
        return amount.quantize(_CENT)

    def to_representation(self, value: Decimal) -> str:
        return money_text(value)


class StrictCharField(serializers.CharField):
    """A JSON string only (DRF would turn 12 into "12"); never trimmed."""

    default_error_messages = {"invalid": "Must be a JSON string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    default_error_messages = {"invalid_choice": "Must be one of: {choices}."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data, choices=", ".join(map(str, self.choices)))
        return super().to_internal_value(data)

    def fail(self, key: str, **kwargs: Any) -> Any:
        kwargs.setdefault("choices", ", ".join(map(str, self.choices)))
        return super().fail(key, **kwargs)


class StrictRegexField(serializers.RegexField):
    """A JSON string matching the whole pattern (DRF's `search` lets "SKU-1\\n" through `$`)."""

    def __init__(self, regex: str, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(regex, **kwargs)
        self.full_pattern = re.compile(regex)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not self.full_pattern.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class ProductIdField(StrictRegexField):
    """A SKU: 1 to 64 characters of A-Z a-z 0-9 . _ -"""

    default_error_messages = {"invalid": "Must be 1 to 64 characters of A-Z a-z 0-9 . _ -"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(PRODUCT_ID_REGEX, **kwargs)


class StrictSerializer(serializers.Serializer):
    """Rejects keys it does not declare, naming each one, beside the usual field errors."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, dict):
            unknown = {key: ["Unknown field."] for key in data if key not in self.fields}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value
