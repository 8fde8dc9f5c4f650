"""`Page[T]`: one page of any listing, and the page sizes a listing accepts.

The cursor inside a page is opaque here; the data layer (`shared.data.pagination`) makes and reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.domain.errors import InvalidInput

T = TypeVar("T")

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; pass `next_cursor` back to get the next one (None: no more pages)."""

    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None


def check_limit(limit: int) -> int:
    """Reject page sizes no listing should run (zero, negative, absurdly large)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", code="invalid_limit")
    return limit
