"""Opt-outs table: hash `key` = "phone#<E.164>" or "document#<normalized>"; permanent, never expire.

GSI `by_created` (constant `kind`, created_at) lists them newest first without a scan.

The table also keeps the wrong numbers (`wrong#<document>#<E.164>`, kind `wrong_number`): a phone whose
holder said they are not that customer, never contacted again for that document. Their own kind keeps
them out of the opt-out list. Callers pass
already-normalized values (`shared.domain.phones` / `shared.domain.documents`); matching a phone that lost its ninth
digit is the caller's job (check both forms).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from shared.core import clock
from shared.data.attributes import IsoDateTimeAttribute
from shared.data.base import TableModel, is_condition_failure, to_domain
from shared.data.pagination import query_page
from shared.domain.models import OptOut
from shared.domain.pages import Page

_KIND = "optout"
_WRONG_KIND = "wrong_number"


class _ByCreated(GlobalSecondaryIndex["OptOutRecord"]):
    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class OptOutRecord(TableModel):
    class Meta:
        suffix = "optouts"

    key = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=_KIND)
    value = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    created_at = IsoDateTimeAttribute()

    by_created = _ByCreated()


def phone_key(phone: str) -> str:
    """The opt-out key of an E.164 phone."""
    return f"phone#{phone}"


def document_key(document: str) -> str:
    """The opt-out key of a normalized CPF/CNPJ."""
    return f"document#{document}"


def add(
    *, phone: str | None = None, document: str | None = None, reason: str | None = None, source: str
) -> list[OptOut]:
    """Opt out a phone and/or a document. Idempotent: an existing opt-out is kept as first recorded
    (its date and reason) and returned as is."""
    keys = [(phone_key(phone), phone)] if phone else []
    keys += [(document_key(document), document)] if document else []
    if not keys:
        raise ValueError("an opt-out needs a phone or a document")
    now = clock.now()
    stored = []
    for key, value in keys:
        record = OptOutRecord(key, value=value, reason=reason, source=source, created_at=now)
        try:
            record.save(condition=OptOutRecord.key.does_not_exist())
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            record = OptOutRecord.get(key, consistent_read=True)
        stored.append(to_domain(OptOut, record))
    return stored


def is_opted_out(phone: str | None = None, document: str | None = None, *, consistent: bool = True) -> bool:
    """True if the phone or the document opted out (one BatchGet, strongly consistent unless
    `consistent=False`: half the units, possibly a moment stale)."""
    keys = ([phone_key(phone)] if phone else []) + ([document_key(document)] if document else [])
    if not keys:
        return False
    found = OptOutRecord.batch_get(keys, consistent_read=consistent, attributes_to_get=["key"])
    return any(True for _ in found)


def find(phones: Sequence[str] = (), document: str | None = None) -> list[OptOut]:
    """The opt-outs of any of `phones` and of `document` (one strongly consistent BatchGet)."""
    keys = [phone_key(phone) for phone in phones]
    keys += [document_key(document)] if document else []
    return sorted(by_key(keys).values(), key=lambda optout: optout.created_at)


def by_key(keys: Iterable[str]) -> dict[str, OptOut]:
    """The opt-outs recorded under `keys` (`phone_key`, `document_key`), by key: one strongly
    consistent BatchGet (of 100 keys at most each: PynamoDB splits a longer list)."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    return {
        record.key: to_domain(OptOut, record)
        for record in OptOutRecord.batch_get(unique, consistent_read=True)
    }


def list_page(limit: int = 50, cursor: str | None = None) -> Page[OptOut]:
    """Every opt-out, newest first."""
    return query_page(
        OptOutRecord.by_created.query,
        _KIND,
        query_tag="optouts",
        limit=limit,
        cursor=cursor,
        convert=lambda record: to_domain(OptOut, record),
        scan_index_forward=False,
    )


def wrong_number_key(document: str, phone: str) -> str:
    """The key of a phone reported as a wrong number for a document."""
    return f"wrong#{document}#{phone}"


def add_wrong_number(*, document: str, phone: str, reason: str | None, source: str) -> None:
    """Record that `phone` is not `document`'s (idempotent: the first report is kept)."""
    record = OptOutRecord(
        wrong_number_key(document, phone),
        kind=_WRONG_KIND,
        value=phone,
        reason=reason,
        source=source,
        created_at=clock.now(),
    )
    try:
        record.save(condition=OptOutRecord.key.does_not_exist())
    except PutError as exc:
        if not is_condition_failure(exc):
            raise


def wrong_numbers(document: str, phones: Iterable[str], *, consistent: bool = True) -> frozenset[str]:
    """Which of `phones` were reported as wrong numbers for `document` (one BatchGet, strongly
    consistent unless `consistent=False`: half the units, possibly a moment stale)."""
    keys = {wrong_number_key(document, phone): phone for phone in phones}
    if not keys:
        return frozenset()
    found = OptOutRecord.batch_get(list(keys), consistent_read=consistent, attributes_to_get=["key"])
    return frozenset(keys[record.key] for record in found)
