"""Targets table: hash `id`, deterministic from (campaign, document) — see `shared.domain.ids`. A
target is a case: one customer in one campaign, with its invoices (`shared.domain.cases`).

GSIs, projecting keys only: a case is written far more often than it is listed, and an index projecting
a non-key attribute takes a write at every change of it (an index projecting the state, at every
transition), while one projecting keys is written only when its key moves (a delete and a put). So
one index moves with the case's life, and only when the engine's next look at the case moves:
- `by_agenda` (sparse): campaign_id + `agenda` = f"{part}#{at}", what the engine must look at, when
  (`Agenda`): a pending case is `due#<next_attempt_at>` (the sweep takes it then); an attempt in flight
  is `flight#<deadline>`, the deadline its scheduling set (`sweep.schedule`: the job's slot plus the
  time its channel settles in) — still `scheduled` then, the job was lost; still `calling`, the call's
  status was; a WhatsApp message still awaiting its delivery (`due` = `Due.DELIVERY`, set by
  `record_contact`), upkeep looks at its receipts (`await_until` moves the deadline to the reply's,
  `Due.REPLY`, when it reached the phone). The claim of a job and the record of its send keep the entry where the sweep
  put it: a send moves the index once. A completed case is off the agenda — but for one whose customer
  was contacted and that ended unresolved: it is `late#<at>` until its late payment check
  (`transition(late_check=...)`, with the write that ends it) — and so is a contacted one awaiting
  nothing (an answered call); one whose customer a person at the desk holds is on it at the next look
  at the CRM (`Due.HOLD`, `hold_until`). The sweep reads the due part (`due_for_campaign`), upkeep the
  overdue part (`overdue`) and the late checks due (`late_checks_due`): a tick reads what is due, never
  the campaign's other cases.
- `by_campaign_amount` / `by_campaign_age`: campaign_id + `debt_cents` (what the invoices add up to,
  in centavos) / `oldest_due` (the oldest invoice's due date, `YYYY-MM-DD`; the day the case opened
  when no invoice has one): a campaign's cases by amount or by how long they are overdue. Both keys are
  written with the invoices (a case opened, an import merging rows in), so they hardly ever move;
  listings by state or outcome read them too and filter the cases they fetched (`list_for_campaign`).
- `by_document`: document + created_at. `by_call_sid` (sparse): call_sid.

A case is created by a conditional PutItem (only if the id is free) and takes new invoices by an
UpdateItem conditioned on `invoices_version`, the number of invoice changes it has seen: two imports
racing on one customer never overwrite each other's invoices, the loser re-reads and merges again.

Every write that changes state is one UpdateItem that also rewrites the agenda entry, known at write
time, so no read is needed first. The campaign's counters
(`counters.campaign_scope`) are kept here: "total", "state:<state>", "outcome:<outcome>",
`CONTACTED` (cases that had a first contact: `record_contact` taking `contact_count` from 0, read
from the write's old image, so no milestone write is needed), `SELF_CURED` (cases `paid` before any
contact with their customer, in any campaign: `CONTACTED_ELSEWHERE`), and the case money (`CaseMoney`):
centavos in collection (every invoice a case takes), recovered (money the CRM shows paid after a contact
with the customer) and self-cured (paid before any contact), with the count of the cases paid after a
contact by their own campaign (the conversion's numerator) and their total seconds from first contact to
payment. What a case counts is its `paid_amount` (the most of its debt a CRM read showed paid, written
with the `open_amount` of that read: no write of its own), or its whole debt once it is `paid`; every
write adds the difference to recovered or self-cured, by whether the customer had been contacted by then
(a partial payment counts the day it is seen, closing paid counts only the rest, an outcome `paid`
corrected away takes it out again, of the kinds it was counted in: the case keeps what it booked
self-cured, `self_cured_cents`); the recovered centavos also per day
(`counters.campaign_day_scope`, the customer's local day they were seen). They (and a change of
`self_cured_cents`, an UpdateItem of its own) are applied right after the target write (not in the
same transaction), so a process dying between the two leaves them one off; nothing else may write
those names.

The phone index (`phone_index`: which documents have a case carrying a phone) is written here too,
wherever a case takes phones: a case opened, an import's new rows merged in, a supervisor's addition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Final, NamedTuple

from pydantic import TypeAdapter
from pynamodb.attributes import (
    Attribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.constants import ALL_OLD, STRING
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.transactions import TransactWrite

from shared.core import clock
from shared.data import counters, phone_index
from shared.data.attributes import DecimalAttribute, IsoDateTimeAttribute, ModelListAttribute, iso_utc
from shared.data.base import (
    TableModel,
    TransitionConflict,
    batch_delete,
    failed_transaction_items,
    is_condition_failure,
    record_kwargs,
    set_actions,
    to_domain,
    transaction_connection,
    update_if,
    validate_changes,
)
from shared.data.pagination import decode_cursor, encode_cursor, query_page
from shared.domain import cases
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import target_id as deterministic_id
from shared.domain.models import CaseOrder, Invoice, Outcome, PhoneAddition, Target, TargetState
from shared.domain.money import to_cents
from shared.domain.pages import Page, check_limit
from shared.domain.phones import timezone_for_phone

# Fields a caller may not set through `update`: keys, the ones only `fold_in` changes (the invoices
# and phones, under their version condition) and `contact_count` (`record_contact` adds to it), and
# the ones a transition owns (state, and next_attempt_at, part of a pending target's index key).
_IMMUTABLE = (
    "id", "campaign_id", "document", "created_at", "updated_at", "invoices", "phones", "contact_count",
    "added_phones",
)  # fmt: skip
_TRANSITION_OWNED = ("state", "next_attempt_at")
# How often `fold_in` re-reads and merges again when another import changed the case meanwhile.
FOLD_ATTEMPTS = 5
# Conditional writes `fold_in` keeps in flight: each is one round trip (no batch write can carry a
# condition), so an import of thousands of customers waits on latency, not on DynamoDB.
FOLD_WRITERS = 8
# Cases opened per transaction: DynamoDB's limit of 100 items (4 MB; a case's invoices are capped).
INSERT_CHUNK = 100
_INVOICES = TypeAdapter(list[Invoice])
# The campaign counter of cases that reached `paid` before any contact with their customer: none by
# their campaign (`contact_count` 0) and none by another one (`CONTACTED_ELSEWHERE`).
SELF_CURED = "self_cured"
# The milestone of a case its campaign never contacted whose customer another campaign had contacted
# when it was paid (the engine marks it with the payment): paid then is not self-cured.
CONTACTED_ELSEWHERE = "contacted_elsewhere"
# The campaign counter of cases contacted at least once (the "contacted" milestone of the stats).
CONTACTED = "contacted"
# The milestone of a case whose customer answered (a reply, an answered call), and the day counter
# (`counters.campaign_day_scope`, the customer's local day) of the cases answering for the first time.
RESPONDED = "responded"
FIRST_RESPONSES = "responses"


class Due(StrEnum):
    """What a contacted case's WhatsApp message awaits, by its deadline on the agenda."""

    DELIVERY = "delivery"  # its delivery receipt (DELIVERY_ACK or READ)
    REPLY = "reply"  # the customer's reply
    # The customer's next message in a conversation about a case whose contacts are spent
    # (`shared.engine.cadence.follow_up`): the case ends when it goes quiet.
    QUIET = "quiet"
    # Not a message: a person at the desk holds the customer of the contacted case; upkeep asks the CRM
    # whether she paid meanwhile, then again later (`shared.engine.upkeep`).
    HOLD = "hold"


class Agenda(StrEnum):
    """The parts of a campaign's agenda (the `by_agenda` index)."""

    DUE = "due"  # pending cases, at `next_attempt_at`
    IN_FLIGHT = "flight"  # attempts in flight, at their deadline
    LATE = "late"  # completed cases awaiting their late payment check, at its time


class Keep(Enum):
    """`transition(until=Keep.KEEP)`: the case keeps its place on the agenda."""

    KEEP = "keep"


_IN_FLIGHT_STATES: Final = frozenset({TargetState.SCHEDULED, TargetState.CALLING, TargetState.CONTACTED})


class InvoicesAttribute(Attribute[list[Invoice]]):
    """A case's invoices, as one JSON string (they are only ever read and replaced together)."""

    attr_type = STRING

    def serialize(self, value: Any) -> str:
        return _INVOICES.dump_json(value).decode()

    def deserialize(self, value: str) -> list[Invoice]:
        return _INVOICES.validate_json(value)


class _ByAgenda(GlobalSecondaryIndex["TargetRecord"]):
    class Meta:
        index_name = "by_agenda"
        projection = KeysOnlyProjection()

    campaign_id = UnicodeAttribute(hash_key=True)
    agenda = UnicodeAttribute(range_key=True)


class _ByCampaignAmount(GlobalSecondaryIndex["TargetRecord"]):
    class Meta:
        index_name = "by_campaign_amount"
        projection = KeysOnlyProjection()

    campaign_id = UnicodeAttribute(hash_key=True)
    debt_cents = NumberAttribute(range_key=True)


class _ByCampaignAge(GlobalSecondaryIndex["TargetRecord"]):
    class Meta:
        index_name = "by_campaign_age"
        projection = KeysOnlyProjection()

    campaign_id = UnicodeAttribute(hash_key=True)
    oldest_due = UnicodeAttribute(range_key=True)


class _ByDocument(GlobalSecondaryIndex["TargetRecord"]):
    class Meta:
        index_name = "by_document"
        projection = KeysOnlyProjection()

    document = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class _ByCallSid(GlobalSecondaryIndex["TargetRecord"]):
    class Meta:
        index_name = "by_call_sid"
        projection = KeysOnlyProjection()

    call_sid = UnicodeAttribute(hash_key=True)


class TargetRecord(TableModel):
    class Meta:
        suffix = "targets"

    id = UnicodeAttribute(hash_key=True)
    campaign_id = UnicodeAttribute()
    client_name = UnicodeAttribute()
    phone = UnicodeAttribute()
    phones = ListAttribute(of=UnicodeAttribute)
    document = UnicodeAttribute()
    invoices = InvoicesAttribute()
    invoices_version = NumberAttribute()  # see fold_in; not part of the domain model
    contact_count = NumberAttribute()
    state = UnicodeAttribute()
    outcome = UnicodeAttribute(null=True)
    outcome_details = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    attempt_count = NumberAttribute()
    channel_attempts = NumberAttribute()
    last_attempt_at = IsoDateTimeAttribute(null=True)
    next_attempt_at = IsoDateTimeAttribute()
    follow_up_from = IsoDateTimeAttribute(null=True)
    call_sid = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(null=True)
    import_id = UnicodeAttribute(null=True)
    added_phones = ModelListAttribute(PhoneAddition)
    open_amount = DecimalAttribute(null=True)
    open_amount_at = IsoDateTimeAttribute(null=True)
    paid_amount = DecimalAttribute(null=True)
    created_at = IsoDateTimeAttribute()
    updated_at = IsoDateTimeAttribute()
    agenda = UnicodeAttribute(null=True)  # see `by_agenda`; not part of the domain model
    outcome_at = IsoDateTimeAttribute(null=True)  # when the outcome was recorded; not in the domain model
    milestones = UnicodeSetAttribute(null=True)  # see mark_milestone; not part of the domain model
    due = UnicodeAttribute(null=True)  # what the message in flight awaits (`Due`); not in the domain model
    # Set by the first `record_contact` (if_not_exists); not part of the domain model.
    first_contact_at = IsoDateTimeAttribute(null=True)
    # The centavos of the case's counted money booked self-cured (`_money_moved`): what a correction
    # gives back to self-cured once the customer was contacted; not part of the domain model.
    self_cured_cents = NumberAttribute(null=True)
    # The sort keys of `by_campaign_amount` / `by_campaign_age`, rewritten with the invoices (see
    # `_sort_keys`); not part of the domain model.
    debt_cents = NumberAttribute(null=True)
    oldest_due = UnicodeAttribute(null=True)

    by_agenda = _ByAgenda()
    by_campaign_amount = _ByCampaignAmount()
    by_campaign_age = _ByCampaignAge()
    by_document = _ByDocument()
    by_call_sid = _ByCallSid()


def insert_new(new_targets: Iterable[Target]) -> tuple[list[Target], list[str]]:
    """Store the targets whose id is free; returns (inserted, ids already stored or repeated).

    Each put is conditioned on the id not existing, so of two writers of the same case exactly one
    creates it (the other's id comes back among the duplicates). The puts go `INSERT_CHUNK` to a
    transaction, one after another: a batch write cannot carry a condition, and one conditional
    PutItem per case would make a million-row import wait on a million round trips.
    """
    unique: dict[str, Target] = {}
    duplicates: list[str] = []
    for target in new_targets:
        expected = deterministic_id(target.campaign_id, target.document)
        if target.id != expected:
            raise ValueError(
                f"target id {target.id!r} is not shared.domain.ids.target_id(...) = {expected!r}"
            )
        if target.id in unique:
            duplicates.append(target.id)
        else:
            unique[target.id] = target
    pending = list(unique.values())
    chunks = [pending[i : i + INSERT_CHUNK] for i in range(0, len(pending), INSERT_CHUNK)]
    taken = set().union(*map(_insert_chunk, chunks))
    inserted = [target for target in pending if target.id not in taken]
    duplicates.extend(target.id for target in pending if target.id in taken)
    _count_inserted(inserted)
    phone_index.add((phone, target.document) for target in inserted for phone in target.phones)
    return inserted, duplicates


class CaseMoney(StrEnum):
    """The campaign counters of case money (see the module docstring); amounts in centavos."""

    IN_COLLECTION = "cents:in_collection"
    RECOVERED = "cents:recovered"
    SELF_CURED = "cents:self_cured"
    PAID_AFTER_CONTACT = "paid_after_contact"  # cases paid after a contact by their campaign
    SECONDS_TO_PAY = "seconds_to_pay"  # first contact to payment, summed over those cases


class Folded(NamedTuple):
    """A draft folded into its case: the case as stored after, and what became of each row."""

    target: Target
    created: bool
    merge: cases.Merge


def fold_in(campaign_id: str, drafts: Sequence[cases.CaseDraft], import_id: str | None) -> list[Folded]:
    """Fold each draft (one customer's rows, see `shared.domain.cases`) into the customer's case in
    the campaign, opening it when there is none; one result per draft, in order.

    One consistent BatchGet per 100 customers reads the stored cases. The customers without one get
    theirs through `insert_new`; a stored case takes the new invoices and phones by a conditional
    UpdateItem, if its `invoices_version` is still the one read (`FOLD_WRITERS` of these round trips
    at a time). A lost race — another import opened the case, or changed it, meanwhile — re-reads
    the case and merges again (at most `FOLD_ATTEMPTS` times, then `Conflict`). Rows the case
    already has change nothing.
    """
    ids = [deterministic_id(campaign_id, draft.document) for draft in drafts]
    stored = _records(ids)
    now = clock.now()
    opening: dict[str, Folded] = {}
    for target_id, draft in zip(ids, drafts, strict=True):
        if target_id not in stored:
            merged = cases.merge((), (), draft.rows)
            opening[target_id] = Folded(
                cases.open_case(campaign_id, draft, merged, import_id, now), True, merged
            )
    opened, _ = insert_new(folded.target for folded in opening.values())
    created = {target.id for target in opened}

    def fold(target_id: str, draft: cases.CaseDraft) -> Folded:
        if target_id in created:
            return opening[target_id]
        return _fold_into_stored(target_id, draft, stored.get(target_id))

    with ThreadPoolExecutor(max_workers=FOLD_WRITERS) as pool:
        return list(pool.map(fold, ids, drafts))


def get(target_id: str, *, consistent: bool = True) -> Target:
    """The target (strongly consistent read unless `consistent=False`: half the units, possibly a
    moment stale); `NotFound` if there is none."""
    try:
        return _to_target(TargetRecord.get(target_id, consistent_read=consistent))
    except TargetRecord.DoesNotExist:
        raise NotFound(f"target {target_id} not found") from None


def get_many(target_ids: Collection[str]) -> dict[str, Target]:
    """The stored targets among `target_ids`, by id (one consistent BatchGet per 100); missing ones
    are left out."""
    return {
        target_id: _to_target(record)
        for target_id, record in _records(list(dict.fromkeys(target_ids))).items()
    }


def due_for_campaign(campaign_id: str, now: datetime, limit: int = 100) -> list[Target]:
    """Pending targets of the campaign whose `next_attempt_at` <= `now`, oldest due first.

    Read from the agenda (eventually consistent): a target may still show here for a moment after it
    was taken, which is why taking it is a conditional `transition`.
    """
    return [
        _to_target(record)
        for record in _agenda_until(campaign_id, Agenda.DUE, now, limit, consistent=False)
        if record.state == TargetState.PENDING.value and record.next_attempt_at <= now
    ]


def pending(campaign_id: str, page_size: int = 100) -> Iterator[Target]:
    """Every pending case of the campaign, due or not, soonest first: the agenda's due part read page
    by page (eventually consistent: a change to one goes through a conditional `transition`)."""
    check_limit(page_size)
    keys = TargetRecord.by_agenda.query(
        campaign_id, TargetRecord.agenda.startswith(f"{Agenda.DUE.value}#"), page_size=page_size
    )
    page: list[TargetRecord] = []
    for key in keys:
        page.append(key)
        if len(page) == page_size:
            yield from _pending_of(page)
            page = []
    yield from _pending_of(page)


def open_page(campaign_id: str, cursor: str | None = None, limit: int = 100) -> Page[Target]:
    """One stretch of the campaign's cases not `completed`, through its age index (no scan), from
    `cursor`. The index's keys move only with the invoices, so closing cases leaves a cursor valid; a
    page may hold fewer than `limit` while `next_cursor` is still set (see `query_page`). Eventually
    consistent: a change to one goes through a conditional `transition`."""
    return query_page(
        TargetRecord.by_campaign_age.query,
        hash_key=campaign_id,
        query_tag=f"open:{campaign_id}",
        limit=limit,
        cursor=cursor,
        convert=_to_target,
        resolve=lambda keys: [r for r in _fetch(keys) if r.state != TargetState.COMPLETED.value],
    )


def _pending_of(keys: list[TargetRecord]) -> Iterator[Target]:
    return (_to_target(record) for record in _fetch(keys) if record.state == TargetState.PENDING.value)


class InFlight(NamedTuple):
    """A case whose attempt in flight passed its deadline (`overdue`), and what its message awaits
    (None: no message recorded for it, e.g. a job still `scheduled` or a call)."""

    target: Target
    awaiting: Due | None


def overdue(campaign_id: str, until: datetime, limit: int = 100) -> list[InFlight]:
    """The campaign's attempts in flight (scheduled, calling, or a message awaiting its delivery or
    reply) whose deadline passed by `until`, soonest deadline first, from the agenda (one eventually
    consistently read BatchGet of the cases: a case the agenda still lists but that moved on meanwhile
    is left out)."""
    return [
        InFlight(_to_target(record), Due(record.due) if record.due else None)
        for record in _agenda_until(campaign_id, Agenda.IN_FLIGHT, until, limit, consistent=True)
        if record.state in _IN_FLIGHT_STATES
    ]


class Ended(NamedTuple):
    """A completed case (`late_checks_due`, `scan_ended_off_the_agenda`), and when it ended: when its
    outcome was recorded (None for a case whose outcome was stored without that time)."""

    target: Target
    ended_at: datetime | None


def late_checks_due(campaign_id: str, until: datetime, limit: int = 100) -> list[Ended]:
    """The campaign's completed cases whose late payment check is due by `until`, soonest first, from
    the agenda (one strongly consistent BatchGet of the cases: one that moved on meanwhile is left
    out)."""
    return [
        Ended(_to_target(record), record.outcome_at)
        for record in _agenda_until(campaign_id, Agenda.LATE, until, limit, consistent=True)
        if record.state == TargetState.COMPLETED.value
    ]


def _agenda_until(
    campaign_id: str, kind: Agenda, until: datetime, limit: int, *, consistent: bool
) -> list[TargetRecord]:
    """The cases of the agenda's `kind` whose time is <= `until`, in the agenda's order; each is
    checked again on the item (the index is eventually consistent)."""
    check_limit(limit)
    last = _agenda_entry(kind, until)
    keys = TargetRecord.by_agenda.query(
        campaign_id, TargetRecord.agenda.between(f"{kind.value}#", last), limit=limit, page_size=limit
    )
    if consistent:
        ids = [record.id for record in keys]
        found = _records(ids)
        records = [found[target_id] for target_id in ids if target_id in found]
    else:
        records = _fetch(keys)
    return [
        record
        for record in records
        if record.agenda is not None and f"{kind.value}#" <= record.agenda <= last
    ]


def _agenda_entry(kind: Agenda, at: datetime) -> str:
    return f"{kind.value}#{iso_utc(at)}"


def list_for_campaign(
    campaign_id: str,
    state: TargetState | None = None,
    outcome: Outcome | None = None,
    limit: int = 50,
    cursor: str | None = None,
    order: CaseOrder | None = None,
    ascending: bool = False,
) -> Page[Target]:
    """A campaign's targets, optionally of one state and/or outcome, in `order` (by default the
    longest overdue first; `ascending` reverses it).

    Read from the amount or the age index, whose keys move only with the invoices, with the state and
    the outcome as filters on the cases a page's keys fetched: wherever a filter applies, a page may
    hold fewer than `limit` items while `next_cursor` is still set (see `query_page`).
    """
    state = TargetState(state) if state is not None else None
    outcome = Outcome(outcome) if outcome is not None else None
    order = CaseOrder(order) if order is not None else CaseOrder.AGE
    tag = f"targets:{campaign_id}:{state}:{outcome}:{order}:{ascending}"

    def fetch_kept(keys: list[TargetRecord]) -> list[TargetRecord]:
        return [
            record
            for record in _fetch(keys)
            if (state is None or record.state == state.value)
            and (outcome is None or record.outcome == outcome.value)
        ]

    index = TargetRecord.by_campaign_amount if order is CaseOrder.AMOUNT else TargetRecord.by_campaign_age
    # Largest amount first is a descending read; longest overdue first, an ascending one (oldest date).
    return query_page(
        index.query,
        hash_key=campaign_id,
        query_tag=tag,
        limit=limit,
        cursor=cursor,
        convert=_to_target,
        resolve=fetch_kept,
        scan_index_forward=ascending if order is CaseOrder.AMOUNT else not ascending,
    )


def by_document(document: str) -> list[Target]:
    """Every target (all campaigns) of one normalized document, oldest first."""
    return [_to_target(record) for record in _fetch(TargetRecord.by_document.query(document))]


def by_call_sid(call_sid: str) -> Target | None:
    """The target whose current call is `call_sid` (Twilio status callbacks), if any."""
    for record in _fetch(TargetRecord.by_call_sid.query(call_sid, limit=1)):
        if record.call_sid == call_sid:
            return _to_target(record)
    return None


def transition(
    target_id: str,
    from_states: Collection[TargetState],
    to_state: TargetState,
    *,
    unless_outcomes: Collection[Outcome] = (),
    awaiting: Due | None = None,
    until: datetime | None | Keep = Keep.KEEP,
    awaits: Due | None = None,
    milestone: str | None = None,
    waiting_since: datetime | None = None,
    late_check: datetime | None = None,
    **changes: Any,
) -> Target:
    """Move the target to `to_state` if (and only if) its state is one of `from_states` — and its
    outcome is none of `unless_outcomes`, and (with `awaiting`) its message still awaits that: its
    delivery or its reply, and (with `waiting_since`) its follow-up still counts from then
    (`follow_up_from`: the customer did not engage again meanwhile). With `milestone`, the same write
    marks it (see `mark_milestone`).

    One conditional UpdateItem sets the state, `changes`, `updated_at` and the agenda (`by_agenda`): of
    two workers racing for the same target exactly one wins; the other gets `TransitionConflict` (a
    `Conflict`). `NotFound` if the target does not exist. Moving to pending without a
    `next_attempt_at` makes the target due now; a pending case is on the agenda when it is due, a
    completed one is off it — or, with `late_check`, on it until its late payment check then. A case
    moving in flight (scheduled, calling, contacted) is on it until
    the attempt's deadline `until`, off it with None; without either, it keeps its place when it moves
    only between in-flight states (a claim, or its undoing, changes no index), else it is off. The case
    then awaits nothing, or what `awaits` says until `until` (`Due`; `overdue` reports it).
    """
    if not from_states:
        raise ValueError("from_states must not be empty")
    values = validate_changes(Target, changes, forbidden=(*_IMMUTABLE, "state"))
    now = clock.now()
    to_state = TargetState(to_state)
    values["state"] = to_state
    if awaits is not None and not isinstance(until, datetime):
        raise ValueError("what a case awaits is awaited until a deadline")
    keys: dict[str, Any] = {"due": None if awaits is None else Due(awaits).value}
    if to_state is TargetState.PENDING:
        keys["agenda"] = _agenda_entry(Agenda.DUE, values.setdefault("next_attempt_at", now))
    elif to_state is TargetState.COMPLETED:
        keys["agenda"] = None if late_check is None else _agenda_entry(Agenda.LATE, late_check)
    elif isinstance(until, datetime):
        keys["agenda"] = _agenda_entry(Agenda.IN_FLIGHT, until)
    elif until is None or not _IN_FLIGHT_STATES.issuperset(from_states):
        keys["agenda"] = None
    if not isinstance(until, Keep) and to_state not in _IN_FLIGHT_STATES:
        raise ValueError("only a case moving in flight takes a deadline")
    if late_check is not None and to_state is not TargetState.COMPLETED:
        raise ValueError("only a completed case awaits a late payment check")
    condition = TargetRecord.state.is_in(*[TargetState(s).value for s in from_states])
    if unless_outcomes:
        condition &= ~TargetRecord.outcome.is_in(*[Outcome(o).value for o in unless_outcomes])
    if awaiting is not None:
        condition &= TargetRecord.due == Due(awaiting).value
    if waiting_since is not None:
        condition &= TargetRecord.follow_up_from == waiting_since
    return _write(target_id, values, keys, condition, now, milestone=milestone)


def reschedule(target_id: str, at: datetime) -> Target:
    """Keep a pending target pending but due at `at` (e.g. the next opening of the contact window)."""
    return transition(target_id, [TargetState.PENDING], TargetState.PENDING, next_attempt_at=at)


def update(
    target_id: str,
    *,
    in_states: Collection[TargetState] = (),
    unless_outcomes: Collection[Outcome] = (),
    milestone: str | None = None,
    **changes: Any,
) -> Target:
    """Change fields other than state (`None` clears an optional one); `NotFound` if missing. With
    `in_states` / `unless_outcomes`, only while the state is one of them and the outcome none of them:
    `TransitionConflict` (a `Conflict`) otherwise. With `milestone`, the same write marks it (see
    `mark_milestone`).

    State and `next_attempt_at` go through `transition` / `reschedule`.
    """
    values = validate_changes(Target, changes, forbidden=(*_IMMUTABLE, *_TRANSITION_OWNED))
    if not values:
        return get(target_id)
    condition = TargetRecord.id.exists()
    if in_states:
        condition &= TargetRecord.state.is_in(*[TargetState(s).value for s in in_states])
    if unless_outcomes:
        condition &= ~TargetRecord.outcome.is_in(*[Outcome(o).value for o in unless_outcomes])
    return _write(target_id, values, {}, condition, clock.now(), milestone=milestone)


def record_contact(target: Target, *, awaiting: Due | None = None, **changes: Any) -> Target:
    """An outreach reached the customer (a message sent, a call placed): `contact_count` + 1, with
    `changes` as `update` takes them, in one UpdateItem; `NotFound` if missing. `awaiting`: what the
    message now awaits (its delivery), by the deadline its scheduling put on the agenda — the agenda
    does not move (see `overdue`)."""
    values = validate_changes(Target, changes, forbidden=(*_IMMUTABLE, *_TRANSITION_OWNED))
    keys = {} if awaiting is None else {"due": Due(awaiting).value}
    return _write(target.id, values, keys, TargetRecord.id.exists(), clock.now(), contacts=1)


def await_until(target: Target, awaiting: Due, until: datetime) -> bool:
    """The case's WhatsApp message, which awaited its delivery, now awaits `awaiting` until `until`
    (its place on the agenda moves there): its reply once it reached the phone, or still its delivery
    when the first deadline was the reply's. One conditional UpdateItem, a no-op (False) unless the
    message still awaited its delivery (a reply moved the case on meanwhile)."""
    keys = {"due": Due(awaiting).value, "agenda": _agenda_entry(Agenda.IN_FLIGHT, until)}
    condition = TargetRecord.due == Due.DELIVERY.value
    return update_if(TargetRecord, target.id, actions=set_actions(TargetRecord, keys), condition=condition)


def hold_until(target_id: str, until: datetime) -> bool:
    """The contacted case, whose customer a person at the desk holds (outcome `transferred`), awaits the
    next look at the CRM (`Due.HOLD`) until `until`, its place on the agenda moved there. One
    conditional UpdateItem, a no-op (False) once the case moved on (the desk let go, a payment...)."""
    keys = {"due": Due.HOLD.value, "agenda": _agenda_entry(Agenda.IN_FLIGHT, until)}
    condition = (TargetRecord.state == TargetState.CONTACTED.value) & (
        TargetRecord.outcome == Outcome.TRANSFERRED.value
    )
    return update_if(TargetRecord, target_id, actions=set_actions(TargetRecord, keys), condition=condition)


def stop_awaiting(target_id: str) -> None:
    """The contacted case's attempt awaits nothing any more (the case was resolved without a
    transition, e.g. handed to a human, or its send was never recorded): off the agenda. A no-op once
    the case left `contacted` (a transition put it where it belongs on the agenda)."""
    actions = [TargetRecord.due.remove(), TargetRecord.agenda.remove()]
    update_if(
        TargetRecord, target_id, actions=actions, condition=TargetRecord.state == TargetState.CONTACTED.value
    )


def drop_late_check(target_id: str) -> None:
    """The completed case awaits its late payment check no more (a supervisor corrected its outcome, which
    writes no agenda): off the agenda. A no-op unless it is there for a late check."""
    update_if(
        TargetRecord,
        target_id,
        actions=[TargetRecord.agenda.remove()],
        condition=TargetRecord.agenda.startswith(f"{Agenda.LATE.value}#"),
    )


def add_phone(target_id: str, addition: PhoneAddition) -> Target:
    """Put a phone on the case, recorded with who added it and when (`added_phones`); a phone already
    on it is left as it is. One conditional UpdateItem that also bumps the invoices' version, so an
    import merging into the case meanwhile reads it again and keeps the phone. `NotFound` if missing."""
    current = get(target_id)
    if addition.phone in current.phones:
        return current
    added = [*current.added_phones, addition]
    now = clock.now()
    actions = [
        TargetRecord.phones.set(TargetRecord.phones.append([addition.phone])),
        *set_actions(TargetRecord, {"added_phones": added, "updated_at": now}),
        TargetRecord.invoices_version.add(1),
    ]
    condition = TargetRecord.id.exists() & ~TargetRecord.phones.contains(addition.phone)
    if not update_if(TargetRecord, target_id, actions=actions, condition=condition):
        return get(target_id)  # added meanwhile (or gone: NotFound)
    phone_index.add([(addition.phone, current.document)])
    return get(target_id)


def mark_milestone(target_id: str, milestone: str) -> bool:
    """Record that the target reached `milestone` ("responded", "promised"...); True only the first
    time, when it is counted in the campaign's counters (`RESPONDED` also in `FIRST_RESPONSES` of the
    customer's day) — however often it is reported. A transition the case takes anyway marks it in
    the same write (`transition(milestone=...)`).

    One UpdateItem adding to a string set (adding twice changes nothing), returning the item as it
    was: no read; `NotFound` if the target does not exist.
    """
    if not milestone:
        raise ValueError("milestone must not be empty")
    try:
        data = TargetRecord._get_connection().update_item(
            target_id,
            actions=[TargetRecord.milestones.add({milestone})],
            condition=TargetRecord.id.exists(),
            return_values=ALL_OLD,  # free with the write; UPDATED_OLD may leave an unchanged set out
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"target {target_id} not found") from exc
        raise
    return _count_milestone(TargetRecord.from_raw_data(data["Attributes"]), milestone, clock.now())


def delete_for_campaign(campaign_id: str) -> int:
    """Delete every target of a campaign (a draft being discarded); returns how many.

    Pages through the campaign's age index (no scan), deletes in batches of 25 and takes the
    deleted targets out of the campaign's counters.
    """
    deltas: Counter[str] = Counter()
    keys: list[str] = []
    for record in _fetch(TargetRecord.by_campaign_age.query(campaign_id)):
        keys.append(record.id)
        deltas["total"] -= 1
        deltas[f"state:{record.state}"] -= 1
        if record.outcome is not None:
            deltas[f"outcome:{record.outcome}"] -= 1
        deltas[CaseMoney.IN_COLLECTION] -= to_cents(_debt(record.invoices))
        case = _to_target(record)
        if case.outcome is Outcome.PAID:
            deltas.subtract(_paid_case(record, case))
        deltas.update(_money_moved(record, case, _counted(case), 0))
    batch_delete(TargetRecord, ({"id": {"S": target_id}} for target_id in keys))
    if keys:
        counters.increment_many(counters.campaign_scope(campaign_id), deltas)
    return len(keys)


def counts(campaign_id: str) -> dict[str, int]:
    """The campaign's counters: "total", "state:<state>", "outcome:<outcome>" and `SELF_CURED` (no
    scan)."""
    return counters.read(counters.campaign_scope(campaign_id))


class Stored(NamedTuple):
    """A case of the targets table read by `scan_unindexed`: `target` is None when the item is not a
    case of this version (e.g. a per-invoice target stored before the case model); `missing` names
    the index keys it lacks (`by_agenda`, `by_campaign_amount`, `by_campaign_age`)."""

    id: str
    target: Target | None
    missing: frozenset[str]


_INDEX_KEYS: Final = ("agenda", "debt_cents", "oldest_due")


def scan_unindexed(cursor: str | None = None, limit: int = 100) -> tuple[list[Stored], int, str | None]:
    """One stretch of a Scan of the whole table from `cursor`: the open cases lacking an index key
    (stored by an earlier version, which never wrote it), how many items the stretch read, and the
    cursor of the next stretch (None at the end). For `cobranca upgrade`, never a worker: a scan
    reads every case."""
    check_limit(limit)
    lacking = TargetRecord.agenda.does_not_exist()
    for name in _INDEX_KEYS[1:]:
        lacking |= getattr(TargetRecord, name).does_not_exist()
    data = TargetRecord._get_connection().scan(
        filter_condition=(TargetRecord.state != TargetState.COMPLETED.value) & lacking,
        # PynamoDB's annotation says str; it takes (and its own scans pass) the LastEvaluatedKey map.
        exclusive_start_key=decode_cursor("scan:targets", cursor),  # type: ignore[arg-type]
        limit=limit,
        consistent_read=True,
    )
    found = [
        Stored(
            item["id"]["S"], case_of_item(item), frozenset(name for name in _INDEX_KEYS if name not in item)
        )
        for item in data.get("Items", [])
    ]
    return found, data.get("ScannedCount", 0), encode_cursor("scan:targets", data.get("LastEvaluatedKey"))


def case_of_item(item: dict[str, Any]) -> Target | None:
    """The case a stored item (DynamoDB JSON) holds; None when it is not a case of this version (a
    per-invoice target of before the case model), which no reader of this table could read."""
    try:
        return _to_target(TargetRecord.from_raw_data(item))
    except ValueError:  # pydantic's ValidationError
        return None


def restore_index_keys(
    target: Target, missing: Collection[str], *, until: datetime | None = None, awaiting: Due | None = None
) -> bool:
    """Write the `missing` index keys of a case stored by an earlier version, as this version's writes
    set them: the amount and age keys from its invoices; the agenda entry of a pending case (due at
    `next_attempt_at`) or, with `until`, of an attempt in flight (and what its message awaits, with
    `awaiting`). One conditional UpdateItem, a no-op (False) when the case moved on meanwhile (its
    write set the agenda) or nothing is missing; no counter and no `updated_at` moves."""
    keys: dict[str, Any] = {
        name: value
        for name, value in _sort_keys(target.invoices, target.created_at).items()
        if name in missing
    }
    condition = TargetRecord.id.exists()
    if "agenda" in missing and (target.state is TargetState.PENDING or until is not None):
        if target.state is TargetState.PENDING:
            keys["agenda"] = _agenda_entry(Agenda.DUE, target.next_attempt_at)
        elif until is not None:
            keys["agenda"] = _agenda_entry(Agenda.IN_FLIGHT, until)
            keys["due"] = None if awaiting is None else Due(awaiting).value
        condition = (TargetRecord.state == target.state.value) & TargetRecord.agenda.does_not_exist()
    if not keys:
        return False
    return update_if(TargetRecord, target.id, actions=set_actions(TargetRecord, keys), condition=condition)


def scan_without_follow_up_from(
    cursor: str | None = None, limit: int = 100
) -> tuple[list[Target], int, str | None]:
    """One stretch of a Scan of the whole table from `cursor`, for `cobranca upgrade`: the pending
    cases contacted before that carry no `follow_up_from` (stored before it existed; which of them
    await a follow-up is `shared.domain.cadence.awaits_follow_up`), how many items the stretch read,
    and the next stretch's cursor (None at the end). An item that is no case of this version is left
    out (the `cases` step reports it)."""
    check_limit(limit)
    lacking = (
        (TargetRecord.state == TargetState.PENDING.value)
        & TargetRecord.follow_up_from.does_not_exist()
        & (TargetRecord.contact_count > 0)
    )
    data = TargetRecord._get_connection().scan(
        filter_condition=lacking,
        exclusive_start_key=decode_cursor("scan:follow_up_from", cursor),  # type: ignore[arg-type]  # a map
        limit=limit,
        consistent_read=True,
    )
    found = [case for case in map(case_of_item, data.get("Items", [])) if case is not None]
    return (
        found,
        data.get("ScannedCount", 0),
        encode_cursor("scan:follow_up_from", data.get("LastEvaluatedKey")),
    )


def restore_follow_up_from(target: Target, since: datetime) -> bool:
    """Write `follow_up_from` (when the wait for its follow-up began) on a case stored before it existed,
    as read in `target`. One conditional UpdateItem, a no-op (False) when the case moved on meanwhile:
    it is no longer pending on the same date with the same outcome and contacts, or has a
    `follow_up_from` (the customer engaged again); no counter and no `updated_at` moves."""
    outcome = (
        TargetRecord.outcome.does_not_exist()
        if target.outcome is None
        else TargetRecord.outcome == target.outcome.value
    )
    condition = (
        (TargetRecord.state == TargetState.PENDING.value)
        & TargetRecord.follow_up_from.does_not_exist()
        & (TargetRecord.next_attempt_at == target.next_attempt_at)
        & (TargetRecord.contact_count == target.contact_count)
        & outcome
    )
    return update_if(
        TargetRecord,
        target.id,
        actions=set_actions(TargetRecord, {"follow_up_from": since}),
        condition=condition,
    )


def scan_ended_off_the_agenda(
    outcomes: Collection[Outcome], cursor: str | None = None, limit: int = 100
) -> tuple[list[Ended], int, str | None]:
    """One stretch of a Scan of the whole table from `cursor`, for `cobranca upgrade`: the completed
    cases whose customer was contacted, ended with one of `outcomes` and off the agenda (no late payment
    check awaited: stored before late checks existed, or whose check is done), how many items the
    stretch read, and the next stretch's cursor (None at the end). An item that is no case of this
    version is left out (the `cases` step reports it)."""
    check_limit(limit)
    ended = (
        (TargetRecord.state == TargetState.COMPLETED.value)
        & TargetRecord.agenda.does_not_exist()
        & (TargetRecord.contact_count > 0)
        & TargetRecord.outcome.is_in(*[Outcome(outcome).value for outcome in outcomes])
    )
    data = TargetRecord._get_connection().scan(
        filter_condition=ended,
        exclusive_start_key=decode_cursor("scan:ended", cursor),  # type: ignore[arg-type]  # a map
        limit=limit,
        consistent_read=True,
    )
    found = [
        Ended(case, TargetRecord.from_raw_data(item).outcome_at)
        for item in data.get("Items", [])
        if (case := case_of_item(item)) is not None
    ]
    return found, data.get("ScannedCount", 0), encode_cursor("scan:ended", data.get("LastEvaluatedKey"))


def restore_late_check(target: Target, at: datetime) -> bool:
    """Put a completed case stored before late payment checks existed on the agenda until its check
    `at`, as the write that ended it does in this version. One conditional UpdateItem, a no-op (False)
    when the case moved on meanwhile (no longer completed with the outcome read in `target`, or on the
    agenda); no counter and no `updated_at` moves."""
    if target.outcome is None:
        raise ValueError("only a case that ended with an outcome awaits a late payment check")
    condition = (
        (TargetRecord.state == TargetState.COMPLETED.value)
        & TargetRecord.agenda.does_not_exist()
        & (TargetRecord.outcome == target.outcome.value)
    )
    return update_if(
        TargetRecord,
        target.id,
        actions=set_actions(TargetRecord, {"agenda": _agenda_entry(Agenda.LATE, at)}),
        condition=condition,
    )


def index_phones(cursor: str | None = None, *, apply: bool, limit: int = 100) -> tuple[int, int, str | None]:
    """One stretch of a Scan of the whole table from `cursor`, for `cobranca upgrade`: every case's
    (phone, document) pairs put in the phone index (cases stored before it existed are found by a
    search by phone only then; a pair already there is rewritten as is). Returns the items read, the
    pairs put (or, with `apply` False, to put) and the next stretch's cursor (None at the end)."""
    check_limit(limit)
    data = TargetRecord._get_connection().scan(
        attributes_to_get=["document", "phone", "phones"],
        exclusive_start_key=decode_cursor("scan:phones", cursor),  # type: ignore[arg-type]  # a map
        limit=limit,
    )
    pairs = [
        (phone["S"], item["document"]["S"])
        for item in data.get("Items", [])
        if "document" in item and "phone" in item
        for phone in item.get("phones", {}).get("L") or [item["phone"]]
    ]
    if apply:
        phone_index.add(pairs)
    return (
        data.get("ScannedCount", 0),
        len(set(pairs)),
        encode_cursor("scan:phones", data.get("LastEvaluatedKey")),
    )


# --- internals -----------------------------------------------------------------------------------------


def _write(
    target_id: str,
    values: dict[str, Any],
    keys: dict[str, Any],
    condition: Any,
    now: datetime,
    *,
    contacts: int = 0,
    milestone: str | None = None,
) -> Target:
    values["updated_at"] = now
    if "outcome" in values:
        outcome = values["outcome"]
        keys["outcome_at"] = None if outcome is None else now
    actions = set_actions(TargetRecord, {**values, **keys})
    if contacts:
        actions.append(TargetRecord.contact_count.add(contacts))
        actions.append(TargetRecord.first_contact_at.set(TargetRecord.first_contact_at | now))
    if milestone:
        actions.append(TargetRecord.milestones.add({milestone}))
    try:
        # ALL_OLD rather than ALL_NEW: the previous state and outcome are what the counters need, and
        # the new item is exactly the old one with `values` applied.
        data = TargetRecord._get_connection().update_item(
            target_id, actions=actions, condition=condition, return_values=ALL_OLD
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        current = get(target_id)  # raises NotFound when the target does not exist
        raise TransitionConflict("target", target_id, current.state.value) from exc
    before = TargetRecord.from_raw_data(data["Attributes"])
    old = _to_target(before)
    new = Target.model_validate({**old.model_dump(), **values, "contact_count": old.contact_count + contacts})
    if contacts and before.first_contact_at is None:
        before.first_contact_at = now  # what the write just set, for the payment time below
    if milestone:
        _count_milestone(before, milestone, now)
        before.milestones = {*(before.milestones or ()), milestone}  # what the write just set, too
    _count_change(before, old, new, now)
    return new


def _fold_into_stored(target_id: str, draft: cases.CaseDraft, record: TargetRecord | None) -> Folded:
    """Merge `draft` into the stored case `record` (None: another import opened it after our read)."""
    for _ in range(FOLD_ATTEMPTS):
        if record is None:
            record = _records([target_id]).get(target_id)
            if record is None:
                break  # opened and deleted meanwhile (a draft campaign discarded)
        current = _to_target(record)
        closed = current.state is TargetState.COMPLETED
        merged = cases.merge(
            current.invoices,
            current.phones,
            draft.rows,
            closed=closed,
            phones_of_record=draft.phones_of_record,
            kept_phones=[addition.phone for addition in current.added_phones],
        )
        unchanged = list(merged.phones) == current.phones and merged.phone in (None, current.phone)
        if not merged.added and unchanged:
            return Folded(current, False, merged)
        folded = _replace_invoices(current, int(record.invoices_version), merged)
        if folded is not None:
            return Folded(folded, False, merged)
        record = None
    raise Conflict(f"target {target_id} kept changing (or went away) while its invoices were merged")


def _insert_chunk(chunk: list[Target]) -> set[str]:
    """Put each target of `chunk` whose id is free, in one transaction; returns the ids already taken.

    A transaction is all or nothing: when some ids exist it is cancelled naming them, and it runs again
    without them (each round removes at least one, so it ends)."""
    remaining = list(chunk)
    taken: set[str] = set()
    while remaining:
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                for target in remaining:
                    transaction.save(_record(target), condition=TargetRecord.id.does_not_exist())
        except TransactWriteError as exc:
            failed = set(failed_transaction_items(exc))
            if not failed:
                raise
            taken.update(remaining[i].id for i in failed)
            remaining = [target for i, target in enumerate(remaining) if i not in failed]
            continue
        break
    return taken


def _replace_invoices(current: Target, version: int, merged: cases.Merge) -> Target | None:
    """The case with `merged`'s invoices and phones, or None if its invoices changed since `version`
    (or, taking new invoices, it was closed meanwhile: merged again, they are refused). New invoices are
    open: they raise the case's `open_amount` too, if the CRM was read (conditioned on the one read, so
    a read recorded meanwhile makes the merge run again), and never count as paid."""
    now = clock.now()
    values: dict[str, Any] = {
        "invoices": list(merged.invoices),
        "phones": list(merged.phones),
        "phone": merged.phone or cases.whatsapp_phone(merged.phones),
        "updated_at": now,
    }
    added = _debt(row.invoice for row in merged.added)
    condition = TargetRecord.invoices_version == version
    if merged.added:
        condition &= TargetRecord.state != TargetState.COMPLETED.value
        if current.open_amount is None:
            condition &= TargetRecord.open_amount.does_not_exist()
        else:
            condition &= TargetRecord.open_amount == current.open_amount
            values["open_amount"] = current.open_amount + added
    keys = _sort_keys(merged.invoices, current.created_at)
    actions = [*set_actions(TargetRecord, {**values, **keys}), TargetRecord.invoices_version.add(1)]
    if not update_if(TargetRecord, current.id, actions=actions, condition=condition):
        return None
    if merged.added:
        scope = counters.campaign_scope(current.campaign_id)
        counters.increment(scope, CaseMoney.IN_COLLECTION, to_cents(added))
    phone_index.add((phone, current.document) for phone in merged.new_phones)
    return current.model_copy(update=values)


def _fetch(keys: Iterable[TargetRecord]) -> list[TargetRecord]:
    """The whole cases an index query named (its records hold keys only), in the index's order; a
    case deleted meanwhile is left out. Eventually consistent, like the index."""
    ids = list(dict.fromkeys(record.id for record in keys))
    found = {record.id: record for record in TargetRecord.batch_get(ids)} if ids else {}
    return [found[target_id] for target_id in ids if target_id in found]


def _records(ids: list[str]) -> dict[str, TargetRecord]:
    if not ids:
        return {}
    return {record.id: record for record in TargetRecord.batch_get(ids, consistent_read=True)}


def _record(target: Target) -> TargetRecord:
    pending = target.state is TargetState.PENDING
    return TargetRecord(
        **record_kwargs(target),
        **_sort_keys(target.invoices, target.created_at),
        invoices_version=1,
        agenda=_agenda_entry(Agenda.DUE, target.next_attempt_at) if pending else None,
        outcome_at=None if target.outcome is None else target.updated_at,
    )


def _sort_keys(invoices: Sequence[Invoice], opened_at: datetime) -> dict[str, Any]:
    """`debt_cents` and `oldest_due` of a case with `invoices` (see `by_campaign_amount` / `_age`)."""
    dues = [invoice.due_date for invoice in invoices if invoice.due_date is not None]
    oldest = min(dues) if dues else opened_at.date()
    return {"debt_cents": to_cents(_debt(invoices)), "oldest_due": oldest.isoformat()}


def _to_target(record: TargetRecord) -> Target:
    return to_domain(Target, record)


def _count_inserted(inserted: list[Target]) -> None:
    per_campaign: dict[str, Counter[str]] = {}
    for target in inserted:
        deltas = per_campaign.setdefault(target.campaign_id, Counter())
        deltas["total"] += 1
        deltas[f"state:{target.state.value}"] += 1
        if target.outcome is not None:
            deltas[f"outcome:{target.outcome.value}"] += 1
        deltas[CaseMoney.IN_COLLECTION] += to_cents(target.debt_amount)
    for campaign_id, deltas in per_campaign.items():
        counters.increment_many(counters.campaign_scope(campaign_id), deltas)


def _count_change(before: TargetRecord, old: Target, new: Target, now: datetime) -> None:
    """The counters' deltas of one write: `before` is the stored record it replaced (`old`)."""
    deltas: Counter[str] = Counter()
    if old.contact_count == 0 and new.contact_count > 0:
        deltas[CONTACTED] += 1
    if (old.outcome is Outcome.PAID) != (new.outcome is Outcome.PAID):
        if new.outcome is Outcome.PAID:
            deltas.update(_paid_case(before, new, now))
        else:
            deltas.subtract(_paid_case(before, old))
    money = _money_moved(before, new, _counted(old), _counted(new))
    deltas.update(money)
    if old.state != new.state:
        deltas[f"state:{old.state.value}"] -= 1
        deltas[f"state:{new.state.value}"] += 1
    if old.outcome != new.outcome:
        if old.outcome is not None:
            deltas[f"outcome:{old.outcome.value}"] -= 1
        if new.outcome is not None:
            deltas[f"outcome:{new.outcome.value}"] += 1
    if any(deltas.values()):
        counters.increment_many(counters.campaign_scope(new.campaign_id), deltas)
    if money[CaseMoney.SELF_CURED.value]:
        actions = [TargetRecord.self_cured_cents.add(money[CaseMoney.SELF_CURED.value])]
        update_if(TargetRecord, new.id, actions=actions, condition=TargetRecord.id.exists())
    recovered = deltas.get(CaseMoney.RECOVERED.value, 0)
    if recovered:  # a correction taking money out is a reversal on its own day: the days add up to the total
        day = now.astimezone(timezone_for_phone(new.phone)).date()
        counters.increment(counters.campaign_day_scope(new.campaign_id, day), CaseMoney.RECOVERED, recovered)


def _count_milestone(before: TargetRecord, milestone: str, now: datetime) -> bool:
    """Count `milestone` if the case had not reached it before the write that marked it (`before`)."""
    if milestone in (before.milestones or set()):
        return False
    counters.increment(counters.campaign_scope(before.campaign_id), milestone)
    if milestone == RESPONDED:
        day = now.astimezone(timezone_for_phone(before.phone)).date()
        counters.increment(counters.campaign_day_scope(before.campaign_id, day), FIRST_RESPONSES)
    return True


def _debt(invoices: Iterable[Invoice]) -> Decimal:
    return sum((invoice.amount for invoice in invoices), Decimal("0.00"))


def _self_cured(record: TargetRecord, case: Target) -> bool:
    """Whether nobody had contacted the case's customer: neither its campaign nor another one
    (`CONTACTED_ELSEWHERE`, which the engine marks with the write that records the payment)."""
    return case.contact_count == 0 and CONTACTED_ELSEWHERE not in (record.milestones or ())


def _counted(case: Target) -> int:
    """The centavos of the case's debt its campaign's money counts as paid: all of it once the case is
    `paid`, else what the CRM was last seen showing paid of it at most (`paid_amount`)."""
    debt = case.debt_amount
    return to_cents(debt if case.outcome is Outcome.PAID else min(debt, case.paid_amount or Decimal(0)))


def _money_moved(record: TargetRecord, case: Target, counted: int, counts: int) -> Counter[str]:
    """The money counters' deltas of the case's counted money (`_counted`) going from `counted` to
    `counts` (`case` as the write leaves it, `record` as it was stored before). Money seen paid counts
    self-cured while nobody had contacted the customer, else recovered; money taken out (an outcome
    `paid` corrected away, a case deleted) leaves the kinds it was booked in: recovered first, then
    what was booked self-cured (`self_cured_cents`) before the customer was contacted."""
    cents = counts - counted
    if not cents:
        return Counter()
    if _self_cured(record, case):
        return Counter({CaseMoney.SELF_CURED.value: cents})
    if cents > 0:
        return Counter({CaseMoney.RECOVERED.value: cents})
    recovered = max(0, counted - int(record.self_cured_cents or 0))
    from_recovered = min(-cents, recovered)
    return Counter(
        {CaseMoney.RECOVERED.value: -from_recovered, CaseMoney.SELF_CURED.value: cents + from_recovered}
    )


def _paid_case(record: TargetRecord, case: Target, paid_at: datetime | None = None) -> Counter[str]:
    """What a case closing paid adds to the counters besides its money (`_counted`): one `SELF_CURED`
    case (nobody contacted the customer), or, contacted by its campaign, one case paid after contact and
    the time from its first contact to `paid_at` (by default, when the stored outcome was recorded)."""
    if _self_cured(record, case):
        return Counter({SELF_CURED: 1})
    paid_at = paid_at or record.outcome_at
    if record.first_contact_at is None or paid_at is None:
        return Counter()
    seconds = max(0, int((paid_at - record.first_contact_at).total_seconds()))
    return Counter({CaseMoney.PAID_AFTER_CONTACT.value: 1, CaseMoney.SECONDS_TO_PAY.value: seconds})
