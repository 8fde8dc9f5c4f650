"""Targets: de-duplicating import, the scheduler's due query, listings, conditional transitions, counts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.data import TransitionConflict, targets
from shared.domain import cases
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.models import Channel, Invoice, Outcome, TargetState

pytestmark = pytest.mark.usefixtures("tables")


def test_target_round_trip_keeps_invoices_decimal_dates_and_enums(clock, make_target):
    invoices = [
        Invoice(invoice_number="F-1", amount=Decimal("89.90"), due_date=date(2025, 2, 10)),
        Invoice(invoice_number="F-2", amount=Decimal("10.10"), installation_point="PT-7"),
    ]
    target = make_target(
        invoices=invoices, phones=["5511999998888", "551133334444"], outcome=None, channel=Channel.WHATSAPP
    )
    targets.insert_new([target])

    stored = targets.get(target.id)

    assert stored == target
    assert stored.invoices == invoices
    assert str(stored.invoices[0].amount) == "89.90"
    assert stored.debt_amount == Decimal("100.00")
    assert stored.phones == ["5511999998888", "551133334444"]
    assert stored.contact_count == 0
    assert stored.next_attempt_at.tzinfo is not None


def test_insert_new_skips_stored_and_repeated_targets(clock, make_target):
    first = make_target(document="52998224725")
    second = make_target(document="11144477735")
    inserted, duplicates = targets.insert_new([first])
    assert [t.id for t in inserted] == [first.id] and duplicates == []

    again = make_target(document="52998224725", client_name="Maria S.")
    inserted, duplicates = targets.insert_new([again, second, second])

    assert [t.id for t in inserted] == [second.id]
    assert sorted(duplicates) == sorted([first.id, second.id])
    assert targets.get(first.id).client_name == "Maria Silva"  # the stored row was not overwritten


def test_insert_new_writes_more_than_one_batch(clock, make_target):
    rows = [make_target(document=f"{n:011d}") for n in range(60)]

    inserted, duplicates = targets.insert_new(rows)

    assert len(inserted) == 60 and duplicates == []
    assert targets.counts("C1") == {"total": 60, "state:pending": 60, "cents:in_collection": 60 * 8990}
    page = targets.list_for_campaign("C1", limit=1000)
    assert len(page.items) == 60


def test_insert_new_spans_transactions_and_skips_the_stored_cases_inside_them(clock, make_target):
    rows = [make_target(document=f"{n:011d}") for n in range(250)]
    already = [rows[3], rows[150], rows[249]]  # in the first, second and third transaction
    targets.insert_new(already)

    inserted, duplicates = targets.insert_new(rows)

    assert len(inserted) == 247
    assert sorted(duplicates) == sorted(t.id for t in already)
    assert targets.counts("C1")["total"] == 250


def test_insert_new_refuses_ids_that_are_not_deterministic(clock, make_target):
    with pytest.raises(ValueError, match="target_id"):
        targets.insert_new([make_target(id="RANDOM")])


def test_get_unknown_target_is_not_found():
    with pytest.raises(NotFound):
        targets.get("nope")


def test_due_for_campaign_returns_pending_due_targets_oldest_first(clock, make_target):
    now = clock.now()
    late = make_target(document="1", next_attempt_at=now - timedelta(hours=2))
    due = make_target(document="2", next_attempt_at=now - timedelta(minutes=5))
    exactly_now = make_target(document="3", next_attempt_at=now)
    future = make_target(document="4", next_attempt_at=now + timedelta(minutes=1))
    other_campaign = make_target(campaign_id="C2", document="5", next_attempt_at=now - timedelta(days=1))
    taken = make_target(document="6", next_attempt_at=now - timedelta(days=1))
    targets.insert_new([late, due, exactly_now, future, other_campaign, taken])
    targets.transition(taken.id, [TargetState.PENDING], TargetState.SCHEDULED, until=now + timedelta(hours=2))

    result = targets.due_for_campaign("C1", now, limit=10)

    assert [t.id for t in result] == [late.id, due.id, exactly_now.id]
    assert [t.id for t in targets.due_for_campaign("C1", now, limit=2)] == [late.id, due.id]


def test_transition_sets_state_changes_and_updated_at(clock, make_target):
    target = make_target()
    targets.insert_new([target])
    clock.advance(timedelta(minutes=1))

    moved = targets.transition(
        target.id, [TargetState.PENDING], TargetState.CALLING, call_sid="CA1", attempt_count=1
    )

    assert moved.state is TargetState.CALLING
    assert moved.call_sid == "CA1" and moved.attempt_count == 1
    assert moved.updated_at == clock.now()
    assert targets.get(target.id) == moved


def test_transition_from_wrong_state_raises_conflict_and_changes_nothing(clock, make_target):
    target = make_target()
    targets.insert_new([target])

    with pytest.raises(Conflict) as raised:
        targets.transition(target.id, [TargetState.SCHEDULED, TargetState.CALLING], TargetState.CONTACTED)

    assert isinstance(raised.value, TransitionConflict)
    assert raised.value.current == "pending"
    assert targets.get(target.id) == target


def test_transition_of_missing_target_is_not_found(clock):
    with pytest.raises(NotFound):
        targets.transition("missing", [TargetState.PENDING], TargetState.SCHEDULED)


def test_back_to_pending_is_due_now_unless_a_time_is_given(clock, make_target):
    target = make_target(next_attempt_at=clock.now() - timedelta(days=1))
    targets.insert_new([target])
    targets.transition(target.id, [TargetState.PENDING], TargetState.SCHEDULED)
    clock.advance(timedelta(hours=1))

    back = targets.transition(target.id, [TargetState.SCHEDULED], TargetState.PENDING)

    assert back.next_attempt_at == clock.now()
    assert [t.id for t in targets.due_for_campaign("C1", clock.now())] == [target.id]


def test_reschedule_moves_the_due_time(clock, make_target):
    target = make_target()
    targets.insert_new([target])
    later = clock.now() + timedelta(hours=20)

    targets.reschedule(target.id, later)

    assert targets.due_for_campaign("C1", clock.now()) == []
    assert [t.id for t in targets.due_for_campaign("C1", later)] == [target.id]


def test_update_changes_plain_fields_but_not_state(clock, make_target):
    target = make_target()
    targets.insert_new([target])

    updated = targets.update(target.id, conversation_id="CONV9", outcome_details=None, channel="voice")

    assert updated.conversation_id == "CONV9" and updated.channel is Channel.VOICE
    assert targets.get(target.id) == updated
    with pytest.raises(ValueError):
        targets.update(target.id, state=TargetState.COMPLETED)
    with pytest.raises(ValueError):
        targets.update(target.id, next_attempt_at=clock.now())
    with pytest.raises(ValueError):
        targets.update(target.id, no_such_field=1)
    with pytest.raises(NotFound):
        targets.update("missing", conversation_id="x")


def _owing_since(make_target, n: int, **overrides):
    """A case whose invoice fell due `n` days after 10/01/2025 (the age listing's order)."""
    invoice = Invoice(invoice_number="F-1", amount=Decimal("89.90"), due_date=date(2025, 1, 10 + n))
    return make_target(document=str(n), invoices=[invoice], **overrides)


def test_list_by_state_and_by_outcome(clock, make_target):
    rows = [_owing_since(make_target, n) for n in range(5)]
    targets.insert_new(rows)
    targets.transition(rows[0].id, [TargetState.PENDING], TargetState.COMPLETED, outcome=Outcome.PAID)
    clock.advance(timedelta(minutes=1))
    targets.transition(rows[1].id, [TargetState.PENDING], TargetState.COMPLETED, outcome=Outcome.PAID)
    clock.advance(timedelta(minutes=1))
    targets.transition(rows[2].id, [TargetState.PENDING], TargetState.CONTACTED, outcome=Outcome.ANSWERED)

    pending = targets.list_for_campaign("C1", state=TargetState.PENDING)
    paid = targets.list_for_campaign("C1", outcome=Outcome.PAID)
    paid_completed = targets.list_for_campaign("C1", state=TargetState.COMPLETED, outcome=Outcome.PAID)
    answered_pending = targets.list_for_campaign("C1", state=TargetState.PENDING, outcome=Outcome.ANSWERED)

    assert {t.id for t in pending.items} == {rows[3].id, rows[4].id}
    assert [t.id for t in paid.items] == [rows[0].id, rows[1].id]  # the longest overdue first
    assert [t.id for t in paid_completed.items] == [rows[0].id, rows[1].id]
    assert answered_pending.items == []


def test_clearing_the_outcome_takes_the_target_out_of_the_outcome_listing(clock, make_target):
    target = make_target()
    targets.insert_new([target])
    targets.update(target.id, outcome=Outcome.PAYMENT_CLAIMED)
    targets.update(target.id, outcome=None)

    assert targets.list_for_campaign("C1", outcome=Outcome.PAYMENT_CLAIMED).items == []
    assert targets.counts("C1").get("outcome:payment_claimed") == 0


def test_list_for_campaign_pages_with_cursors(clock, make_target):
    rows = [_owing_since(make_target, n) for n in range(7)]
    others = [_owing_since(make_target, n, state=TargetState.COMPLETED) for n in range(7, 9)]
    targets.insert_new(rows + others)

    seen, cursor, pages = [], None, 0
    while True:
        page = targets.list_for_campaign("C1", state=TargetState.PENDING, limit=3, cursor=cursor)
        seen += [t.id for t in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == [t.id for t in rows]  # the longest overdue first, the completed ones filtered out
    assert pages == 3
    assert all(c not in (cursor or "") for c in "+/=")


def test_a_cursor_from_another_listing_is_invalid_input(clock, make_target):
    targets.insert_new([make_target(document=str(n)) for n in range(3)])
    cursor = targets.list_for_campaign("C1", limit=1).next_cursor
    assert cursor is not None

    with pytest.raises(InvalidInput):
        targets.list_for_campaign("C2", limit=1, cursor=cursor)
    with pytest.raises(InvalidInput):
        targets.list_for_campaign("C1", limit=1, cursor="not-a-cursor")
    with pytest.raises(InvalidInput):
        targets.list_for_campaign("C1", limit=0)


def test_by_document_spans_campaigns(clock, make_target):
    a = make_target(campaign_id="C1")
    b = make_target(campaign_id="C2")
    other = make_target(campaign_id="C1", document="11144477735")
    targets.insert_new([a, b, other])

    assert {t.id for t in targets.by_document("52998224725")} == {a.id, b.id}
    assert targets.by_document("00000000000") == []


def test_by_call_sid_finds_the_calling_target(clock, make_target):
    target = make_target()
    targets.insert_new([target])
    assert targets.by_call_sid("CA123") is None

    targets.transition(target.id, [TargetState.PENDING], TargetState.CALLING, call_sid="CA123")

    found = targets.by_call_sid("CA123")
    assert found is not None and found.id == target.id and found.state is TargetState.CALLING


def test_counts_follow_inserts_transitions_and_outcomes(clock, make_target):
    rows = [make_target(document=str(n)) for n in range(3)]
    targets.insert_new(rows)
    targets.transition(rows[0].id, [TargetState.PENDING], TargetState.SCHEDULED)
    targets.transition(rows[0].id, [TargetState.SCHEDULED], TargetState.CONTACTED, outcome=Outcome.ANSWERED)
    targets.transition(rows[0].id, [TargetState.CONTACTED], TargetState.COMPLETED, outcome=Outcome.PAID)
    targets.transition(rows[1].id, [TargetState.PENDING], TargetState.PENDING)  # no state change

    counts = targets.counts("C1")

    assert counts["total"] == 3
    assert counts["state:pending"] == 2
    assert counts["state:completed"] == 1
    assert counts.get("state:scheduled", 0) == 0 and counts.get("state:contacted", 0) == 0
    assert counts["outcome:paid"] == 1 and counts.get("outcome:answered", 0) == 0
    assert targets.counts("C9") == {}


def test_mark_milestone_is_true_only_the_first_time(clock, make_target):
    target = make_target()
    targets.insert_new([target])

    assert targets.mark_milestone(target.id, "contacted") is True
    assert targets.mark_milestone(target.id, "contacted") is False
    assert targets.mark_milestone(target.id, "responded") is True
    assert targets.get(target.id) == target  # milestones are not part of the domain object
    with pytest.raises(NotFound):
        targets.mark_milestone("missing", "contacted")


def test_delete_for_campaign_removes_its_targets_and_their_counts(clock, make_target):
    rows = [make_target(document=f"{n:011d}") for n in range(30)]
    keep = make_target(campaign_id="C2")
    targets.insert_new([*rows, keep])
    targets.transition(rows[0].id, [TargetState.PENDING], TargetState.COMPLETED, outcome=Outcome.PAID)

    deleted = targets.delete_for_campaign("C1")

    assert deleted == 30
    assert targets.list_for_campaign("C1").items == []
    assert [t.id for t in targets.list_for_campaign("C2").items] == [keep.id]
    assert {name: value for name, value in targets.counts("C1").items() if value} == {}
    assert targets.delete_for_campaign("C1") == 0


def _draft(*numbers: str, phone: str = "5511999998888", document: str = "52998224725") -> cases.CaseDraft:
    rows = [
        cases.CaseRow(
            line, document, "Maria Silva", phone, Invoice(invoice_number=number, amount=Decimal("10.00"))
        )
        for line, number in enumerate(numbers, start=2)
    ]
    [draft] = cases.fold_rows(rows)
    return draft


def test_fold_in_opens_one_case_then_adds_only_new_invoices(clock):
    [opened] = targets.fold_in("C1", [_draft("F-1", "F-2", "F-3")], "I1")

    assert opened.created and len(opened.merge.added) == 3
    [again] = targets.fold_in("C1", [_draft("F-3", "F-4", phone="5521988887777")], "I2")

    assert not again.created
    assert [row.invoice.invoice_number for row in again.merge.duplicates] == ["F-3"]
    stored = targets.get(opened.target.id)
    assert [invoice.invoice_number for invoice in stored.invoices] == ["F-1", "F-2", "F-3", "F-4"]
    assert stored.debt_amount == Decimal("40.00")
    assert stored.phones == ["5511999998888", "5521988887777"] and stored.phone == "5511999998888"
    assert stored.import_id == "I1"
    # F-1..F-3 opened the case, F-4 came with the second import: R$ 40,00 in collection once
    assert targets.counts("C1") == {"total": 1, "state:pending": 1, "cents:in_collection": 4000}


def test_fold_in_merges_again_when_another_import_changed_the_case_meanwhile(clock, monkeypatch):
    [opened] = targets.fold_in("C1", [_draft("F-1")], "I1")
    read = targets._records
    stale = read([opened.target.id])  # what a slower import read before the other one wrote
    targets.fold_in("C1", [_draft("F-2")], "I2")
    reads: list[list[str]] = []

    def stale_first(ids: list[str]) -> dict[str, targets.TargetRecord]:
        reads.append(ids)
        return stale if len(reads) == 1 else read(ids)

    monkeypatch.setattr(targets, "_records", stale_first)
    [folded] = targets.fold_in("C1", [_draft("F-3")], "I3")

    assert len(reads) == 2  # the version condition failed once, the case was read again
    numbers = [invoice.invoice_number for invoice in targets.get(opened.target.id).invoices]
    assert numbers == ["F-1", "F-2", "F-3"]  # nothing the other import added was lost
    assert [invoice.invoice_number for invoice in folded.target.invoices] == numbers


def test_record_contact_counts_outreach_with_the_changes(clock, make_target):
    target = make_target()
    targets.insert_new([target])

    targets.record_contact(target, call_sid="CA1")
    after = targets.record_contact(target, outcome_details="Mensagem inicial enviada por WhatsApp")

    assert after.contact_count == 2 and after.call_sid == "CA1"
    assert targets.get(target.id) == after
    with pytest.raises(ValueError):
        targets.update(target.id, contact_count=9)


def test_the_agenda_lists_due_cases_and_attempts_past_their_deadline_and_a_claim_keeps_its_place(
    clock, make_target
):
    target = make_target()
    targets.insert_new([target])
    deadline = clock.now() + timedelta(hours=6)
    targets.transition(target.id, [TargetState.PENDING], TargetState.SCHEDULED, until=deadline)

    assert targets.due_for_campaign("C1", clock.now()) == []  # in flight: no longer due
    before = [(item.target.id, item.awaiting) for item in targets.overdue("C1", deadline)]
    assert before == [(target.id, None)]  # still scheduled at its deadline: its job was lost
    assert targets.overdue("C1", deadline - timedelta(seconds=1)) == []

    claimed = targets.transition(target.id, [TargetState.SCHEDULED], TargetState.CONTACTED)  # the claim
    targets.record_contact(claimed, awaiting=targets.Due.DELIVERY)
    [item] = targets.overdue("C1", deadline)
    assert (item.target.state, item.awaiting) == (TargetState.CONTACTED, targets.Due.DELIVERY)

    assert targets.await_until(claimed, targets.Due.REPLY, deadline + timedelta(hours=24))
    assert not targets.await_until(claimed, targets.Due.REPLY, deadline)  # it no longer awaits the delivery
    assert targets.overdue("C1", deadline) == []
    [item] = targets.overdue("C1", deadline + timedelta(hours=24))
    assert item.awaiting is targets.Due.REPLY

    targets.transition(target.id, [TargetState.CONTACTED], TargetState.COMPLETED, outcome=Outcome.PAID)
    assert targets.overdue("C1", deadline + timedelta(days=30)) == []
    with pytest.raises(ValueError):
        targets.transition(target.id, [TargetState.COMPLETED], TargetState.PENDING, until=deadline)


def test_taking_a_contacted_case_off_the_agenda_never_touches_one_that_moved_on(clock, make_target):
    resolved, moved = make_target(document="1"), make_target(document="2")
    targets.insert_new([resolved, moved])
    deadline = clock.now() + timedelta(hours=6)
    for target in (resolved, moved):
        targets.transition(target.id, [TargetState.PENDING], TargetState.CONTACTED, until=deadline)
    targets.transition(moved.id, [TargetState.CONTACTED], TargetState.PENDING)  # after upkeep read it

    targets.stop_awaiting(resolved.id)
    targets.stop_awaiting(moved.id)

    assert targets.overdue("C1", deadline) == []
    assert [t.id for t in targets.due_for_campaign("C1", clock.now())] == [moved.id]  # still on it
