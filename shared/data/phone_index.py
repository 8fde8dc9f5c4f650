"""Phone index: which documents have a case carrying a phone. Hash `phone` (E.164, normalized), range
`document` (normalized); one item per pair, whatever the campaign.

The targets module writes it wherever a case takes phones — a case opened (`insert_new`), an import
merging new rows into one (`fold_in`), a supervisor adding a phone (`add_phone`) — with plain,
idempotent puts. Nothing removes an entry (a draft campaign discarded leaves them): a reader checks the
document's cases still carry the phone (`shared.engine.customers.stories_by_phone`), so a stale entry
costs one Query, never a wrong answer. A search by phone is then one Query here and one `by_document`
Query per document found: no scan.
"""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.attributes import UnicodeAttribute

from shared.data.base import TableModel, batch_put


class PhoneDocumentRecord(TableModel):
    class Meta:
        suffix = "phone_index"

    phone = UnicodeAttribute(hash_key=True)
    document = UnicodeAttribute(range_key=True)


def add(pairs: Iterable[tuple[str, str]]) -> None:
    """Record each (phone, document) pair (batched puts; a pair already there is rewritten as is)."""
    unique = dict.fromkeys(pairs)
    batch_put(PhoneDocumentRecord, (PhoneDocumentRecord(phone, document=doc) for phone, doc in unique))


def documents(phone: str) -> list[str]:
    """The documents recorded for an E.164 `phone` (one Query), in document order."""
    return [record.document for record in PhoneDocumentRecord.query(phone)]
