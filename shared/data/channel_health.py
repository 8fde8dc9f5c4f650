"""The WhatsApp breaker of each Evolution instance: one item `scope = "breaker#<instance>"` (part
`counters.WHOLE`) in the counters table (a third item type there; counter reads only see `c:` attributes).

Opening and closing are conditional writes, so of many workers noticing the same block at once exactly one
opens the breaker (and fires the alarm). Refusals (WhatsApp's 463) are appended atomically as epoch
milliseconds and forgotten when the breaker closes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.constants import UPDATED_NEW
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from shared.data.attributes import IsoDateTimeAttribute
from shared.data.base import TableModel, is_condition_failure
from shared.data.counters import WHOLE
from shared.domain.channel_health import BreakReason, ChannelHealth

_PREFIX = "breaker#"
_KEEP_REFUSALS = 20  # beyond this many, the oldest are dropped (only the recent ones ever count)


class BreakerRecord(TableModel):
    class Meta:
        suffix = "counters"
        shares_table = True

    scope = UnicodeAttribute(hash_key=True)
    part = UnicodeAttribute(range_key=True, default=WHOLE)
    blocked = BooleanAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    since = IsoDateTimeAttribute(null=True)
    refusals = ListAttribute(of=NumberAttribute, null=True)


def read(instance: str) -> ChannelHealth:
    """The instance's breaker (closed when never written); one eventually consistent GetItem: read
    before every send, and a breaker tripped a moment ago lets at most a send or two through, which
    the failing channel refuses anyway."""
    try:
        record = BreakerRecord.get(_PREFIX + instance, WHOLE)
    except BreakerRecord.DoesNotExist:
        return ChannelHealth(instance)
    return ChannelHealth(
        instance,
        blocked=bool(record.blocked),
        reason=BreakReason(record.reason) if record.blocked and record.reason else None,
        since=record.since if record.blocked else None,
    )


def open_breaker(instance: str, reason: BreakReason, at: datetime) -> bool:
    """Open the breaker unless it is open already; True when this call opened it."""
    condition = BreakerRecord.blocked.does_not_exist() | (BreakerRecord.blocked == False)  # noqa: E712
    actions: list[Action] = [
        BreakerRecord.blocked.set(True),
        BreakerRecord.reason.set(reason.value),
        BreakerRecord.since.set(at),
    ]
    return _update(instance, actions, condition)


def close_breaker(instance: str) -> bool:
    """Close the breaker (its refusals forgotten) if it is open; True when this call closed it."""
    actions: list[Action] = [
        BreakerRecord.blocked.set(False),
        BreakerRecord.reason.remove(),
        BreakerRecord.since.remove(),
        BreakerRecord.refusals.remove(),
    ]
    return _update(instance, actions, BreakerRecord.blocked == True)  # noqa: E712


def add_refusal(instance: str, at: datetime) -> list[datetime]:
    """Append one refusal; returns every refusal on record (newest last)."""
    action = BreakerRecord.refusals.set((BreakerRecord.refusals | []).append([int(at.timestamp() * 1000)]))
    data = BreakerRecord._get_connection().update_item(
        _PREFIX + instance, WHOLE, actions=[action], return_values=UPDATED_NEW
    )
    stored = [int(item["N"]) for item in data["Attributes"]["refusals"]["L"]]
    if len(stored) > _KEEP_REFUSALS:
        BreakerRecord._get_connection().update_item(
            _PREFIX + instance,
            WHOLE,
            actions=[BreakerRecord.refusals.set(cast(Any, stored[-_KEEP_REFUSALS:]))],
        )
    return [datetime.fromtimestamp(ms / 1000, tz=UTC) for ms in stored]


def _update(instance: str, actions: list[Action], condition: Condition) -> bool:
    try:
        BreakerRecord._get_connection().update_item(
            _PREFIX + instance, WHOLE, actions=actions, condition=condition
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True
