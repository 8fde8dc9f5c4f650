"""Copying an earlier version's tables into this version's, for a stack upgraded to a new table prefix
(`cobranca upgrade --from-prefix`, README's "Upgrading a deployed stack").

A new prefix gives every table a new name, so CloudFormation creates them in this version's shape in
one deploy — no index changed one per update, no key schema that cannot change in place — and keeps
the old ones where production's RETAIN leaves them. Their items are then copied as stored, page by
page, each page one Scan from a cursor and BatchWriteItem puts: repeating a page writes the same
items again. Only the counters change shape on the way (`counters.from_hash_only`), and the targets
that are no cases of this version (per-invoice ones of before the case model) stay behind: every
lookup of a customer's cases (`targets.by_document`) would fail on them. Tables this
version no longer has (the idempotency records) are not copied; tables an earlier version did not
have are left empty.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from shared.data import counters, targets
from shared.data.base import TableModel, batch_put_items, registered_models
from shared.data.pagination import decode_cursor, encode_cursor
from shared.domain.pages import check_limit


class CopyPage(NamedTuple):
    read: int  # items read from the earlier table
    written: int  # items put into this version's table (0 in a dry run)
    cursor: str | None  # where the next page starts; None: the table is done
    missing: bool = False  # the earlier stack had no such table
    left: tuple[str, ...] = ()  # ids of the targets not copied: no cases of this version


def table_suffixes() -> list[str]:
    """This version's tables, by suffix, in the order they are copied."""
    return sorted(_models())


def copy_page(
    suffix: str, source_prefix: str, cursor: str | None, *, apply: bool, limit: int = 100
) -> CopyPage:
    """Copy one page of `{source_prefix}-{suffix}` into this version's table of that suffix from
    `cursor`; with `apply` False, read only."""
    check_limit(limit)
    model = _models()[suffix]
    tag = f"copy:{source_prefix}:{suffix}"
    request: dict[str, Any] = {
        "TableName": f"{source_prefix}-{suffix}",
        "Limit": limit,
        "ConsistentRead": True,
    }
    start = decode_cursor(tag, cursor)
    if start is not None:
        request["ExclusiveStartKey"] = start
    try:
        # The botocore client itself: PynamoDB's scan knows only the tables of its models.
        client: Any = model._get_connection().connection.client
        data = client.scan(**request)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return CopyPage(0, 0, None, missing=True)
        raise
    items: list[dict[str, Any]] = data.get("Items", [])
    read, left = len(items), ()
    if suffix == counters.CounterRecord.Meta.suffix:
        items = [counters.from_hash_only(item) for item in items]
    elif suffix == targets.TargetRecord.Meta.suffix:
        left = tuple(item["id"]["S"] for item in items if targets.case_of_item(item) is None)
        items = [item for item in items if item["id"]["S"] not in left]
    if apply and items:
        batch_put_items(model, items)
    next_cursor = encode_cursor(tag, data.get("LastEvaluatedKey"))
    return CopyPage(read, len(items) if apply else 0, next_cursor, left=left)


def _models() -> dict[str, type[TableModel]]:
    return {model.Meta.suffix: model for model in registered_models()}  # type: ignore[attr-defined]
