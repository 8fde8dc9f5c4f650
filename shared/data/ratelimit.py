"""Pacing pointers: one item per paced resource, in the counters table (a second item type there).

An item `scope = "pace#<name>"` (part `counters.WHOLE`) holds `next_at_ms`, the earliest instant
(epoch milliseconds) the resource is free again. `shared.engine.ratelimit` moves it forward with conditional writes so that workers
on any number of machines share one rate; the scheduler keeps its dispatch horizon the same way.
Counter reads (`counters.read`) only look at `c:`-prefixed attributes, so these items never show up
in statistics. The value only ever grows: every write below is conditional on that.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.constants import UPDATED_NEW
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from shared.data.base import TableModel, is_condition_failure
from shared.data.counters import WHOLE

_PREFIX = "pace#"


class PaceRecord(TableModel):
    class Meta:
        suffix = "counters"
        shares_table = True

    scope = UnicodeAttribute(hash_key=True)
    part = UnicodeAttribute(range_key=True, default=WHOLE)
    next_at_ms = NumberAttribute(null=True)


def read(name: str) -> int | None:
    """The pointer of `name` (epoch ms), None if it was never set; one strongly consistent GetItem."""
    try:
        record = PaceRecord.get(_PREFIX + name, WHOLE, consistent_read=True, attributes_to_get=["next_at_ms"])
    except PaceRecord.DoesNotExist:
        return None
    return None if record.next_at_ms is None else int(record.next_at_ms)


def set_if_at_most(name: str, value_ms: int, at_most_ms: int) -> bool:
    """Set the pointer to `value_ms` if it is unset or <= `at_most_ms` (one conditional UpdateItem).

    False, and nothing written, when the pointer is already beyond `at_most_ms`.
    """
    condition = PaceRecord.next_at_ms.does_not_exist() | (PaceRecord.next_at_ms <= at_most_ms)
    return _update(name, [PaceRecord.next_at_ms.set(value_ms)], condition) is not None


def add_if_between(name: str, delta_ms: int, above_ms: int, at_most_ms: int) -> int | None:
    """Atomically add `delta_ms` if `above_ms` < pointer <= `at_most_ms`; returns the value the
    pointer had before the addition, or None (nothing written) when it was outside that range."""
    condition = (PaceRecord.next_at_ms > above_ms) & (PaceRecord.next_at_ms <= at_most_ms)
    new = _update(name, [PaceRecord.next_at_ms.add(delta_ms)], condition)
    return None if new is None else new - delta_ms


def move_forward(name: str, value_ms: int) -> bool:
    """Raise the pointer to `value_ms` unless it is already there or beyond; True if it moved."""
    return set_if_at_most(name, value_ms, value_ms - 1)


def _update(name: str, actions: list[Action], condition: Condition) -> int | None:
    try:
        data = PaceRecord._get_connection().update_item(
            _PREFIX + name, WHOLE, actions=actions, condition=condition, return_values=UPDATED_NEW
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return None
        raise
    return int(data["Attributes"]["next_at_ms"]["N"])
