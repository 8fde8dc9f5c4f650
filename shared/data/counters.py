"""Counters table: one item per scope (hash `scope`, e.g. "campaign#<id>", "global"), one top-level
number attribute per counter name.

DynamoDB's ADD is atomic and works only on top-level attributes, so counters are never nested in a map.
Keeping a scope's counters in one item means `increment_many` is a single UpdateItem, atomic across
names (a target moving pending -> scheduled is -1 and +1 in the same write, so per-state counts always
sum to the total), and `read` is a single GetItem. The item's write rate is bounded by DynamoDB's
per-item limit (~1,000 writes/s): far above one campaign's pace.

A job touches the same few scopes many times (a transition's state counters, the day's outreach, a
milestone...): inside `batched()` the increments are summed per scope and written when the block
ends, one UpdateItem per scope instead of one per increment. The engine's job entry points run
batched. A `read` inside the block first writes the block's pending deltas of that scope, so it sees
them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.expressions.operand import Path, Value
from pynamodb.expressions.update import Action

from shared.data.base import TableModel

GLOBAL = "global"
_PREFIX = "c:"  # keeps counter names apart from the key attribute
_batch: ContextVar[dict[str, Counter[str]] | None] = ContextVar("counter_batch", default=None)


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


def increment(scope: str, name: str, by: int = 1) -> None:
    """Atomically add `by` (may be negative) to one counter."""
    increment_many(scope, {name: by})


def increment_many(scope: str, deltas: Mapping[str, int]) -> None:
    """Atomically apply several deltas to one scope in a single UpdateItem (inside `batched()`: when
    the block ends, with the block's other deltas of the scope). Zero deltas are skipped; an empty
    mapping sends nothing."""
    for name, delta in deltas.items():
        if not name:
            raise ValueError("counter names must not be empty")
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise TypeError(f"counter delta for {name!r} must be an int")
    pending = _batch.get()
    if pending is None:
        _write(scope, deltas)
    else:
        pending.setdefault(scope, Counter()).update(deltas)


@contextmanager
def batched() -> Iterator[None]:
    """Sum the increments made inside the block per scope and write them when it ends (one UpdateItem
    per scope), also when it raises: what was done is counted. Nested blocks join the outermost."""
    if _batch.get() is not None:
        yield
        return
    token = _batch.set({})
    try:
        yield
    finally:
        pending = _batch.get() or {}
        _batch.reset(token)
        for scope, deltas in pending.items():
            _write(scope, deltas)


def _write(scope: str, deltas: Mapping[str, int]) -> None:
    actions: list[Action] = [
        Path([_PREFIX + name]).add(Value({"N": str(delta)})) for name, delta in deltas.items() if delta
    ]
    if actions:
        CounterRecord._get_connection().update_item(scope, actions=actions)


def read(scope: str) -> dict[str, int]:
    """Every counter of a scope (empty when nothing was counted yet); one strongly consistent GetItem
    (inside `batched()`, after writing the block's pending deltas of the scope)."""
    pending = _batch.get()
    if pending is not None and scope in pending:
        _write(scope, pending.pop(scope))
    data = CounterRecord._get_connection().get_item(scope, consistent_read=True)
    return _counters(data.get("Item", {}))


def _counters(attributes: Mapping[str, Any]) -> dict[str, int]:
    return {
        name[len(_PREFIX) :]: int(value["N"])
        for name, value in attributes.items()
        if name.startswith(_PREFIX) and "N" in value
    }
