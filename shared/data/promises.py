"""Promises table: hash `id`.

GSIs, projecting keys only: a promise is rewritten by every check of its monitor and by its
settlement, and an index projecting its attributes would be rewritten each time with it; one holding
keys only is written when its key moves. A query reads the keys, then the promises by id (one
eventually consistent BatchGet, as stale as the index itself; nothing when the index has none), and
filters those. No index is keyed on the status, which a settlement changes: a promise enters every
index once, when it is registered, and its settlement only takes it out of the sparse one.
- `by_pending` (sparse): `pending` (a constant, written only while the promise is pending) + due_at,
  ascending: the monitor's missed checks and the listing of pending promises.
- `by_document`: document + due_at — a customer's promises (a handful) by due date; "pending promises
  of this document due from now on" (`active_for_document`) is the range from now, filtered.
- `by_created`: constant `kind` + created_at, the newest-first listing (a few thousand promises a
  month: one partition is plenty); a settled status's listing filters it.

`due_at` and `created_at` are immutable (a renegotiation is a new promise with `replaces_id`), so a
transition writes no index key but `pending`, which leaving `pending` removes; the write itself stays
conditional on the status.

A deployed table moves to these indexes in steps (CloudFormation changes one GSI per update): add
`by_pending`, redeploy `by_document` under its new key (drop, then add), drop `by_status` — or the
whole stack moves to a new table prefix (README's "Upgrading a deployed stack"); promises stored before
carry no `pending` and enter `by_pending` by `restore_pending_keys` (`cobranca upgrade`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from pynamodb.attributes import ListAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from shared.core import clock
from shared.data.attributes import DecimalAttribute, IsoDateAttribute, IsoDateTimeAttribute
from shared.data.base import (
    TableModel,
    TransitionConflict,
    is_condition_failure,
    record_kwargs,
    set_actions,
    to_domain,
    update_if,
    validate_changes,
)
from shared.data.pagination import decode_cursor, encode_cursor, query_page
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import Promise, PromiseStatus
from shared.domain.pages import Page, check_limit

_KIND = "promise"
_PENDING = "pending"
_IMMUTABLE = (
    "id", "document", "amount", "open_amount", "invoice_numbers", "due_date", "due_at", "timezone",
    "created_at", "updated_at",
)  # fmt: skip


class _ByPending(GlobalSecondaryIndex["PromiseRecord"]):
    class Meta:
        index_name = "by_pending"
        projection = KeysOnlyProjection()

    pending = UnicodeAttribute(hash_key=True)
    due_at = IsoDateTimeAttribute(range_key=True)


class _ByDocument(GlobalSecondaryIndex["PromiseRecord"]):
    class Meta:
        index_name = "by_document"
        projection = KeysOnlyProjection()

    document = UnicodeAttribute(hash_key=True)
    due_at = IsoDateTimeAttribute(range_key=True)


class _ByCreated(GlobalSecondaryIndex["PromiseRecord"]):
    class Meta:
        index_name = "by_created"
        projection = KeysOnlyProjection()

    kind = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class PromiseRecord(TableModel):
    class Meta:
        suffix = "promises"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=_KIND)
    document = UnicodeAttribute()
    amount = DecimalAttribute()
    open_amount = DecimalAttribute(null=True)
    invoice_numbers = ListAttribute(of=UnicodeAttribute, null=True)
    due_date = IsoDateAttribute()
    due_at = IsoDateTimeAttribute()
    timezone = UnicodeAttribute()
    status = UnicodeAttribute()
    payment_method = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    target_id = UnicodeAttribute(null=True)
    campaign_id = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(null=True)
    replaces_id = UnicodeAttribute(null=True)
    next_check_at = IsoDateTimeAttribute(null=True)
    created_at = IsoDateTimeAttribute()
    updated_at = IsoDateTimeAttribute()
    fulfilled_at = IsoDateTimeAttribute(null=True)
    broken_at = IsoDateTimeAttribute(null=True)
    unlock_status = UnicodeAttribute(null=True)
    unlock_until = IsoDateAttribute(null=True)
    unlock_code = UnicodeAttribute(null=True)
    unlock_reason = UnicodeAttribute(null=True)
    pending = UnicodeAttribute(null=True)  # `_PENDING` exactly while the status is pending (sparse key)

    by_pending = _ByPending()
    by_document = _ByDocument()
    by_created = _ByCreated()


def create(promise: Promise) -> Promise:
    """Store a new promise; `Conflict` if the id is taken."""
    record = PromiseRecord(**record_kwargs(promise), pending=_pending_key(promise.status))
    try:
        record.save(condition=PromiseRecord.id.does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict(f"promise {promise.id} already exists") from exc
        raise
    return promise


def get(promise_id: str, *, consistent: bool = True) -> Promise:
    """The promise (strongly consistent read unless `consistent=False`: half the units, possibly a
    moment stale); `NotFound` if there is none."""
    try:
        return _to_promise(PromiseRecord.get(promise_id, consistent_read=consistent))
    except PromiseRecord.DoesNotExist:
        raise NotFound(f"promise {promise_id} not found") from None


def transition(
    promise: Promise,
    from_statuses: Collection[PromiseStatus],
    to_status: PromiseStatus,
    **changes: Any,
) -> Promise:
    """Set the status of `promise` (as its caller read it) to `to_status` only if the stored status is
    one of `from_statuses` (one conditional write, no read).

    `TransitionConflict` (a `Conflict`) if the status is another one, `NotFound` if missing.
    """
    if not from_statuses:
        raise ValueError("from_statuses must not be empty")
    values = validate_changes(Promise, changes, forbidden=(*_IMMUTABLE, "status"))
    to_status = PromiseStatus(to_status)
    values["status"] = to_status
    condition = PromiseRecord.status.is_in(*[PromiseStatus(s).value for s in from_statuses])
    return _write(promise.id, values, {"pending": _pending_key(to_status)}, condition)


def update(promise_id: str, **changes: Any) -> Promise:
    """Change descriptive fields (notes, payment method, next check...); `NotFound` if missing."""
    values = validate_changes(Promise, changes, forbidden=(*_IMMUTABLE, "status"))
    if not values:
        return get(promise_id)
    return _write(promise_id, values, {}, PromiseRecord.id.exists())


def active_for_document(document: str, now: datetime) -> list[Promise]:
    """Pending promises of the document whose `due_at` >= `now`, soonest first."""
    records = _fetch(PromiseRecord.by_document.query(document, PromiseRecord.due_at >= now))
    return [_to_promise(record) for record in records if record.status == PromiseStatus.PENDING.value]


def for_conversation(document: str, conversation_id: str) -> list[Promise]:
    """The promises of `document` registered in one conversation, oldest first."""
    records = _fetch(PromiseRecord.by_document.query(document))
    return sorted(
        (_to_promise(record) for record in records if record.conversation_id == conversation_id),
        key=lambda promise: promise.created_at,
    )


def checks_missed(overdue_before: datetime, limit: int = 100) -> list[Promise]:
    """Pending promises due before `overdue_before` whose next check was due before it too (or is
    not set): their monitor check never came. Oldest due first."""
    check_limit(limit)
    condition = PromiseRecord.due_at < overdue_before
    results = PromiseRecord.by_pending.query(_PENDING, condition, limit=limit)
    return [
        _to_promise(record)
        for record in _fetch(results)
        if record.status == PromiseStatus.PENDING.value
        and (record.next_check_at is None or record.next_check_at < overdue_before)
    ]


def list_page(
    status: PromiseStatus | None = None,
    document: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Promise]:
    """Promises of one document (by due date), pending ones (due date ascending), or all (newest
    first); `status` filters the document's or, for a settled status, all of them."""
    status = PromiseStatus(status) if status is not None else None
    tag = f"promises:{status}:{document}"

    def fetch_kept(keys: list[PromiseRecord]) -> list[PromiseRecord]:
        return [record for record in _fetch(keys) if status is None or record.status == status.value]

    common: dict[str, Any] = {
        "query_tag": tag,
        "limit": limit,
        "cursor": cursor,
        "convert": _to_promise,
        "resolve": fetch_kept,
    }
    if document is not None:
        return query_page(PromiseRecord.by_document.query, document, **common)
    if status is PromiseStatus.PENDING:
        return query_page(PromiseRecord.by_pending.query, _PENDING, **common)
    return query_page(PromiseRecord.by_created.query, _KIND, scan_index_forward=False, **common)


def restore_pending_keys(
    cursor: str | None = None, *, apply: bool, limit: int = 100
) -> tuple[int, int, str | None]:
    """One stretch of a Scan of the whole table from `cursor`, for `cobranca upgrade`: each pending
    promise an earlier version stored without its `pending` key (out of `by_pending`: the monitor's
    missed checks and the pending listing never see it) gets it, by one conditional UpdateItem
    (a no-op once settled or keyed). Returns the items read, the promises keyed (or, with `apply`
    False, to key) and the next stretch's cursor (None at the end)."""
    check_limit(limit)
    unkeyed = (PromiseRecord.status == PromiseStatus.PENDING.value) & PromiseRecord.pending.does_not_exist()
    data = PromiseRecord._get_connection().scan(
        filter_condition=unkeyed,
        exclusive_start_key=decode_cursor("scan:promises", cursor),  # type: ignore[arg-type]  # a map
        limit=limit,
        consistent_read=True,
    )
    keyed = 0
    for item in data.get("Items", []):
        if not apply:
            keyed += 1
            continue
        if update_if(
            PromiseRecord, item["id"]["S"], actions=[PromiseRecord.pending.set(_PENDING)], condition=unkeyed
        ):
            keyed += 1
    return data.get("ScannedCount", 0), keyed, encode_cursor("scan:promises", data.get("LastEvaluatedKey"))


def _write(promise_id: str, values: dict[str, Any], keys: dict[str, Any], condition: Any) -> Promise:
    values["updated_at"] = clock.now()
    record = PromiseRecord(promise_id)
    try:
        record.update(actions=set_actions(PromiseRecord, {**values, **keys}), condition=condition)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        current = get(promise_id)  # raises NotFound when it does not exist
        raise TransitionConflict("promise", promise_id, current.status.value) from exc
    return _to_promise(record)


def _fetch(keys: Iterable[PromiseRecord]) -> list[PromiseRecord]:
    """The whole promises an index query named, in its order (eventually consistent, like the index);
    one deleted meanwhile is left out."""
    ids = list(dict.fromkeys(record.id for record in keys))
    found = {record.id: record for record in PromiseRecord.batch_get(ids)} if ids else {}
    return [found[promise_id] for promise_id in ids if promise_id in found]


def _pending_key(status: PromiseStatus) -> str | None:
    return _PENDING if PromiseStatus(status) is PromiseStatus.PENDING else None


def _to_promise(record: PromiseRecord) -> Promise:
    return to_domain(Promise, record)
