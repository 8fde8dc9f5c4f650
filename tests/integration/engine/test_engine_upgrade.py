"""A stack upgraded from an earlier version: its stored cases lack the index keys this version's writes
set (the agenda, the amount and age keys), and its targets table may still hold per-invoice targets of
before the case model. `cobranca upgrade` (shared/engine/upgrade.py) puts the cases back where the
sweep and upkeep find them, and gives the follow-ups waiting the `follow_up_from` a new cadence
retimes them from; the deploy itself is README's "Upgrading a deployed stack"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from infra.local import cli
from shared.core.config import reset_settings
from shared.data import bind, create_tables, phone_index
from shared.data import counters as counters_data
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.data.attributes import iso_utc
from shared.data.base import current_binding
from shared.data.promises import PromiseRecord
from shared.data.targets import TargetRecord
from shared.domain.models import Channel, Outcome, Promise, PromiseStatus, Target, TargetState
from shared.engine import campaigns as campaign_rules
from shared.engine.reporting import campaign_stats
from shared.engine.upgrade import CASES, FOLLOW_UPS, LATE_CHECKS, PROMISES, BackfillPage, Left, plan, run_page
from tests.integration.engine.engine_world import Engine, cpf, invoice, mobile
from tests.integration.engine.journeys import (
    MARIA,
    MARIA_PHONE,
    MONDAY,
    Chat,
    at,
    business_day,
    case_of,
    counters_agree_with_the_cases,
    import_maria,
    import_rows,
    sheet_rows,
)

JOAO, JOAO_PHONE = cpf(502), mobile("92", 502)
JOAO_INVOICE = invoice("120.00", date(2025, 2, 10), "F-7")
# A target as the per-invoice version stored it (shared/data/targets.py before the case model): one
# invoice in its own attributes, no `invoices`.
PER_INVOICE_TARGET = {
    "id": {"S": "legacy-target-1"},
    "campaign_id": {"S": "legacy-campaign"},
    "client_name": {"S": "Cliente Antigo"},
    "phone": {"S": mobile("11", 503)},
    "document": {"S": cpf(503)},
    "debt_amount": {"S": "99.90"},
    "invoice_number": {"S": "F-9"},
    "invoice_due_date": {"S": "2025-02-10"},
    "state": {"S": "pending"},
    "attempt_count": {"N": "0"},
    "channel_attempts": {"N": "0"},
    "next_attempt_at": {"S": "2025-03-01T00:00:00.000000Z"},
    "created_at": {"S": "2025-03-01T00:00:00.000000Z"},
    "updated_at": {"S": "2025-03-01T00:00:00.000000Z"},
    "state_key": {"S": "pending#2025-03-01T00:00:00.000000Z"},
}


def stored_by_the_earlier_version(*target_ids: str) -> None:
    """The cases as a version before the agenda and the amount/age indexes left them: no `agenda`,
    `due`, `debt_cents` or `oldest_due`; and a per-invoice target beside them."""
    for target_id in target_ids:
        TargetRecord._get_connection().update_item(
            target_id,
            actions=[
                TargetRecord.agenda.remove(),
                TargetRecord.due.remove(),
                TargetRecord.debt_cents.remove(),
                TargetRecord.oldest_due.remove(),
            ],
        )
    TargetRecord._get_connection().put_item(
        "legacy-target-1", attributes={k: v for k, v in PER_INVOICE_TARGET.items() if k != "id"}
    )


def raw(target_id: str) -> dict[str, Any]:
    return TargetRecord._get_connection().get_item(target_id, consistent_read=True)["Item"]


def run(*, apply: bool, limit: int = 2, step: str = CASES) -> list[BackfillPage]:
    """Every page of one run of `step` from the start, as `cobranca upgrade` pages through the table."""
    pages = [run_page(step, None, apply=apply, limit=limit)]
    while pages[-1].cursor is not None:
        pages.append(run_page(step, pages[-1].cursor, apply=apply, limit=limit))
    return pages


def totals(pages: list[BackfillPage]) -> tuple[int, int, dict[str, int], list[str]]:
    left: dict[str, int] = {}
    for page in pages:
        for reason, count in page.left.items():
            left[reason] = left.get(reason, 0) + count
    return (
        sum(p.found for p in pages),
        sum(p.fixed for p in pages),
        left,
        [i for p in pages for i in p.not_cases],
    )


def test_cases_stored_before_the_agenda_are_followed_up_again_after_the_upgrade(engine: Engine):
    campaign = engine.campaign(follow_up_after_days=1, max_contacts=6)
    import_maria(engine, campaign.id)
    business_day(engine, at(MONDAY, 8))  # Maria's first message: contacted, awaiting its delivery
    engine.crm.add_customer(JOAO, "João Lima", [JOAO_INVOICE])
    import_rows(engine, campaign.id, sheet_rows("João Lima", JOAO_PHONE, JOAO, [JOAO_INVOICE]))
    maria, joao = case_of(campaign.id, MARIA), case_of(campaign.id, JOAO)
    assert (maria.state, joao.state) == (TargetState.CONTACTED, TargetState.PENDING)
    stored_by_the_earlier_version(maria.id, joao.id)
    engine.delivered()

    # Deployed but not migrated: João, due since his import, is never sent anything, and Maria's
    # unanswered message is never concluded: no index shows them to the sweep or upkeep.
    business_day(engine, at(MONDAY + timedelta(days=1), 9))
    assert engine.evolution.texts_to(JOAO_PHONE) == []
    assert targets_data.get(maria.id).state is TargetState.CONTACTED
    assert targets_data.list_for_campaign(campaign.id).items == []  # nor to the team's case list

    # The dry run says what it would write and writes nothing.
    before = {target_id: raw(target_id) for target_id in (maria.id, joao.id, "legacy-target-1")}
    assert totals(run(apply=False)) == (3, 2, {Left.NOT_A_CASE: 1}, ["legacy-target-1"])
    assert {target_id: raw(target_id) for target_id in before} == before

    # Applied: João is due at his next attempt, Maria's message awaits its delivery until the deadline
    # the sweep gives a WhatsApp attempt, both sortable by amount and age; the per-invoice target is
    # reported, untouched.
    assert totals(run(apply=True)) == (3, 2, {Left.NOT_A_CASE: 1}, ["legacy-target-1"])
    assert raw(joao.id)["agenda"] == {"S": f"due#{iso_utc(joao.next_attempt_at)}"}
    assert raw(maria.id)["due"] == {"S": "delivery"}
    assert raw(maria.id)["agenda"]["S"].startswith("flight#")
    assert (raw(joao.id)["debt_cents"], raw(joao.id)["oldest_due"]) == ({"N": "12000"}, {"S": "2025-02-10"})
    assert raw("legacy-target-1") == before["legacy-target-1"]

    # Running it again changes nothing.
    after = {target_id: raw(target_id) for target_id in before}
    assert totals(run(apply=True)) == (1, 0, {Left.NOT_A_CASE: 1}, ["legacy-target-1"])
    assert {target_id: raw(target_id) for target_id in before} == after

    # The next business day: João gets his first message; Maria's delivered message, unanswered for a
    # day, is concluded and she is followed up on the cadence.
    business_day(engine, at(MONDAY + timedelta(days=2), 9))
    assert len(engine.evolution.texts_to(JOAO_PHONE)) == 1
    assert case_of(campaign.id, JOAO).state is TargetState.CONTACTED
    maria_now = case_of(campaign.id, MARIA)
    assert (maria_now.state, maria_now.outcome) == (TargetState.PENDING, Outcome.NO_ANSWER)
    assert campaign_stats(campaign.id).total_targets == 2
    counters_agree_with_the_cases(campaign.id)


def test_upgrade_command_is_a_dry_run_unless_applied_and_prints_no_document_or_phone(
    engine: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    campaign = engine.campaign()
    import_maria(engine, campaign.id)
    maria = case_of(campaign.id, MARIA)
    stored_by_the_earlier_version(maria.id)
    prefix = current_binding().prefix
    monkeypatch.setenv("COBRANCA_TABLE_PREFIX", prefix)

    assert cli.main(["upgrade", "--table-prefix", prefix]) == 1  # a per-invoice target is left
    dry = capsys.readouterr().out
    assert "dry run" in dry and "cases: read 2, to write 1" in dry and "target legacy-target-1" in dry
    assert "follow_ups: read 2, to write 0, left none\n" in dry  # Maria was never contacted
    assert "agenda" not in raw(maria.id)

    assert cli.main(["upgrade", "--table-prefix", prefix, "--apply", "--page", "1"]) == 1
    applied = capsys.readouterr().out
    assert "cases: read 2, written 1, left 1 not_a_case\n" in applied
    assert "resume with --cursor cases:" in applied
    assert raw(maria.id)["agenda"]["S"].startswith("due#")
    for secret in (MARIA, MARIA_PHONE, PER_INVOICE_TARGET["document"]["S"], PER_INVOICE_TARGET["phone"]["S"]):
        assert secret not in dry + applied


def test_a_follow_up_stored_before_follow_up_from_gets_it_and_a_shorter_cadence_then_reaches_her_sooner(
    engine: Engine,
):
    campaign = engine.campaign(follow_up_after_days=7, max_contacts=6)
    import_maria(engine, campaign.id)
    business_day(engine, at(MONDAY, 8))
    engine.delivered()
    # Monday 19:50 in Manaus she answers "vou ver": a follow-up a week later. The version she engaged
    # under stored no `follow_up_from`; nor for João, of another campaign, whose follow-up an earlier
    # retiming pushed further than its cadence from now (when his wait began is then never later than now).
    engine.clock.set(at(MONDAY, 19, 50))
    Chat(MARIA_PHONE, "Maria").says("vou ver")
    maria = case_of(campaign.id, MARIA)
    assert (maria.state, maria.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert maria.next_attempt_at == at(MONDAY + timedelta(days=7), 19, 50)
    joao = engine.target(
        engine.campaign(follow_up_after_days=3), 502, outcome=Outcome.ANSWERED, contact_count=1,
        next_attempt_at=engine.clock.now() + timedelta(days=10),
    )  # fmt: skip
    never_contacted = engine.target(campaign, 503)  # due for her first contact: no follow-up
    for case in (maria, joao):
        TargetRecord._get_connection().update_item(case.id, actions=[TargetRecord.follow_up_from.remove()])

    # Deployed this version. The dry run finds both and writes nothing.
    engine.clock.set(at(MONDAY + timedelta(days=1), 8))
    before = {case.id: raw(case.id) for case in (maria, joao, never_contacted)}
    assert totals(run(apply=False, step=FOLLOW_UPS)) == (2, 2, {}, [])
    assert {target_id: raw(target_id) for target_id in before} == before

    # Applied: Maria's wait began when she answered, João's now; nothing else of them moves.
    assert totals(run(apply=True, step=FOLLOW_UPS)) == (2, 2, {}, [])
    assert targets_data.get(maria.id).follow_up_from == at(MONDAY, 19, 50)
    assert targets_data.get(joao.id).follow_up_from == engine.clock.now()
    after = {target_id: raw(target_id) for target_id in before}
    assert {k: v for k, v in after[maria.id].items() if k != "follow_up_from"} == before[maria.id]
    assert after[never_contacted.id] == before[never_contacted.id]

    # Running it again changes nothing.
    assert totals(run(apply=True, step=FOLLOW_UPS)) == (0, 0, {}, [])
    assert {target_id: raw(target_id) for target_id in before} == after

    # Tuesday 10:00: a week is too slow, says the supervisor; two days it is. Maria's follow-up is due
    # Wednesday evening, not next Monday (Amazonas allows contacts until 18:00: she hears from us on
    # Thursday morning).
    engine.clock.set(at(MONDAY + timedelta(days=1), 10))
    campaign_rules.update(campaign.id, {"follow_up_after_days": 2})
    engine.drain("scheduler")
    maria = targets_data.get(maria.id)
    assert maria.next_attempt_at == at(MONDAY + timedelta(days=2), 19, 50)
    assert maria.outcome_details is not None and "novo contato a partir de 12/03" in maria.outcome_details
    sent = len(engine.evolution.texts_to(MARIA_PHONE))
    business_day(engine, at(MONDAY + timedelta(days=2), 20))
    assert targets_data.get(maria.id).next_attempt_at == at(MONDAY + timedelta(days=3), 8)
    business_day(engine, at(MONDAY + timedelta(days=3), 8))
    texts = engine.evolution.texts_to(MARIA_PHONE)
    assert len(texts) == sent + 1 and texts[-1].startswith("Olá, Maria Souza! Aqui é novamente")
    assert targets_data.get(maria.id).contact_count == 2
    counters_agree_with_the_cases(campaign.id)


def test_a_follow_up_taken_while_the_upgrade_reads_it_is_left_as_the_sweep_wrote_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    campaign = engine.campaign(follow_up_after_days=3)
    waiting = engine.target(campaign, 502, outcome=Outcome.ANSWERED, contact_count=1)
    read = targets_data.scan_without_follow_up_from(None, 10)
    assert [case.id for case in read[0]] == [waiting.id]
    # Between the upgrade's read and its write, the sweep takes the case for its follow-up.
    targets_data.transition(
        waiting.id,
        [TargetState.PENDING],
        TargetState.SCHEDULED,
        until=engine.clock.now() + timedelta(hours=1),
    )
    monkeypatch.setattr(targets_data, "scan_without_follow_up_from", lambda cursor, limit: read)

    [page] = run(apply=True, step=FOLLOW_UPS)

    assert (page.found, page.fixed, dict(page.left)) == (1, 0, {Left.MOVED_ON: 1})
    assert "follow_up_from" not in raw(waiting.id)
    assert targets_data.get(waiting.id).state is TargetState.SCHEDULED


def test_a_case_ended_unresolved_before_late_checks_existed_gets_its_check_and_her_payment_is_seen(
    engine: Engine,
):
    """Three customers the earlier version ended `exhausted` (one message, unanswered) off the agenda:
    Ana today, Bia ten days ago (past the window), Caio when the team completed his campaign (no
    check in this version either)."""
    campaign = engine.campaign(
        max_contacts=1, allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP]
    )
    ana, bia, caio = (engine.target(campaign, seed) for seed in (901, 902, 903))
    engine.tick()
    engine.drain("whatsapp")
    engine.delivered()
    engine.clock.advance(timedelta(hours=25))
    engine.tick()
    ended_at = engine.clock.now()
    for case in (ana, bia, caio):
        assert (engine.get(case).outcome, raw(case.id)["agenda"]["S"][:5]) == (Outcome.EXHAUSTED, "late#")
        TargetRecord._get_connection().update_item(case.id, actions=[TargetRecord.agenda.remove()])
    TargetRecord._get_connection().update_item(
        bia.id, actions=[TargetRecord.outcome_at.set(ended_at - timedelta(days=10))]
    )
    TargetRecord._get_connection().update_item(
        caio.id, actions=[TargetRecord.outcome_details.set(campaign_rules.CLOSED_BY_THE_TEAM)]
    )
    before = {case.id: raw(case.id) for case in (ana, bia, caio)}

    # The dry run finds Ana alone and writes nothing; applied, she is on the agenda until her check.
    engine.clock.advance(timedelta(days=2))
    assert totals(run(apply=False, step=LATE_CHECKS)) == (1, 1, {}, [])
    assert {target_id: raw(target_id) for target_id in before} == before
    assert totals(run(apply=True, step=LATE_CHECKS)) == (1, 1, {}, [])
    assert raw(ana.id)["agenda"]["S"] == f"late#{iso_utc(ended_at + timedelta(days=7))}"
    assert "agenda" not in raw(bia.id) and "agenda" not in raw(caio.id)
    assert totals(run(apply=True, step=LATE_CHECKS)) == (0, 0, {}, [])

    # All three pay at the bank. At Ana's check the CRM shows it: paid, counted recovered.
    for case in (ana, bia, caio):
        engine.crm.pay_all(case.document)
    engine.clock.set(ended_at + timedelta(days=7, minutes=5))
    engine.tick()
    assert engine.get(ana).outcome is Outcome.PAID
    assert engine.get(bia).outcome is engine.get(caio).outcome is Outcome.EXHAUSTED
    assert campaign_stats(campaign.id).money.recovered == ana.debt_amount
    counters_agree_with_the_cases(campaign.id)


# --- a stack moved to a new table prefix: the earlier tables copied, then the keys restored ----------


def bound_to(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COBRANCA_TABLE_PREFIX", prefix)
    reset_settings()
    bind()


def counters_as_the_earlier_version_kept_them(prefix: str) -> None:
    """The counters table with a hash key only: a campaign's totals in its item, each day's counters in
    `campaign#<id>#day#<date>` under `c:` names (what shared.data.counters' docstring says it moves)."""
    client = boto3.client("dynamodb")
    name = f"{prefix}-counters"
    items = client.scan(TableName=name)["Items"]
    client.delete_table(TableName=name)
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "scope", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "scope", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    earlier: dict[str, dict[str, Any]] = {}
    for item in items:
        scope, part = item.pop("scope")["S"], item.pop("part")["S"]
        if part == counters_data.WHOLE or not scope.startswith("campaign#"):
            kept = earlier.setdefault(scope, {"scope": {"S": scope}})
            kept.update({k: v for k, v in item.items() if not k.startswith("c:")})
        day = earlier.setdefault(f"{scope}#{part}", {"scope": {"S": f"{scope}#{part}"}})
        total = earlier.setdefault(scope, {"scope": {"S": scope}})
        for attribute, value in item.items():
            if attribute.startswith("d:"):
                day["c:" + attribute.removeprefix("d:")] = value
            elif attribute.startswith("c:"):
                previous = int(total.get(attribute, {"N": "0"})["N"])
                total[attribute] = {"N": str(previous + int(value["N"]))}
    for item in earlier.values():
        if len(item) > 1:
            client.put_item(TableName=name, Item=item)


def table_items(name: str) -> list[dict[str, Any]]:
    return sorted(boto3.client("dynamodb").scan(TableName=name)["Items"], key=repr)


def upgrade(from_prefix: str, *, apply: bool) -> dict[str, tuple[int, int, bool]]:
    """Every step of `plan(from_prefix)`, page by page: read, written, missing."""
    done = {}
    for step in plan(from_prefix):
        pages = [run_page(step, None, apply=apply, from_prefix=from_prefix, limit=3)]
        while pages[-1].cursor is not None:
            pages.append(run_page(step, pages[-1].cursor, apply=apply, from_prefix=from_prefix, limit=3))
        done[step] = (sum(p.scanned for p in pages), sum(p.fixed for p in pages), pages[-1].missing)
    return done


def test_a_stack_moved_to_a_new_table_prefix_keeps_its_cases_counters_and_conversations(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    # The earlier stack, tables "earlier-*": Maria contacted on Monday; its counters table has a hash
    # key only, its cases lack the index keys, a per-invoice target is beside them, it has no access
    # log or phone index yet.
    bound_to("earlier", monkeypatch)
    create_tables()
    campaign = engine.campaign(follow_up_after_days=1, max_contacts=6)
    import_maria(engine, campaign.id)
    business_day(engine, at(MONDAY, 8))
    [maria] = targets_data.list_for_campaign(campaign.id).items
    stats = campaign_stats(campaign.id)
    days = counters_data.read_days(campaign.id, MONDAY, MONDAY)
    stored_by_the_earlier_version(maria.id)
    counters_as_the_earlier_version_kept_them("earlier")
    for suffix in ("access_log", "phone_index"):
        boto3.client("dynamodb").delete_table(TableName=f"earlier-{suffix}")

    # Deployed with -c tablePrefix=test: this version's tables, empty. The dry run reads and writes nothing.
    bound_to("test", monkeypatch)
    dry = upgrade("earlier", apply=False)
    assert dry["copy:targets"] == (2, 1, False) and dry["copy:access_log"] == (0, 0, True)
    assert (
        table_items("test-targets") == table_items("test-counters") == table_items("test-phone_index") == []
    )

    applied = upgrade("earlier", apply=True)
    assert applied["copy:targets"] == (2, 1, False)  # the per-invoice target stays in the earlier table
    assert targets_data.by_document(PER_INVOICE_TARGET["document"]["S"]) == []  # every lookup reads the rest
    assert applied["cases"][1] == 1  # Maria, back in flight on the agenda
    assert campaign_stats(campaign.id) == stats
    assert counters_data.read_days(campaign.id, MONDAY, MONDAY) == days
    assert raw(maria.id)["due"] == {"S": "delivery"}
    assert phone_index.documents(MARIA_PHONE) == [MARIA]  # the desk's search by phone finds her

    # Running it again writes the same items: nothing changes.
    names = ("test-targets", "test-counters", "test-conversations", "test-phone_index")
    before = {name: table_items(name) for name in names}
    upgrade("earlier", apply=True)
    assert {name: table_items(name) for name in before} == before

    # Tuesday: her delivered message, unanswered for a day, is concluded and she is followed up.
    engine.delivered()
    business_day(engine, at(MONDAY + timedelta(days=1), 9))
    business_day(engine, at(MONDAY + timedelta(days=2), 9))
    maria_now = targets_data.get(maria.id)
    assert maria_now.outcome is Outcome.NO_ANSWER and maria_now.contact_count == 2
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == 2
    counters_agree_with_the_cases(campaign.id)


def test_pending_promises_stored_without_their_key_are_listed_and_checked_again(
    engine: Engine, make_promise: Callable[..., Promise]
):
    kept = promises_data.create(make_promise())
    earlier = promises_data.create(make_promise(document=MARIA))
    settled = promises_data.create(make_promise(document=JOAO))
    promises_data.transition(settled, [PromiseStatus.PENDING], PromiseStatus.BROKEN)
    for promise in (earlier, settled):  # as an earlier version stored them: no `pending` key
        PromiseRecord._get_connection().update_item(promise.id, actions=[PromiseRecord.pending.remove()])
    pending = promises_data.list_page(PromiseStatus.PENDING)
    assert [p.id for p in pending.items] == [kept.id]

    assert run_page(PROMISES, None, apply=False).fixed == 1
    assert [p.id for p in promises_data.list_page(PromiseStatus.PENDING).items] == [kept.id]
    assert run_page(PROMISES, None, apply=True).fixed == 1
    listed = {p.id for p in promises_data.list_page(PromiseStatus.PENDING).items}
    assert listed == {kept.id, earlier.id}
    missed = promises_data.checks_missed(earlier.due_at + timedelta(hours=1))
    assert {p.id for p in missed} == {kept.id, earlier.id}
    assert run_page(PROMISES, None, apply=True).fixed == 0


def test_a_contacted_case_awaiting_nothing_stays_off_the_agenda(
    engine: Engine, make_target: Callable[..., Target]
):
    """A case whose conversation resolved it (a promise made) or an answered call awaits nothing in this
    version either: the upgrade leaves it off the agenda, and says so."""
    resolved = make_target(
        document=MARIA, phone=MARIA_PHONE, state=TargetState.CONTACTED, channel=Channel.WHATSAPP,
        outcome=Outcome.PROMISE_MADE, last_attempt_at=engine.clock.now(),
    )  # fmt: skip
    answered = make_target(
        document=JOAO, phone=JOAO_PHONE, state=TargetState.CONTACTED, channel=Channel.VOICE,
        last_attempt_at=engine.clock.now(),
    )  # fmt: skip
    targets_data.insert_new([resolved, answered])
    [page] = run(apply=True, limit=10)
    assert (page.found, page.fixed, dict(page.left)) == (2, 0, {Left.AWAITS_NOTHING: 2})  # as stored now
    stored_by_the_earlier_version(resolved.id, answered.id)
    [page] = run(apply=True, limit=10)
    assert (page.found, page.fixed, dict(page.left)) == (3, 2, {Left.NOT_A_CASE: 1})  # their sort keys
    [page] = run(apply=True, limit=10)
    assert (page.found, page.fixed, dict(page.left)) == (3, 0, {Left.AWAITS_NOTHING: 2, Left.NOT_A_CASE: 1})
    assert "agenda" not in raw(resolved.id) and "agenda" not in raw(answered.id)
