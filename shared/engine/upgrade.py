"""The data migration of a stack upgraded from an earlier version (`cobranca upgrade`, README's
"Upgrading a deployed stack"): what a deploy cannot do, because it is in the items, not the tables.

Cases stored before the agenda index (`targets.by_agenda`) have no `agenda` attribute, so neither the
sweep nor upkeep ever looks at them again; cases stored before the amount and age indexes have no
`debt_cents` / `oldest_due`, so the campaign's case list, its sorting and the closing of a completed
campaign's cases never see them. `backfill_page` puts each open case where this version's own writes
would have put it:
- pending: on the agenda's due part at its `next_attempt_at` (`targets.restore_index_keys`);
- scheduled or calling: in flight until the deadline the sweep gives an attempt started at its last
  attempt (`sweep.in_flight_until`), so upkeep requeues a lost job or asks Twilio about the call;
- contacted on WhatsApp, with no human holding the customer's conversation: its message awaiting its
  delivery until the same deadline, so upkeep reads its receipts and follows up or concludes it;
- contacted otherwise (an answered call, a conversation a human holds): it awaits nothing, as in this
  version, so it stays off the agenda (`Left.AWAITS_NOTHING`).
Items that are not cases of this version (per-invoice targets stored before the case model) are
reported by id, never touched (`Left.NOT_A_CASE`).

Each page is one bounded Scan of the targets table from a cursor; every write is conditional on the
case still lacking its agenda entry, so a run is resumable, repeatable (a second run writes nothing)
and safe while the workers run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from shared.data import conversations
from shared.data import targets as targets_data
from shared.data.targets import Due, Stored
from shared.domain.models import Channel, TargetState
from shared.engine import sweep


class Left(StrEnum):
    """Why an open case found lacking an index key was left as it is."""

    NOT_A_CASE = "not_a_case"  # not readable as a case of this version (a per-invoice target)
    AWAITS_NOTHING = "awaits_nothing"  # contacted, awaiting nothing: off the agenda in this version too
    MOVED_ON = "moved_on"  # a worker moved it meanwhile (its write set the agenda)


@dataclass
class BackfillPage:
    scanned: int = 0  # items the page's Scan read
    found: int = 0  # open cases lacking an index key
    fixed: int = 0  # cases whose index keys were written (or would be, in a dry run)
    left: Counter[str] = field(default_factory=Counter)  # `Left` -> cases
    not_cases: list[str] = field(default_factory=list)  # ids of the items that are no case
    cursor: str | None = None  # where the next page starts; None: the table is done


def backfill_page(cursor: str | None, *, apply: bool, limit: int = 100) -> BackfillPage:
    """Scan one page of the targets table from `cursor` and put each open case lacking an index key
    where this version would have (see the module docstring); with `apply` False, only say what
    would be written."""
    stored, scanned, next_cursor = targets_data.scan_unindexed(cursor, limit)
    page = BackfillPage(scanned=scanned, found=len(stored), cursor=next_cursor)
    for item in stored:
        left = _backfill(item, apply)
        if left is None:
            page.fixed += 1
        else:
            page.left[left] += 1
            if left is Left.NOT_A_CASE:
                page.not_cases.append(item.id)
    return page


def _backfill(item: Stored, apply: bool) -> Left | None:
    target = item.target
    if target is None:
        return Left.NOT_A_CASE
    until, awaiting = None, None
    if "agenda" in item.missing and target.state is not TargetState.PENDING:
        started = target.last_attempt_at or target.updated_at
        channel = target.channel or Channel.VOICE
        if target.state is not TargetState.CONTACTED:
            until = sweep.in_flight_until(channel, started, 0)
        elif channel is Channel.WHATSAPP and not conversations.held(target.phone, target.document):
            until, awaiting = sweep.in_flight_until(channel, started, 0), Due.DELIVERY
        elif item.missing == {"agenda"}:
            return Left.AWAITS_NOTHING
    if not apply:
        return None
    if targets_data.restore_index_keys(target, item.missing, until=until, awaiting=awaiting):
        return None
    return Left.MOVED_ON
