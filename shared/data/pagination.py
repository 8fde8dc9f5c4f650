"""The opaque cursors of every list function, and `query_page`, which returns a `Page[T]`.

A cursor is DynamoDB's LastEvaluatedKey, tagged with a short hash of the query it came from and
base64url-encoded. The tag makes a cursor from one listing (another campaign, another filter) fail as
`InvalidInput` instead of silently returning the wrong rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pynamodb.exceptions import QueryError
from pynamodb.pagination import ResultIterator

from shared.domain.errors import InvalidInput
from shared.domain.pages import Page, check_limit

T = TypeVar("T")
R = TypeVar("R")


def encode_cursor(query_tag: str, last_evaluated_key: dict[str, Any] | None) -> str | None:
    """The URL-safe cursor for `last_evaluated_key` (None when the listing is exhausted)."""
    if not last_evaluated_key:
        return None
    payload = json.dumps({"q": _tag_hash(query_tag), "k": last_evaluated_key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(query_tag: str, cursor: str | None) -> dict[str, Any] | None:
    """The LastEvaluatedKey inside `cursor`; `InvalidInput` if it is malformed or from another query."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("invalid cursor", code="invalid_cursor") from exc
    if (
        not isinstance(payload, dict)
        or payload.get("q") != _tag_hash(query_tag)
        or not isinstance(payload.get("k"), dict)
    ):
        raise InvalidInput("invalid cursor", code="invalid_cursor")
    key: dict[str, Any] = payload["k"]
    return key


# Queries one page may run to fill itself when `resolve` leaves items out.
MAX_FILL_QUERIES = 8


def query_page(
    query: Callable[..., ResultIterator[R]],
    hash_key: Any,
    *,
    query_tag: str,
    limit: int,
    cursor: str | None,
    convert: Callable[[R], T],
    resolve: Callable[[list[R]], list[R]] | None = None,
    **query_kwargs: Any,
) -> Page[T]:
    """Run a bounded Query (`Model.query` or `Index.query`) from `cursor` and wrap it as a `Page`.

    `query_tag` must identify the listing completely (index, partition value, filters). `resolve`
    turns the page's index records into whole items (an index that projects keys only), and may leave
    some out (a filter on what it fetched): then the next stretch of the index is read, until the page
    is full, the index ends, or `MAX_FILL_QUERIES` were run (a page may then hold fewer than `limit`,
    with a cursor). A stretch that overfills the page ends it at its last item kept: the cursor is built
    from that item's keys, so the next page starts right after it.
    """
    check_limit(limit)
    start_key = decode_cursor(query_tag, cursor)
    kept: list[R] = []
    for _ in range(MAX_FILL_QUERIES if resolve else 1):
        results = query(hash_key, limit=limit, page_size=limit, last_evaluated_key=start_key, **query_kwargs)
        try:
            records = list(results)
        except QueryError as exc:
            if start_key is not None and exc.cause_response_code == "ValidationException":
                # A well-formed cursor whose key does not fit the query (hand-edited): the caller's fault.
                raise InvalidInput("invalid cursor", code="invalid_cursor") from exc
            raise
        kept += resolve(records) if resolve else records
        start_key = results.last_evaluated_key
        if len(kept) > limit:
            kept = kept[:limit]
            serialized = kept[-1].serialize(null_check=False)  # type: ignore[attr-defined]
            start_key = {name: serialized[name] for name in results.page_iter.key_names}
        if start_key is None or len(kept) >= limit:
            break
    return Page(items=[convert(record) for record in kept], next_cursor=encode_cursor(query_tag, start_key))


def _tag_hash(query_tag: str) -> str:
    return hashlib.blake2b(query_tag.encode(), digest_size=6).hexdigest()
