"""Counters table: one item per scope (hash `scope`, e.g. "campaign#<id>", "global"), one top-level
number attribute per counter name.

DynamoDB's ADD is atomic and works only on top-level attributes, so counters are never nested in a map.
Keeping a scope's counters in one item means `increment_many` is a single UpdateItem, atomic across
names (a target moving pending -> scheduled is -1 and +1 in the same write, so per-state counts always
sum to the total), and `read` is a single GetItem. The item's write rate is bounded by DynamoDB's
per-item limit (~1,000 writes/s): far above one campaign's pace.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.constants import UPDATED_NEW
from pynamodb.expressions.operand import Path, Value
from pynamodb.expressions.update import Action

from shared.data.base import TableModel

GLOBAL = "global"
_PREFIX = "c:"  # keeps counter names apart from the key attribute


class CounterRecord(TableModel):
    class Meta:
        suffix = "counters"

    scope = UnicodeAttribute(hash_key=True)


def campaign_scope(campaign_id: str) -> str:
    """The scope of one campaign's counters."""
    return f"campaign#{campaign_id}"


def campaign_day_scope(campaign_id: str, day: date) -> str:
    """The scope of one campaign's counters of one day (the customer's local day)."""
    return f"campaign#{campaign_id}#day#{day.isoformat()}"


def increment(scope: str, name: str, by: int = 1) -> int:
    """Atomically add `by` (may be negative) to one counter; returns its new value."""
    return increment_many(scope, {name: by})[name]


def increment_many(scope: str, deltas: Mapping[str, int]) -> dict[str, int]:
    """Atomically apply several deltas to one scope in a single UpdateItem; returns the new values.

    Zero deltas are skipped; an empty mapping sends nothing.
    """
    actions: list[Action] = []
    for name, delta in deltas.items():
        if not name:
            raise ValueError("counter names must not be empty")
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise TypeError(f"counter delta for {name!r} must be an int")
        if delta:
            actions.append(Path([_PREFIX + name]).add(Value({"N": str(delta)})))
    if not actions:
        return {}
    data = CounterRecord._get_connection().update_item(scope, actions=actions, return_values=UPDATED_NEW)
    return _counters(data.get("Attributes", {}))


def read(scope: str) -> dict[str, int]:
    """Every counter of a scope (empty when nothing was counted yet); one strongly consistent GetItem."""
    data = CounterRecord._get_connection().get_item(scope, consistent_read=True)
    return _counters(data.get("Item", {}))


def _counters(attributes: Mapping[str, Any]) -> dict[str, int]:
    return {
        name[len(_PREFIX) :]: int(value["N"])
        for name, value in attributes.items()
        if name.startswith(_PREFIX) and "N" in value
    }
