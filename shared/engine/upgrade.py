"""The data migration of a stack upgraded from an earlier version (`cobranca upgrade`, README's
"Upgrading a deployed stack"): what a deploy cannot do, because it is in the items, not the tables.
Its steps (`plan`), each run page by page from a cursor (`run_page`):
- `copy:<table>`, when the stack moved to a new table prefix: the earlier table's items copied into
  this version's (`shared.data.migrate`);
- `cases`: the index keys of the stored cases (below);
- `follow_ups`: when the wait began (`follow_up_from`) of the follow-ups stored without it (below);
- `late_checks`: the late payment check of the cases that ended unresolved before late checks existed,
  still inside their window (below);
- `phones`: every case's phones in the phone index (the search by phone);
- `promises`: the `pending` key of the pending promises stored without it (`by_pending`: the
  monitor's missed checks, the pending listing).

Cases stored before the agenda index (`targets.by_agenda`) have no `agenda` attribute, so neither the
sweep nor upkeep ever looks at them again; cases stored before the amount and age indexes have no
`debt_cents` / `oldest_due`, so the campaign's case list, its sorting and the closing of a completed
campaign's cases never see them. `backfill_page` puts each open case where this version's own writes
would have put it:
- pending: on the agenda's due part at its `next_attempt_at` (`targets.restore_index_keys`);
- scheduled or calling: in flight until the deadline the sweep gives an attempt started at its last
  attempt (`sweep.in_flight_until`), so upkeep requeues a lost job or asks Twilio about the call;
- contacted on WhatsApp, neither resolved in conversation nor held by a human at the desk: its
  message awaiting its delivery until the same deadline, so upkeep reads its receipts and follows up
  or concludes it;
- contacted otherwise (an answered call, a conversation that resolved it or that a human holds): it
  awaits nothing, as in this version (`upkeep` takes such a case off the agenda), so it stays off
  (`Left.AWAITS_NOTHING`).
Cases waiting for their follow-up (`awaits_follow_up`) stored before `follow_up_from` existed keep
their date when the team changes the campaign's `followUpAfterDays` (the retiming recomputes each date
from `follow_up_from`, `shared.engine.cadence.retime_follow_ups`). `follow_up_page` gives each the
`follow_up_from` this version's write would have stored: its date less the campaign's cadence (which
made, or last retimed, that date), never later than now. A date the sweep moved into the customer's
contact window counts from that much later: the next retiming is off by at most the night it skipped.

A contacted case that ends unresolved (`LATE_CHECKED_OUTCOMES`) is on the agenda in this version until
its late payment check, `LATE_PAYMENT_CHECK_DAYS` after it ended (`shared.engine.late_payments`); one
that ended before late checks existed is not, so a customer who pays in that window is never counted.
`late_check_page` gives each such case ended less than the window ago the check the write that ended it
would have given: its end (`outcome_at`) plus the window. A case closed by the team completing its
campaign gets none, as in this version; one whose check already ran is past its window.

Items that are not cases of this version (per-invoice targets stored before the case model) are
reported by id, never touched (`Left.NOT_A_CASE`); a copy leaves them in the earlier table.

Each page is one bounded Scan from a cursor; every write of `cases`, `follow_ups`, `late_checks` and
`promises` is
conditional on the item still lacking what it writes, so a run is resumable, repeatable (a second
run writes nothing new) and safe while the workers run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from shared.core import clock
from shared.core.config import get_settings
from shared.data import campaigns as campaigns_data
from shared.data import conversations, migrate
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.data.targets import Due, Stored
from shared.domain.cadence import LATE_CHECKED_OUTCOMES, RESOLVING_OUTCOMES, awaits_follow_up
from shared.domain.models import Campaign, Channel, TargetState
from shared.engine import sweep
from shared.engine.campaigns import CLOSED_BY_THE_TEAM


class Left(StrEnum):
    """Why an open case found lacking an index key was left as it is."""

    NOT_A_CASE = "not_a_case"  # not readable as a case of this version (a per-invoice target)
    AWAITS_NOTHING = "awaits_nothing"  # contacted, awaiting nothing: off the agenda in this version too
    MOVED_ON = "moved_on"  # a worker moved it meanwhile (its write set what the step writes)


CASES, FOLLOW_UPS, LATE_CHECKS, PHONES, PROMISES = "cases", "follow_ups", "late_checks", "phones", "promises"
COPY = "copy:"


@dataclass
class BackfillPage:
    scanned: int = 0  # items the page's Scan read
    found: int = 0  # items lacking what this version needs (cases: open ones lacking an index key)
    fixed: int = 0  # items written (or to be written, in a dry run)
    left: Counter[str] = field(default_factory=Counter)  # `Left` -> cases
    not_cases: list[str] = field(default_factory=list)  # ids of the items that are no case
    cursor: str | None = None  # where the next page starts; None: the step is done
    missing: bool = False  # copy: the earlier stack has no such table


def plan(from_prefix: str | None) -> list[str]:
    """The steps of an upgrade, in order: with `from_prefix` (the stack's earlier table prefix), the
    copy of each table first."""
    copies = [] if from_prefix is None else [COPY + suffix for suffix in migrate.table_suffixes()]
    return [*copies, CASES, FOLLOW_UPS, LATE_CHECKS, PHONES, PROMISES]


def run_page(
    step: str, cursor: str | None, *, apply: bool, from_prefix: str | None = None, limit: int = 100
) -> BackfillPage:
    """One page of `step` (see `plan`) from `cursor`; with `apply` False, write nothing."""
    if step == CASES:
        return backfill_page(cursor, apply=apply, limit=limit)
    if step == FOLLOW_UPS:
        return follow_up_page(cursor, apply=apply, limit=limit)
    if step == LATE_CHECKS:
        return late_check_page(cursor, apply=apply, limit=limit)
    if step in (PHONES, PROMISES):
        restore = targets_data.index_phones if step == PHONES else promises_data.restore_pending_keys
        scanned, written, next_cursor = restore(cursor, apply=apply, limit=limit)
        return BackfillPage(scanned=scanned, found=written, fixed=written, cursor=next_cursor)
    if not step.startswith(COPY) or from_prefix is None:
        raise ValueError(f"unknown upgrade step {step!r}")
    copied = migrate.copy_page(step.removeprefix(COPY), from_prefix, cursor, apply=apply, limit=limit)
    page = BackfillPage(scanned=copied.read, found=copied.read, cursor=copied.cursor, missing=copied.missing)
    page.fixed = copied.read - len(copied.left)
    page.not_cases = list(copied.left)
    if copied.left:
        page.left[Left.NOT_A_CASE] = len(copied.left)
    return page


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


def follow_up_page(cursor: str | None, *, apply: bool, limit: int = 100) -> BackfillPage:
    """Scan one page of the targets table from `cursor` and give each case awaiting its follow-up
    without `follow_up_from` the one its date says (see the module docstring), each campaign read once
    a page; with `apply` False, only say what would be written."""
    stored, scanned, next_cursor = targets_data.scan_without_follow_up_from(cursor, limit)
    waiting = [case for case in stored if awaits_follow_up(case)]
    page = BackfillPage(scanned=scanned, found=len(waiting), cursor=next_cursor)
    now = clock.now()
    campaigns: dict[str, Campaign] = {}
    for case in waiting:
        if case.campaign_id not in campaigns:
            campaigns[case.campaign_id] = campaigns_data.get(case.campaign_id)
        days = campaigns[case.campaign_id].follow_up_after_days
        since = min(now, case.next_attempt_at - timedelta(days=days))
        if not apply or targets_data.restore_follow_up_from(case, since):
            page.fixed += 1
        else:
            page.left[Left.MOVED_ON] += 1
    return page


def late_check_page(cursor: str | None, *, apply: bool, limit: int = 100) -> BackfillPage:
    """Scan one page of the targets table from `cursor` and put each contacted case that ended
    unresolved less than `LATE_PAYMENT_CHECK_DAYS` ago, off the agenda, on it until its late payment
    check (see the module docstring); with `apply` False, only say what would be written."""
    ended, scanned, next_cursor = targets_data.scan_ended_off_the_agenda(LATE_CHECKED_OUTCOMES, cursor, limit)
    window = timedelta(days=get_settings().late_payment_check_days)
    now = clock.now()
    unchecked = [
        (case.target, case.ended_at + window)
        for case in ended
        if case.ended_at is not None
        and case.ended_at + window > now
        and case.target.outcome_details != CLOSED_BY_THE_TEAM
    ]
    page = BackfillPage(scanned=scanned, found=len(unchecked), cursor=next_cursor)
    for target, check_at in unchecked:
        if not apply or targets_data.restore_late_check(target, check_at):
            page.fixed += 1
        else:
            page.left[Left.MOVED_ON] += 1
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
        elif (
            channel is Channel.WHATSAPP
            and target.outcome not in RESOLVING_OUTCOMES
            and not conversations.held(target.phone, target.document)
        ):
            until, awaiting = sweep.in_flight_until(channel, started, 0), Due.DELIVERY
        elif item.missing == {"agenda"}:
            return Left.AWAITS_NOTHING
    if not apply:
        return None
    if targets_data.restore_index_keys(target, item.missing, until=until, awaiting=awaiting):
        return None
    return Left.MOVED_ON
