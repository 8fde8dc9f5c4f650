"""Access log (LGPD): who looked up which customer, and when. Hash `day` (UTC `YYYY-MM-DD`), range
`entry` = f"{at}#{id}", so a day's lookups are one Query in time order. The document is stored
masked: the log proves an access without becoming one more copy of the customer's data."""

from __future__ import annotations

from datetime import date

from pynamodb.attributes import UnicodeAttribute

from shared.data.attributes import IsoDateTimeAttribute, iso_utc
from shared.data.base import TableModel, to_domain
from shared.domain.models import AccessLogEntry


class AccessLogRecord(TableModel):
    class Meta:
        suffix = "access_log"

    day = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    id = UnicodeAttribute()
    subject = UnicodeAttribute()
    role = UnicodeAttribute()
    action = UnicodeAttribute()
    document = UnicodeAttribute()  # masked
    at = IsoDateTimeAttribute()


def record(entry: AccessLogEntry) -> AccessLogEntry:
    """Store one access (a plain put: each entry has its own id)."""
    AccessLogRecord(
        entry.at.date().isoformat(),
        f"{iso_utc(entry.at)}#{entry.id}",
        id=entry.id,
        subject=entry.subject,
        role=entry.role,
        action=entry.action,
        document=entry.document,
        at=entry.at,
    ).save()
    return entry


def of_day(day: date) -> list[AccessLogEntry]:
    """The accesses of one UTC day, in time order."""
    return [to_domain(AccessLogEntry, r) for r in AccessLogRecord.query(day.isoformat())]
