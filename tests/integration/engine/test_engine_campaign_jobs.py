"""A campaign's jobs over its cases on the scheduler queue, page by page and continued: a new cadence
retimes the follow-ups already waiting (idempotently, the last change winning), and completing a
campaign closes every open case, one an import moved behind the job's cursor included."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.core.config import reset_settings
from shared.core.jobs import CADENCE_CHANGED, SchedulerTick
from shared.data import imports as imports_data
from shared.data import targets as targets_data
from shared.domain.cases import CaseRow, fold_rows
from shared.domain.errors import Conflict
from shared.domain.models import (
    Campaign,
    CampaignStatus,
    ImportStatus,
    Invoice,
    Outcome,
    Target,
    TargetState,
)
from shared.engine import cadence
from shared.engine import campaigns as campaign_rules
from shared.imports import ingest
from tests.integration.engine.engine_world import Engine, cpf, mobile


def _waiting_for_follow_up(engine: Engine, campaign: Campaign, seeds: range) -> list[Target]:
    """Customers who engaged (answered "vou ver") now: their follow-ups wait `followUpAfterDays`."""
    now = engine.clock.now()
    at = now + timedelta(days=campaign.follow_up_after_days)
    return engine.targets(
        campaign,
        seeds,
        outcome=Outcome.ANSWERED,
        contact_count=1,
        follow_up_from=now,
        next_attempt_at=at,
        outcome_details=f"Respondeu no WhatsApp sem resolver — novo contato a partir de {at:%d/%m} (1/6 contatos)",
    )


def _one_job(engine: Engine) -> int:
    """One scheduler job delivered (SQS's one message to one invocation); how many ran."""
    return engine.drain("scheduler", max_rounds=1, batch=1).invocations


def test_a_new_cadence_retimes_hundreds_of_follow_ups_over_continuations_and_a_redelivery_changes_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    # 60 cases a job here (3 pages of 20): tens of thousands would outlive the API request.
    monkeypatch.setattr(campaign_rules, "CASES_PAGE_SIZE", 20)
    monkeypatch.setattr(campaign_rules, "CASE_PAGES_PER_JOB", 3)
    campaign = engine.campaign(follow_up_after_days=3)
    engaged_at = engine.clock.now()
    waiting = _waiting_for_follow_up(engine, campaign, range(200))
    first_contact = engine.target(campaign, 900)  # never contacted: due now, not a follow-up
    broken = engine.target(campaign, 901, outcome=Outcome.PROMISE_BROKEN, contact_count=2)

    engine.clock.advance(timedelta(hours=1))
    answered = campaign_rules.update(campaign.id, {"follow_up_after_days": 7})

    assert answered.follow_up_after_days == 7  # at once; the cases wait for the scheduler's job
    [job] = engine.bodies("scheduler")
    assert job == {
        "campaignId": campaign.id,
        "reason": CADENCE_CHANGED,
        "lastPass": False,
        "followUpAfterDays": 7,
    }
    assert engine.get(waiting[0]).next_attempt_at == engaged_at + timedelta(days=3)

    jobs = 0
    while _one_job(engine):
        jobs += 1
        engine.clock.advance(timedelta(minutes=1))
    assert jobs == 4  # 202 open cases, 60 a job
    retimed_at = engine.clock.now()
    follow_up = engaged_at + timedelta(days=7)
    stored = [engine.get(case) for case in waiting]
    assert {case.next_attempt_at for case in stored} == {follow_up}
    assert {case.outcome_details for case in stored} == {
        f"Respondeu no WhatsApp sem resolver — novo contato a partir de {follow_up:%d/%m} (1/6 contatos)"
    }
    assert engine.get(first_contact).next_attempt_at == first_contact.next_attempt_at
    assert engine.get(broken).next_attempt_at == broken.next_attempt_at

    # SQS delivers the job again, an hour later: each date is recomputed from the case, nothing moves.
    engine.clock.advance(timedelta(hours=1))
    engine.sqs.send_message(QueueUrl=engine.urls["scheduler"], MessageBody=json.dumps(job))
    engine.drain("scheduler")
    again = [engine.get(case) for case in waiting]
    assert {case.next_attempt_at for case in again} == {follow_up}
    assert max(case.updated_at for case in again) < retimed_at  # not even rewritten


def test_two_cadence_changes_in_a_row_end_on_the_last_ones_dates_even_when_their_jobs_interleave(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(campaign_rules, "CASES_PAGE_SIZE", 10)
    monkeypatch.setattr(campaign_rules, "CASE_PAGES_PER_JOB", 2)
    campaign = engine.campaign(follow_up_after_days=3)
    engaged_at = engine.clock.now()
    waiting = _waiting_for_follow_up(engine, campaign, range(50))
    engine.clock.advance(timedelta(hours=2))

    # 3 → 7: the job retimes its first 20 cases, its continuation waits on the queue; then 7 → 2.
    campaign_rules.update(campaign.id, {"follow_up_after_days": 7})
    assert _one_job(engine) == 1
    assert sum(engine.get(c).next_attempt_at == engaged_at + timedelta(days=7) for c in waiting) == 20
    campaign_rules.update(campaign.id, {"follow_up_after_days": 2})
    newest, continuation = sorted(engine.bodies("scheduler"), key=lambda body: body["followUpAfterDays"])
    assert (newest["followUpAfterDays"], continuation["followUpAfterDays"]) == (2, 7)
    engine.sqs.purge_queue(QueueUrl=engine.urls["scheduler"])
    engine.sqs.send_message(QueueUrl=engine.urls["scheduler"], MessageBody=json.dumps(newest))
    while _one_job(engine):  # SQS keeps no order: the 2's job (and its continuations) come first
        pass
    retimed_at = engine.clock.now()
    engine.clock.advance(timedelta(minutes=5))
    engine.sqs.send_message(QueueUrl=engine.urls["scheduler"], MessageBody=json.dumps(continuation))
    assert _one_job(engine) == 1  # the 7's continuation finds the cadence changed: it writes nothing

    stored = [engine.get(c) for c in waiting]
    assert {case.next_attempt_at for case in stored} == {engaged_at + timedelta(days=2)}
    assert max(case.updated_at for case in stored) <= retimed_at


def test_a_page_written_while_the_cadence_changed_again_is_written_with_the_newest(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    # The 7's job reads a page; meanwhile the team changes the cadence to 2 and the 2's job retimes
    # every case; then the 7's job writes its page. It sees the cadence changed and writes it again.
    campaign = engine.campaign(follow_up_after_days=3)
    engaged_at = engine.clock.now()
    waiting = _waiting_for_follow_up(engine, campaign, range(5))
    retime = cadence.retime_follow_ups
    raced: list[int] = []

    def racing(cases: Any, current: Campaign) -> int:
        if not raced:
            raced.append(current.follow_up_after_days)
            campaign_rules.update(campaign.id, {"follow_up_after_days": 2})
            [two] = engine.receive("scheduler")  # the 2's job, run to its end meanwhile
            campaign_rules.retime_follow_ups(SchedulerTick.model_validate_json(two["Body"]))
            engine.sqs.delete_message(QueueUrl=engine.urls["scheduler"], ReceiptHandle=two["ReceiptHandle"])
        return retime(cases, current)

    campaign_rules.update(campaign.id, {"follow_up_after_days": 7})
    monkeypatch.setattr(cadence, "retime_follow_ups", racing)
    engine.drain("scheduler")

    assert raced == [7]
    assert {engine.get(c).next_attempt_at for c in waiting} == {engaged_at + timedelta(days=2)}


def test_a_shorter_cadence_brings_a_follow_up_due_now_never_before(engine: Engine):
    campaign = engine.campaign(follow_up_after_days=5)
    engaged_at = engine.clock.now()
    [case] = _waiting_for_follow_up(engine, campaign, range(1))
    engine.clock.advance(timedelta(days=2))

    campaign_rules.update(campaign.id, {"follow_up_after_days": 1})
    engine.drain("scheduler")

    assert engaged_at + timedelta(days=1) < engine.clock.now()
    assert engine.get(case).next_attempt_at == engine.clock.now()


def test_a_follow_up_stored_without_follow_up_from_keeps_its_date_and_the_job_says_to_upgrade(
    engine: Engine, caplog: pytest.LogCaptureFixture
):
    # Its date alone cannot say when the wait began once the cadence changed (the job knows the new
    # one only): `cobranca upgrade` gives it its `follow_up_from` before any change (test_engine_upgrade).
    campaign = engine.campaign(follow_up_after_days=3)
    [case] = _waiting_for_follow_up(engine, campaign, range(1))
    targets_data.TargetRecord._get_connection().update_item(
        case.id, actions=[targets_data.TargetRecord.follow_up_from.remove()]
    )

    campaign_rules.update(campaign.id, {"follow_up_after_days": 1})
    engine.drain("scheduler")

    assert engine.get(case).next_attempt_at == case.next_attempt_at
    assert "follow-ups without follow_up_from keep their date: run cobranca upgrade" in caplog.text


def test_without_a_scheduler_queue_a_new_cadence_retimes_the_follow_ups_within_the_request(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    campaign = engine.campaign(follow_up_after_days=3)
    engaged_at = engine.clock.now()
    [case] = _waiting_for_follow_up(engine, campaign, range(1))
    monkeypatch.delenv("SCHEDULER_QUEUE_URL")
    reset_settings()

    campaign_rules.update(campaign.id, {"follow_up_after_days": 10})

    assert engine.get(case).next_attempt_at == engaged_at + timedelta(days=10)


def test_completing_closes_a_case_an_import_moved_behind_the_closing_jobs_cursor(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    # 10 cases a job; the cases read oldest invoice first (the age index).
    monkeypatch.setattr(campaign_rules, "CASES_PAGE_SIZE", 10)
    monkeypatch.setattr(campaign_rules, "CASE_PAGES_PER_JOB", 1)
    campaign = engine.campaign()
    cases = [
        engine.target(
            campaign,
            seed,
            invoices=[
                Invoice(
                    invoice_number=f"F-{seed}",
                    amount=Decimal("50.00"),
                    due_date=date(2025, 1, 1) + timedelta(days=seed),
                )
            ],
        )
        for seed in range(30)
    ]
    campaign_rules.change_status(campaign.id, CampaignStatus.COMPLETED)
    assert _one_job(engine) == 1  # the 10 oldest closed
    assert [engine.get(c).state for c in cases[:11]] == [TargetState.COMPLETED] * 10 + [TargetState.PENDING]

    # A batch of an import checked just before the completion still writes: the case of the 26th
    # customer takes an invoice older than all (it moves to the front of the age index, behind the
    # job's cursor), and a row of a closed case is refused, the case left closed.
    late = cases[25]
    rows = [
        CaseRow(
            1,
            late.document,
            late.client_name,
            late.phone,
            Invoice(invoice_number="OLD-1", amount=Decimal("80.00"), due_date=date(2024, 6, 1)),
        ),
        CaseRow(
            2,
            cases[3].document,
            cases[3].client_name,
            cases[3].phone,
            Invoice(invoice_number="NEW-3", amount=Decimal("30.00"), due_date=date(2025, 3, 1)),
        ),
    ]
    folded = targets_data.fold_in(campaign.id, fold_rows(rows), "import-late")
    assert [(len(f.merge.added), len(f.merge.closed)) for f in folded] == [(1, 0), (0, 1)]
    assert len(engine.get(late).invoices) == 2

    engine.drain("scheduler")

    stored = [engine.get(c) for c in cases]
    assert {case.state for case in stored} == {TargetState.COMPLETED}
    assert {case.outcome_details for case in stored} == {campaign_rules.CLOSED_BY_THE_TEAM}
    assert [invoice.invoice_number for invoice in engine.get(cases[3]).invoices] == ["F-3"]


def test_an_import_still_writing_when_the_campaign_is_completed_opens_no_case_after_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(ingest, "WRITE_BATCH", 2)
    campaign = engine.campaign()
    rows = [(f"Cliente {n}", mobile("11", n), cpf(n), "50,00", f"C-{n}", "10/01/2025") for n in range(6)]
    fold = ingest.fold_batch
    batches: list[int] = []

    def completed_after_the_first_batch(*args: Any, **kwargs: Any) -> None:
        fold(*args, **kwargs)
        batches.append(len(args[2]))
        if len(batches) == 1:  # the team completes the campaign; its closing job runs at once
            campaign_rules.change_status(campaign.id, CampaignStatus.COMPLETED)
            engine.drain("scheduler")

    monkeypatch.setattr(ingest, "fold_batch", completed_after_the_first_batch)
    sheet = "nome;celular;cpf;valor;fatura;vencimento\n" + "".join(";".join(row) + "\n" for row in rows)
    with pytest.raises(Conflict, match="is completed"):
        ingest.import_targets(campaign.id, io.BytesIO(sheet.encode()), "clientes.csv", import_id="late")

    assert batches == [2]
    stored = targets_data.list_for_campaign(campaign.id).items
    assert sorted(case.client_name for case in stored) == ["Cliente 0", "Cliente 1"]
    assert {case.state for case in stored} == {TargetState.COMPLETED}
    job = imports_data.get("late")
    assert (job.status, job.failure) == (
        ImportStatus.FAILED,
        f"campaign {campaign.id} is completed: no targets can be added",
    )
    counts = targets_data.counts(campaign.id)
    assert counts["total"] == counts["state:completed"] == 2
