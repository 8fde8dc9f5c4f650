"""Contact log: the store behind the frequency cap (SPEC §4: at most N outreaches per document per
local day, and per rolling 7 days).

Hash `document`, range `entry`, two item types:
- `day#<YYYY-MM-DD>` (local day): `used`, the number of the day's reserved contacts — the slot
  counter — and `contacts`, a string set of the day's contacts (`<UTC ISO>#<channel>#<target_id>`);
- `claim`: the customer said they paid and the CRM does not show it yet; `at` is the end of the quiet
  period (no contact before it, in any campaign, whatever case of the document — see `quiet_until`).
`reserve_contact` claims a slot and records the contact in one conditional UpdateItem of the day's
item (`used` below the cap, the contact not there yet): DynamoDB applies the writes of one item one
after another, so two workers cannot both take the last slot of the day, and a contact costs one
small write. Every item carries a TTL (`expires_at`) a little past its use: the 7-day window, or the
end of a claim's quiet period. `history` reads a customer's whole partition (a claim and about a
week of day items, a few hundred bytes) in one Query.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from shared.data.attributes import IsoDateTimeAttribute, iso_utc, parse_iso_utc
from shared.data.base import TableModel, update_if
from shared.domain.models import Channel

RETENTION = timedelta(days=8)
_DAY = "day#"
_CLAIM = "claim"


class ContactLogRecord(TableModel):
    class Meta:
        suffix = "contact_log"

    document = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    used = NumberAttribute(null=True)  # day items: contacts reserved that day
    contacts = UnicodeSetAttribute(null=True)  # day items: the day's contacts (see the module docstring)
    at = IsoDateTimeAttribute(null=True)  # the claim: the end of its quiet period
    expires_at = TTLAttribute(null=True)


class History(NamedTuple):
    """What the contact log knows of a customer: contacts since a moment, oldest first, and the end of
    a payment claim's quiet period (None: no claim recorded, or its record expired)."""

    contacts: list[datetime]
    quiet_until: datetime | None


def history(document: str, since: datetime, *, consistent: bool = True) -> History:
    """The document's contacts at or after `since` and its payment claim's quiet period (one Query,
    strongly consistent unless `consistent=False`: half the units, possibly a moment stale)."""
    results = ContactLogRecord.query(
        document, consistent_read=consistent, attributes_to_get=["entry", "at", "contacts"]
    )
    contacts: list[datetime] = []
    quiet_until = None
    for record in results:
        if record.entry == _CLAIM:
            quiet_until = record.at
        elif record.entry.startswith(_DAY):
            contacts.extend(at for at in map(_contact_at, record.contacts or ()) if at >= since)
    return History(sorted(contacts), quiet_until)


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
    target_id: str,
) -> bool:
    """Atomically take one of the `max_per_day` contact slots of `local_day` and log the contact.

    False (and nothing written) when the day's slots are gone, or this contact (moment and target) is
    already logged. The weekly cap is the caller's check (`contacts_since`) before reserving.
    """
    if max_per_day < 1:
        raise ValueError("max_per_day must be at least 1")
    entry = _contact(at, channel, target_id)
    slot_free = ContactLogRecord.used.does_not_exist() | (ContactLogRecord.used < max_per_day)
    actions = [
        ContactLogRecord.used.add(1),
        ContactLogRecord.contacts.add({entry}),
        ContactLogRecord.expires_at.set(at + RETENTION),
    ]
    return _update_day(document, local_day, actions, slot_free & ~ContactLogRecord.contacts.contains(entry))


def release_contact(document: str, at: datetime, local_day: date, channel: Channel, target_id: str) -> None:
    """Give back a slot reserved by `reserve_contact` when the contact did not happen after all
    (e.g. the CRM then said the debt was paid). Releasing twice is a no-op."""
    entry = _contact(at, channel, target_id)
    actions = [ContactLogRecord.used.add(-1), ContactLogRecord.contacts.delete({entry})]
    _update_day(document, local_day, actions, ContactLogRecord.contacts.contains(entry))


def _update_day(document: str, local_day: date, actions: Sequence[Action], condition: Condition) -> bool:
    return update_if(
        ContactLogRecord, document, f"{_DAY}{local_day.isoformat()}", actions=actions, condition=condition
    )


def _contact(at: datetime, channel: Channel, target_id: str) -> str:
    return f"{iso_utc(at)}#{Channel(channel).value}#{target_id}"


def _contact_at(contact: str) -> datetime:
    return parse_iso_utc(contact.split("#", 1)[0])
