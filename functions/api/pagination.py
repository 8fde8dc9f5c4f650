"""List routes answer a JSON array (the seed's shape) and carry the next page's cursor in the
`X-Next-Cursor` header, so clients page without the body changing shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Response

from shared.domain.pages import Page

T = TypeVar("T")
NEXT_CURSOR_HEADER = "X-Next-Cursor"


def paged(response: Response, page: Page[Any], convert: Callable[[Any], T]) -> list[T]:
    if page.next_cursor:
        response.headers[NEXT_CURSOR_HEADER] = page.next_cursor
    return [convert(item) for item in page.items]
