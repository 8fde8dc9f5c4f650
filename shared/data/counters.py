"""Counters table: hash `scope`, range `part`; one top-level number attribute per counter name.

DynamoDB's ADD is atomic and works only on top-level attributes, so counters are never nested in a map.
A scope is a string (`GLOBAL`, "desk", a campaign's `campaign_scope`, one local day of a campaign,
`campaign_day_scope`), stored as:
- most scopes: one item, part `WHOLE`; `read` is one GetItem;
- a campaign: the items of its partition `campaign#<id>` — one per local day its cases were counted
  on (part `day#<date>`), plus part `WHOLE` — and its totals are the sum of its items' `c:` counters;
  a day's own counters (`campaign_day_scope`, the series) are that day item's `d:` counters.

Why the campaign's totals are split over its days: almost every counted event of a case touches both
its campaign's totals (a state moved, an outreach, a response, a promise) and its day (the series), and
inside `batched()` both land in the one day item, one UpdateItem per event instead of two. Reading the
totals is then one strongly consistent Query of the campaign's partition, billed by the items' total
size (a day item holds ~30 counters, ~0.6 KB): 1 RCU for about the first six active days, one more per
six days after — against the single GetItem a one-item campaign took. Totals written without a day in
the same block (an import, a sweep's transitions) go to part `WHOLE`.

Keeping a scope's counters in one item means `increment_many` is a single UpdateItem, atomic across
names (a target moving pending -> scheduled is -1 and +1 in the same write, so per-state counts always
sum to the total). An item's write rate is bounded by DynamoDB's per-item limit (~1,000 writes/s):
far above one campaign's pace.

A job touches the same few scopes many times (a transition's state counters, the day's outreach, a
milestone...): inside `batched()` the increments are summed per scope and written when the block
ends, one UpdateItem per item instead of one per increment. The engine's job entry points run
batched. A `read` inside the block first writes the block's pending deltas of that scope, so it sees
them.

The table's other item types (`ratelimit`'s pacing pointers, `channel_health`'s breakers) use part
`WHOLE`; they hold no `c:`/`d:` attributes, so counter reads never see them.

A table's key schema cannot change in place: a deployed counters table (hash key only) is replaced
by this one (a stack upgraded to a new table prefix, README's "Upgrading a deployed stack") and its
items copied (`from_hash_only`), each with part `WHOLE` (a campaign's old item then holds its
totals) except the old day items `campaign#<id>#day#<date>`, which become part `day#<date>` of
`campaign#<id>` with their names' `c:` turned `d:`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any, NamedTuple

from pynamodb.attributes import UnicodeAttribute
from pynamodb.expressions.operand import Path, Value
from pynamodb.expressions.update import Action

from shared.data.base import TableModel

GLOBAL = "global"
WHOLE = "-"  # the part of a scope kept in one item
_TOTAL = "c:"  # a scope's counters (a campaign's totals: summed over its items)
_DAY = "d:"  # a campaign day's own counters
_CAMPAIGN = "campaign#"
_DAY_PART = "day#"
_batch: ContextVar[dict[str, Counter[str]] | None] = ContextVar("counter_batch", default=None)


class CounterRecord(TableModel):
    class Meta:
        suffix = "counters"

    scope = UnicodeAttribute(hash_key=True)
    part = UnicodeAttribute(range_key=True)


def campaign_scope(campaign_id: str) -> str:
    """The scope of one campaign's counters."""
    return f"{_CAMPAIGN}{campaign_id}"


def campaign_day_scope(campaign_id: str, day: date) -> str:
    """The scope of one campaign's counters of one day (the customer's local day)."""
    return f"{campaign_scope(campaign_id)}#{_DAY_PART}{day.isoformat()}"


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
        _write({scope: Counter(deltas)})
    else:
        pending.setdefault(scope, Counter()).update(deltas)


@contextmanager
def batched() -> Iterator[None]:
    """Sum the increments made inside the block per scope and write them when it ends (one UpdateItem
    per item: a campaign's totals ride with a day of it counted in the block), also when it raises:
    what was done is counted. Nested blocks join the outermost."""
    if _batch.get() is not None:
        yield
        return
    token = _batch.set({})
    try:
        yield
    finally:
        pending = _batch.get() or {}
        _batch.reset(token)
        _write(pending)


def read(scope: str) -> dict[str, int]:
    """Every counter of a scope (empty when nothing was counted yet), strongly consistent: one GetItem,
    or for a campaign's totals one Query of its items (inside `batched()`, after writing the block's
    pending deltas of the scope's items)."""
    key = _Key.of(scope)
    _flush_pending(key.hash)
    connection = CounterRecord._get_connection()
    if key.part is None:
        totals: Counter[str] = Counter()
        for page in _pages(connection, key.hash):
            for item in page:
                totals.update(_counters(item, _TOTAL))
        return dict(totals)
    data = connection.get_item(key.hash, range_key=key.part, consistent_read=True)
    return _counters(data.get("Item", {}), key.prefix)


def read_days(campaign_id: str, start: date, end: date) -> dict[date, dict[str, int]]:
    """The day counters (`campaign_day_scope`) of a campaign's days from `start` to `end` inclusive,
    by day (a day nothing was counted on is absent): one strongly consistent Query of those days."""
    campaign = campaign_scope(campaign_id)
    _flush_pending(campaign)
    condition = CounterRecord.part.between(_DAY_PART + start.isoformat(), _DAY_PART + end.isoformat())
    days: dict[date, dict[str, int]] = {}
    for page in _pages(CounterRecord._get_connection(), campaign, condition):
        for item in page:
            days[date.fromisoformat(item["part"]["S"].removeprefix(_DAY_PART))] = _counters(item, _DAY)
    return days


def from_hash_only(item: dict[str, Any]) -> dict[str, Any]:
    """An item of an earlier version's counters table (hash key only, DynamoDB JSON) as this table
    stores it (see the module docstring); an item that has its part already is returned as it is."""
    if "part" in item:
        return item
    key = _Key.of(item["scope"]["S"])
    renamed = {
        key.prefix + name.removeprefix(_TOTAL) if name.startswith(_TOTAL) else name: value
        for name, value in item.items()
        if name != "scope"
    }
    return {**renamed, "scope": {"S": key.hash}, "part": {"S": key.part or WHOLE}}


class _Key(NamedTuple):
    """Where a scope is stored: its item (`part` None: a campaign's totals, over its items) and the
    prefix of its counters' attribute names."""

    hash: str
    part: str | None
    prefix: str

    @staticmethod
    def of(scope: str) -> _Key:
        if scope.startswith(_CAMPAIGN):
            campaign, separator, day = scope.partition(f"#{_DAY_PART}")
            if separator:
                return _Key(campaign, _DAY_PART + day, _DAY)
            return _Key(scope, None, _TOTAL)
        return _Key(scope, WHOLE, _TOTAL)


def _flush_pending(hash_key: str) -> None:
    """Inside `batched()`: write the block's pending deltas of the items under `hash_key` now."""
    pending = _batch.get()
    if pending is not None:
        _write({scope: pending.pop(scope) for scope in list(pending) if _Key.of(scope).hash == hash_key})


def _write(pending: Mapping[str, Counter[str]]) -> None:
    """One UpdateItem per item: a campaign's totals go with one of its days written here (else to
    its `WHOLE` item)."""
    items: dict[tuple[str, str], Counter[str]] = {}
    totals: dict[str, Counter[str]] = {}
    for scope, deltas in pending.items():
        key = _Key.of(scope)
        named = Counter({key.prefix + name: delta for name, delta in deltas.items() if delta})
        if not named:
            continue
        if key.part is None:
            totals.setdefault(key.hash, Counter()).update(named)
        else:
            items.setdefault((key.hash, key.part), Counter()).update(named)
    for hash_key, named in totals.items():
        part = next((part for scope, part in items if scope == hash_key), WHOLE)
        items.setdefault((hash_key, part), Counter()).update(named)
    for (hash_key, part), named in items.items():
        actions: list[Action] = [
            Path([name]).add(Value({"N": str(delta)})) for name, delta in named.items() if delta
        ]
        if actions:
            CounterRecord._get_connection().update_item(hash_key, range_key=part, actions=actions)


def _pages(connection: Any, hash_key: str, parts: Any = None) -> Iterator[list[dict[str, Any]]]:
    """The items of a partition (a campaign's days), those of `parts` (a range condition) if given,
    page by page, strongly consistent."""
    start: dict[str, Any] | None = None
    while True:
        data = connection.query(hash_key, parts, consistent_read=True, exclusive_start_key=start)
        yield data.get("Items", [])
        start = data.get("LastEvaluatedKey")
        if not start:
            return


def _counters(attributes: Mapping[str, Any], prefix: str) -> dict[str, int]:
    return {
        name[len(prefix) :]: int(value["N"])
        for name, value in attributes.items()
        if name.startswith(prefix) and "N" in value
    }
