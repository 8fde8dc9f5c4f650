"""Dedupe table: hash `key`, TTL `expires_at`. At-most-once claims for things delivered at least once
(Evolution retries a webhook up to 10 times; SQS redelivers)."""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError

from shared.core import clock
from shared.data.base import TableModel, is_condition_failure


class DedupeRecord(TableModel):
    class Meta:
        suffix = "dedupe"

    key = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()


def claim(key: str, ttl_seconds: int) -> bool:
    """True the first time `key` is claimed within `ttl_seconds`; False for every repeat.

    DynamoDB deletes expired items up to days late, so an expired claim is treated as free here.
    """
    if ttl_seconds < 1:
        raise ValueError("ttl_seconds must be positive")
    now = clock.now()
    record = DedupeRecord(key, expires_at=now + timedelta(seconds=ttl_seconds))
    free = DedupeRecord.key.does_not_exist() | (DedupeRecord.expires_at < now)
    try:
        record.save(condition=free)
    except PutError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True
