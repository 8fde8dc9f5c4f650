"""Opt-outs, counters, the contact log (frequency cap), import jobs and dedupe claims."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

import pytest

from shared.data import contact_log, counters, dedupe, imports, optouts
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import Channel, ImportJob, ImportRowError, ImportStatus

pytestmark = pytest.mark.usefixtures("tables")


def test_optout_by_phone_or_document(clock):
    added = optouts.add(phone="5511999998888", document="52998224725", reason="PARAR", source="keyword")

    assert [o.key for o in added] == ["phone#5511999998888", "document#52998224725"]
    assert optouts.is_opted_out(phone="5511999998888")
    assert optouts.is_opted_out(phone="5521000000000", document="52998224725")
    assert not optouts.is_opted_out(phone="5521000000000", document="11144477735")
    assert not optouts.is_opted_out()


def test_optout_is_idempotent_and_keeps_the_first_record(clock):
    first = optouts.add(phone="5511999998888", reason="PARAR", source="keyword")
    clock.advance(timedelta(days=1))

    again = optouts.add(phone="5511999998888", reason="api", source="api")

    assert again == first
    with pytest.raises(ValueError):
        optouts.add(source="api")


def test_optouts_list_newest_first(clock):
    for n in range(3):
        optouts.add(document=f"doc{n}", source="api")
        clock.advance(timedelta(seconds=1))

    first = optouts.list_page(limit=2)
    second = optouts.list_page(limit=2, cursor=first.next_cursor)

    assert [o.value for o in first.items + second.items] == ["doc2", "doc1", "doc0"]


def test_counters_add_atomically_and_read_in_one_call():
    counters.increment("global", "messages_sent")
    counters.increment("global", "messages_sent", by=4)
    counters.increment_many("campaign#C1", {"calls": 2, "answered": 1, "skipped": 0})
    counters.increment_many("global", {})

    assert counters.read("campaign#C1") == {"calls": 2, "answered": 1}
    assert counters.read("global") == {"messages_sent": 5}
    assert counters.read("nothing") == {}


def test_batched_counters_are_summed_per_scope_and_written_when_the_block_ends():
    client = counters.CounterRecord._get_connection().connection.client
    updates: list[str] = []
    event, hook = "before-call.dynamodb.UpdateItem", "count-updates"
    client.meta.events.register(event, lambda **_: updates.append("update"), unique_id=hook)
    try:
        with pytest.raises(RuntimeError), counters.batched():
            counters.increment("campaign#C2", "state:pending", -1)
            counters.increment_many("campaign#C2", {"state:pending": -1, "state:scheduled": 2})
            with counters.batched():  # joins the outer block
                counters.increment("global", "contacts:whatsapp")
            assert updates == []  # nothing written yet
            assert counters.read("campaign#C3") == {}
            counters.increment("campaign#C3", "total")
            assert counters.read("campaign#C3") == {"total": 1}  # a read sees the block's deltas
            raise RuntimeError("the job failed after counting")
    finally:
        client.meta.events.unregister(event, unique_id=hook)

    assert counters.read("campaign#C2") == {"state:pending": -2, "state:scheduled": 2}
    assert counters.read("global") == {"contacts:whatsapp": 1}
    assert len(updates) == 3  # one UpdateItem per scope


def test_a_campaigns_totals_ride_with_its_day_and_are_summed_over_its_days():
    client = counters.CounterRecord._get_connection().connection.client
    updates: list[str] = []
    event, hook = "before-call.dynamodb.UpdateItem", "count-updates"
    monday, tuesday = date(2025, 3, 10), date(2025, 3, 11)
    campaign, day = counters.campaign_scope("C4"), partial(counters.campaign_day_scope, "C4")
    client.meta.events.register(event, lambda **_: updates.append("update"), unique_id=hook)
    try:
        for when, state in ((monday, "state:scheduled"), (tuesday, "state:contacted")):
            with counters.batched():  # one event: the case moves, and the day counts an outreach
                counters.increment_many(campaign, {"state:pending": -1, state: 1, "recovered": 5})
                counters.increment(day(when), "contacts")
                counters.increment(day(when), "recovered", 5)  # the same name, apart from the totals
    finally:
        client.meta.events.unregister(event, unique_id=hook)
    counters.increment(campaign, "total", 3)  # no day in the block: the campaign's own item

    assert len(updates) == 2  # one item per event
    assert counters.read(campaign) == {
        "state:pending": -2,
        "state:scheduled": 1,
        "state:contacted": 1,
        "recovered": 10,
        "total": 3,
    }
    assert counters.read(day(monday)) == {"contacts": 1, "recovered": 5}
    assert counters.read_days("C4", monday, date(2025, 3, 31)) == {
        monday: {"contacts": 1, "recovered": 5},
        tuesday: {"contacts": 1, "recovered": 5},
    }
    assert counters.read_days("C4", date(2025, 3, 12), date(2025, 3, 31)) == {}


def test_reserve_contact_enforces_the_daily_cap(clock):
    now = clock.now()
    day = date(2025, 3, 10)

    first = contact_log.reserve_contact("52998224725", now, day, 1, Channel.WHATSAPP, "T1")
    second = contact_log.reserve_contact("52998224725", now + timedelta(hours=1), day, 1, Channel.VOICE, "T2")
    next_day = contact_log.reserve_contact(
        "52998224725", now + timedelta(days=1), date(2025, 3, 11), 1, Channel.VOICE, "T2"
    )
    other_document = contact_log.reserve_contact("11144477735", now, day, 1, Channel.WHATSAPP, "T3")

    assert (first, second, next_day, other_document) == (True, False, True, True)
    assert contact_log.contacts_since("52998224725", now - timedelta(days=7)) == [
        now,
        now + timedelta(days=1),
    ]
    assert contact_log.contacts_since("52998224725", now + timedelta(minutes=1)) == [now + timedelta(days=1)]


def test_reserve_contact_allows_up_to_the_configured_cap(clock):
    now = clock.now()
    day = date(2025, 3, 10)
    results = [
        contact_log.reserve_contact("52998224725", now + timedelta(minutes=n), day, 2, Channel.VOICE, f"T{n}")
        for n in range(3)
    ]
    assert results == [True, True, False]


def test_release_contact_gives_the_slot_back(clock):
    now = clock.now()
    day = date(2025, 3, 10)
    assert contact_log.reserve_contact("52998224725", now, day, 1, Channel.WHATSAPP, "T1")

    contact_log.release_contact("52998224725", now, day, Channel.WHATSAPP, "T1")
    contact_log.release_contact("52998224725", now, day, Channel.WHATSAPP, "T1")  # twice: no-op

    assert contact_log.contacts_since("52998224725", now - timedelta(days=1)) == []
    assert contact_log.reserve_contact("52998224725", now, day, 1, Channel.VOICE, "T1")


def test_contact_log_items_expire_by_ttl(clock):
    now = clock.now()
    contact_log.reserve_contact("52998224725", now, date(2025, 3, 10), 1, Channel.WHATSAPP, "T1")

    items = list(contact_log.ContactLogRecord.query("52998224725"))

    assert len(items) == 1  # the day's item: its slot counter and the contact, one write
    assert all(item.expires_at == now + contact_log.RETENTION for item in items)


def test_import_job_create_get_update(clock):
    job = imports.create(ImportJob(id="I1", campaign_id="C1", filename="marco.xlsx", created_at=clock.now()))
    error = ImportRowError(line=3, field="cpf", code="invalid_document", message="CPF inválido", value="123")

    updated = imports.update(
        "I1",
        status=ImportStatus.COMPLETED,
        total_rows=10,
        imported=9,
        rejected=1,
        errors=[error],
        finished_at=clock.now(),
    )

    assert imports.get("I1") == updated
    assert updated.errors == [error] and updated.status is ImportStatus.COMPLETED
    assert imports.get("I1").filename == job.filename
    with pytest.raises(Conflict):
        imports.create(job)
    with pytest.raises(NotFound):
        imports.get("missing")
    with pytest.raises(NotFound):
        imports.update("missing", imported=1)


def test_dedupe_claims_once_until_the_ttl_passes(clock):
    assert dedupe.claim("evolution:MSG1", ttl_seconds=3600)
    assert not dedupe.claim("evolution:MSG1", ttl_seconds=3600)
    assert dedupe.claim("evolution:MSG2", ttl_seconds=3600)

    clock.advance(timedelta(hours=1, seconds=1))  # expired, even if DynamoDB has not deleted it yet

    assert dedupe.claim("evolution:MSG1", ttl_seconds=3600)
