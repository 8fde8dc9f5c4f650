"""Promises table: hash `id`.

GSIs, projecting keys only: a promise is rewritten by every check of its monitor and by its
settlement, and an index projecting its attributes would be rewritten each time with it; one holding
keys only is written when its key moves. A query reads the keys, then the promises by id (one
eventually consistent BatchGet, as stale as the index itself; nothing when the index has none), and
filters those:
- `by_document`: document + `doc_key` = f"{status}#{due_at}" — "pending promises of this document due
  from now on" is one range query (`active_for_document`).
- `by_status`: status + due_at, ascending (the monitor and the API's status filter).
- `by_created`: constant `kind` + created_at, the API's unfiltered newest-first listing (a few
  thousand promises a month: one partition is plenty).

`due_at` is immutable (a renegotiation is a new promise with `replaces_id`), so a transition rebuilds
`doc_key` from the promise its caller read, without reading it again; the write itself stays
conditional on the status.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from pynamodb.attributes import ListAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from shared.core import clock
from shared.data.attributes import DecimalAttribute, IsoDateAttribute, IsoDateTimeAttribute, iso_utc
from shared.data.base import (
    TableModel,
    TransitionConflict,
    is_condition_failure,
    record_kwargs,
    set_actions,
    to_domain,
    validate_changes,
)
from shared.data.pagination import query_page
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import Promise, PromiseStatus
from shared.domain.pages import Page, check_limit

_KIND = "promise"
_KEY_END = "~"  # sorts after every character of an ISO timestamp
_IMMUTABLE = (
    "id", "document", "amount", "open_amount", "invoice_numbers", "due_date", "due_at", "timezone",
    "created_at", "updated_at",
)  # fmt: skip


class _ByDocument(GlobalSecondaryIndex["PromiseRecord"]):
    class Meta:
        index_name = "by_document"
        projection = KeysOnlyProjection()

    document = UnicodeAttribute(hash_key=True)
    doc_key = UnicodeAttribute(range_key=True)


class _ByStatus(GlobalSecondaryIndex["PromiseRecord"]):
    class Meta:
        index_name = "by_status"
        projection = KeysOnlyProjection()

    status = UnicodeAttribute(hash_key=True)
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
    doc_key = UnicodeAttribute()

    by_document = _ByDocument()
    by_status = _ByStatus()
    by_created = _ByCreated()


def create(promise: Promise) -> Promise:
    """Store a new promise; `Conflict` if the id is taken."""
    record = PromiseRecord(**record_kwargs(promise), doc_key=_doc_key(promise.status, promise.due_at))
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
    return _write(promise.id, values, {"doc_key": _doc_key(to_status, promise.due_at)}, condition)


def update(promise_id: str, **changes: Any) -> Promise:
    """Change descriptive fields (notes, payment method, next check...); `NotFound` if missing."""
    values = validate_changes(Promise, changes, forbidden=(*_IMMUTABLE, "status"))
    if not values:
        return get(promise_id)
    return _write(promise_id, values, {}, PromiseRecord.id.exists())


def active_for_document(document: str, now: datetime) -> list[Promise]:
    """Pending promises of the document whose `due_at` >= `now`, soonest first."""
    pending = PromiseStatus.PENDING.value
    condition = PromiseRecord.doc_key.between(f"{pending}#{iso_utc(now)}", f"{pending}#{_KEY_END}")
    return [_to_promise(record) for record in _fetch(PromiseRecord.by_document.query(document, condition))]


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
    results = PromiseRecord.by_status.query(PromiseStatus.PENDING.value, condition, limit=limit)
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
    """Promises by status (due date ascending), by document (by status, then due date), both, or
    neither (newest first)."""
    status = PromiseStatus(status) if status is not None else None
    tag = f"promises:{status}:{document}"
    common: dict[str, Any] = {
        "query_tag": tag,
        "limit": limit,
        "cursor": cursor,
        "convert": _to_promise,
        "resolve": _fetch,
    }
    if document is not None:
        condition = PromiseRecord.doc_key.startswith(f"{status.value}#") if status is not None else None
        return query_page(PromiseRecord.by_document.query, document, range_key_condition=condition, **common)
    if status is not None:
        return query_page(PromiseRecord.by_status.query, status.value, **common)
    return query_page(PromiseRecord.by_created.query, _KIND, scan_index_forward=False, **common)


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


def _doc_key(status: PromiseStatus, due_at: datetime) -> str:
    return f"{PromiseStatus(status).value}#{iso_utc(due_at)}"


def _to_promise(record: PromiseRecord) -> Promise:
    return to_domain(Promise, record)
