"""Contact log: the store behind the frequency cap (SPEC §4: at most N outreaches per document per
local day, and per rolling 7 days).

Hash `document`, range `entry`, three item types:
- `day#<YYYY-MM-DD>` (local day): `used`, the number of the day's reserved contacts — the slot counter;
- `at#<UTC ISO>#<target_id>`: one contact (channel, campaign, target);
- `claim`: the customer said they paid and the CRM does not show it yet; `at` is the end of the quiet
  period (no contact before it, in any campaign, whatever case of the document — see `quiet_until`).
`reserve_contact` claims a slot and records the contact in one transaction, so two workers cannot both
take the last slot of the day. Every item carries a TTL (`expires_at`) a little past its use: the 7-day
window, or the end of a claim's quiet period. `history` reads a customer's contacts and claim in one
Query (`at#…` and `claim` sort next to each other, `day#…` after both).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from shared.data.attributes import IsoDateTimeAttribute, iso_utc, parse_iso_utc
from shared.data.base import TableModel, failed_transaction_items, transaction_connection
from shared.domain.models import Channel

RETENTION = timedelta(days=8)
_DAY = "day#"
_AT = "at#"
_CLAIM = "claim"


class ContactLogRecord(TableModel):
    class Meta:
        suffix = "contact_log"

    document = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    used = NumberAttribute(null=True)  # day items: contacts reserved that day
    at = IsoDateTimeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    campaign_id = UnicodeAttribute(null=True)
    target_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


@dataclass(frozen=True)
class History:
    """What the contact log knows of a customer: contacts since a moment, oldest first, and the end of
    a payment claim's quiet period (None: no claim recorded, or its record expired)."""

    contacts: list[datetime]
    quiet_until: datetime | None


def history(document: str, since: datetime) -> History:
    """The document's contacts at or after `since` and its payment claim's quiet period (one Query)."""
    condition = ContactLogRecord.entry.between(f"{_AT}{iso_utc(since)}", _CLAIM)
    results = ContactLogRecord.query(
        document, condition, consistent_read=True, attributes_to_get=["entry", "at"]
    )
    contacts: list[datetime] = []
    quiet_until = None
    for record in results:
        if record.entry == _CLAIM:
            quiet_until = record.at
        else:
            contacts.append(parse_iso_utc(record.entry[len(_AT) :].split("#", 1)[0]))
    return History(contacts, quiet_until)


def contacts_since(document: str, since: datetime) -> list[datetime]:
    """When the document was contacted at or after `since`, oldest first (one Query)."""
    return history(document, since).contacts


def record_claim(document: str, quiet_until: datetime) -> None:
    """The customer claimed a payment the CRM does not show yet: nobody contacts the document before
    `quiet_until` (a later claim replaces an earlier one)."""
    ContactLogRecord(document, _CLAIM, at=quiet_until, expires_at=quiet_until + RETENTION).save()


def reserve_contact(
    document: str,
    at: datetime,
    local_day: date,
    max_per_day: int,
    channel: Channel,
    campaign_id: str | None,
    target_id: str,
) -> bool:
    """Atomically take one of the `max_per_day` contact slots of `local_day` and log the contact.

    False (and nothing written) when the day's slots are gone. The weekly cap is the caller's check
    (`contacts_since`) before reserving.
    """
    if max_per_day < 1:
        raise ValueError("max_per_day must be at least 1")
    expires = at + RETENTION
    day = ContactLogRecord(document, f"{_DAY}{local_day.isoformat()}")
    entry = ContactLogRecord(
        document,
        _entry_key(at, target_id),
        at=at,
        channel=Channel(channel).value,
        campaign_id=campaign_id,
        target_id=target_id,
        expires_at=expires,
    )
    slot_free = ContactLogRecord.used.does_not_exist() | (ContactLogRecord.used < max_per_day)
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.update(
                day,
                actions=[ContactLogRecord.used.add(1), ContactLogRecord.expires_at.set(expires)],
                condition=slot_free,
            )
            transaction.save(entry, condition=ContactLogRecord.entry.does_not_exist())
    except TransactWriteError as exc:
        if failed_transaction_items(exc):
            return False
        raise
    return True


def release_contact(document: str, at: datetime, local_day: date, target_id: str) -> None:
    """Give back a slot reserved by `reserve_contact` when the contact did not happen after all
    (e.g. the CRM then said the debt was paid). Releasing twice is a no-op."""
    day = ContactLogRecord(document, f"{_DAY}{local_day.isoformat()}")
    entry = ContactLogRecord(document, _entry_key(at, target_id))
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.delete(entry, condition=ContactLogRecord.entry.exists())
            transaction.update(
                day, actions=[ContactLogRecord.used.add(-1)], condition=ContactLogRecord.used > 0
            )
    except TransactWriteError as exc:
        if not failed_transaction_items(exc):
            raise


def _entry_key(at: datetime, target_id: str) -> str:
    return f"{_AT}{iso_utc(at)}#{target_id}"
