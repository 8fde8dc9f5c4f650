"""PynamoDB attribute types for the domain's value types.

Every one is stored as a DynamoDB string (type S), on purpose:
- `DecimalAttribute` keeps the Decimal's exact text. DynamoDB's number type would hand back 89.9 for
  89.90 and PynamoDB's `NumberAttribute` goes through float; money must survive a round trip unchanged.
- `IsoDateTimeAttribute` writes fixed-width UTC ISO-8601 (`2025-03-01T12:00:00.000000Z`), so the
  lexical order DynamoDB uses for range keys is the chronological order.
- `IsoDateAttribute` writes `YYYY-MM-DD`.
- `ModelListAttribute` keeps a short list of domain records as one JSON string (read and written whole).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pynamodb.attributes import Attribute
from pynamodb.constants import STRING

_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso_utc(value: datetime) -> str:
    """Fixed-width UTC text of an aware datetime; used for attributes and composite keys alike."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetimes cannot be stored: pass a timezone-aware instant")
    # isoformat pads the year to four digits, as strftime's %Y does not on every platform (year 32).
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso_utc(text: str) -> datetime:
    """Inverse of `iso_utc`: an aware UTC datetime."""
    return datetime.strptime(text, _ISO_FORMAT).replace(tzinfo=UTC)


class DecimalAttribute(Attribute[Decimal]):
    """A `Decimal` stored as its exact text (scale included)."""

    attr_type = STRING

    def serialize(self, value: Any) -> str:
        if not isinstance(value, Decimal):
            raise TypeError(f"expected a Decimal, got {type(value).__name__}")
        if not value.is_finite():
            raise ValueError("NaN and infinity are not storable amounts")
        return str(value)

    def deserialize(self, value: str) -> Decimal:
        try:
            return Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"stored amount is not a decimal: {value!r}") from exc


class IsoDateTimeAttribute(Attribute[datetime]):
    """An aware datetime stored as fixed-width UTC ISO-8601 text (sortable)."""

    attr_type = STRING

    def serialize(self, value: Any) -> str:
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        return iso_utc(value)

    def deserialize(self, value: str) -> datetime:
        return parse_iso_utc(value)


class IsoDateAttribute(Attribute[date]):
    """A calendar date stored as `YYYY-MM-DD`."""

    attr_type = STRING

    def serialize(self, value: Any) -> str:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"expected a date, got {type(value).__name__}")
        return value.isoformat()

    def deserialize(self, value: str) -> date:
        return date.fromisoformat(value)


class ModelListAttribute(Attribute[list[Any]]):
    """A short list of domain records (pydantic models of type `of`) as one JSON string; an item
    written before the attribute existed reads as an empty list."""

    attr_type = STRING

    def __init__(self, of: type[BaseModel], **kwargs: Any) -> None:
        super().__init__(default=list, **kwargs)
        self._adapter: TypeAdapter[list[Any]] = TypeAdapter(list[of], config={"defer_build": True})  # type: ignore[valid-type]

    def serialize(self, value: Any) -> str:
        return self._adapter.dump_json(value).decode()

    def deserialize(self, value: str) -> list[Any]:
        return self._adapter.validate_json(value)
