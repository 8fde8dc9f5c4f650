"""Promises: active promises of a document, conditional transitions, listings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.data import TransitionConflict, promises
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import PaymentMethod, PromiseStatus

pytestmark = pytest.mark.usefixtures("tables")


def test_promise_round_trip_keeps_the_amount_exact(clock, make_promise):
    promise = promises.create(make_promise(amount=Decimal("89.90"), payment_method=PaymentMethod.PIX))

    stored = promises.get(promise.id)

    assert stored == promise
    assert str(stored.amount) == "89.90"
    with pytest.raises(Conflict):
        promises.create(promise)
    with pytest.raises(NotFound):
        promises.get("missing")


def test_active_for_document_is_pending_and_not_yet_due(clock, make_promise):
    now = clock.now()
    soon = promises.create(make_promise(due_at=now + timedelta(days=1)))
    later = promises.create(make_promise(due_at=now + timedelta(days=5)))
    promises.create(make_promise(due_at=now - timedelta(seconds=1)))  # expired
    fulfilled = promises.create(make_promise(due_at=now + timedelta(days=2)))
    promises.transition(fulfilled, [PromiseStatus.PENDING], PromiseStatus.FULFILLED, fulfilled_at=now)
    promises.create(make_promise(document="11144477735", due_at=now + timedelta(days=1)))

    active = promises.active_for_document("52998224725", now)

    assert [p.id for p in active] == [soon.id, later.id]


def test_transition_is_conditional(clock, make_promise):
    promise = promises.create(make_promise())

    broken = promises.transition(
        promise, [PromiseStatus.PENDING], PromiseStatus.BROKEN, broken_at=clock.now()
    )

    assert broken.status is PromiseStatus.BROKEN and broken.broken_at == clock.now()
    with pytest.raises(TransitionConflict) as raised:
        promises.transition(promise, [PromiseStatus.PENDING], PromiseStatus.FULFILLED)
    assert raised.value.current == "broken"
    with pytest.raises(NotFound):
        promises.transition(
            promise.model_copy(update={"id": "missing"}), [PromiseStatus.PENDING], PromiseStatus.BROKEN
        )
    with pytest.raises(ValueError):
        promises.transition(promise, [PromiseStatus.BROKEN], PromiseStatus.PENDING, due_at=clock.now())


def test_update_descriptive_fields(clock, make_promise):
    promise = promises.create(make_promise())
    later = clock.now() + timedelta(days=1)

    updated = promises.update(promise.id, notes="pagará no Pix", next_check_at=later)

    assert updated.notes == "pagará no Pix" and updated.next_check_at == later
    assert promises.get(promise.id) == updated


def test_list_by_status_due_first_and_by_document(clock, make_promise):
    now = clock.now()
    a = promises.create(make_promise(due_at=now + timedelta(days=3)))
    b = promises.create(make_promise(document="11144477735", due_at=now + timedelta(days=1)))
    c = promises.create(make_promise(due_at=now + timedelta(days=2)))
    promises.transition(c, [PromiseStatus.PENDING], PromiseStatus.FULFILLED)

    pending = promises.list_page(status=PromiseStatus.PENDING)
    of_document = promises.list_page(document="52998224725")
    pending_of_document = promises.list_page(status=PromiseStatus.PENDING, document="52998224725")
    fulfilled = promises.list_page(status=PromiseStatus.FULFILLED)

    assert [p.id for p in pending.items] == [b.id, a.id]  # the settled one left the pending index
    assert [p.id for p in of_document.items] == [c.id, a.id]  # by due date
    assert [p.id for p in pending_of_document.items] == [a.id]
    assert [p.id for p in fulfilled.items] == [c.id]


def test_list_all_newest_first_pages(clock, make_promise):
    created = []
    for _ in range(4):
        created.append(promises.create(make_promise()))
        clock.advance(timedelta(seconds=1))

    first = promises.list_page(limit=2)
    second = promises.list_page(limit=2, cursor=first.next_cursor)
    third = promises.list_page(limit=2, cursor=second.next_cursor) if second.next_cursor else None

    assert [p.id for p in first.items + second.items] == [p.id for p in reversed(created)]
    assert third is None or third.items == []
