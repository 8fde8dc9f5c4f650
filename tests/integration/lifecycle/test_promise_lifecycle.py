"""Payment promises end to end: registration (stored promise, target, counters, the one-time schedule
moto keeps), and the monitor fired the way EventBridge would — by the virtual clock passing each
stored schedule's `at(...)` time — against the CRM simulator: fulfilled, re-checked daily, broken,
renegotiated, CRM down, schedules unavailable."""

from __future__ import annotations

import json
import socket
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.config import Config

from shared.adapters import promise_schedules, queues
from shared.core.config import reset_settings
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain import promise_rules
from shared.domain.errors import InvalidInput
from shared.domain.models import Outcome, PaymentMethod, Promise, PromiseStatus, Target, TargetState
from shared.domain.phones import timezone_for_phone
from shared.engine import promises, upkeep
from shared.engine.reporting import campaign_stats, global_metrics
from tests.integration.lifecycle.lifecycle_world import (
    GROUP,
    MONITOR_QUEUE_ARN,
    ROLE_ARN,
    Lifecycle,
    add_debtor,
    failed_ids,
)

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MANAUS = ZoneInfo("America/Manaus")
# The clock starts on Monday 2025-03-10, 09:00 in São Paulo.
FRIDAY = date(2025, 3, 14)


def register(target: Target, day: date, amount: str = "179.80", **kwargs: object) -> Promise:
    """What the assistant's `registrar_promessa_pagamento` tool does once the customer agreed."""
    arguments: dict[str, object] = {
        "document": target.document,
        "amount": Decimal(amount),
        "day": day,
        "open_total": Decimal("179.80"),
        "tz": timezone_for_phone(target.phone),
        "target_id": target.id,
    } | kwargs
    return promises.register(**arguments)  # type: ignore[arg-type]


def live_in(world: Lifecycle, day: date, tz: ZoneInfo = SAO_PAULO, at: str = "09:01") -> None:
    """Move the virtual clock to `day` at `at` local time and fire whatever schedules came due."""
    world.clock.set(datetime.combine(day, datetime.strptime(at, "%H:%M").time(), tzinfo=tz))
    world.fire_due_schedules()


def test_registering_stores_the_promise_and_a_schedule_in_the_customers_zone(world: Lifecycle) -> None:
    campaign = world.campaign()
    target = world.target(campaign, phone="5592991234567")  # Manaus (DDD 92): UTC-4

    promise = register(target, date(2025, 3, 20), "150.00", payment_method=PaymentMethod.PIX, notes="13º")

    stored = promises_data.get(promise.id)
    assert stored.status is PromiseStatus.PENDING
    assert (stored.amount, stored.timezone, stored.due_date) == (
        Decimal("150.00"),
        "America/Manaus",
        date(2025, 3, 20),
    )
    assert stored.due_at == datetime(2025, 3, 21, 3, 59, 59, 999000, tzinfo=UTC)  # 23:59:59.999 in Manaus
    assert stored.next_check_at == datetime(2025, 3, 21, 13, 0, tzinfo=UTC)  # 09:00 in Manaus
    assert (stored.payment_method, stored.notes, stored.campaign_id) == (
        PaymentMethod.PIX,
        "13º",
        campaign.id,
    )

    [schedule] = world.schedules()
    assert schedule.name == f"promise-{promise.id}-202503210900"
    assert schedule.raw["ScheduleExpression"] == "at(2025-03-21T09:00:00)"
    assert schedule.raw["ScheduleExpressionTimezone"] == "America/Manaus"
    assert schedule.raw["ActionAfterCompletion"] == "DELETE"
    assert schedule.raw["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule.raw["GroupName"] == GROUP
    assert schedule.raw["Target"]["Arn"] == MONITOR_QUEUE_ARN
    assert schedule.raw["Target"]["RoleArn"] == ROLE_ARN
    assert schedule.input == {"promiseId": promise.id}

    after = targets_data.get(target.id)  # deferred to the end of the promised day, in Manaus
    assert (after.state, after.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE)
    assert after.outcome_details == "Promessa registrada até 20/03/2025"
    assert after.next_attempt_at == datetime(2025, 3, 21, 4, 0, tzinfo=UTC)
    stats = campaign_stats(campaign.id)
    assert (stats.promised, stats.promises) == (1, 1)
    assert targets_data.counts(campaign.id)["promises:pending"] == 1
    assert global_metrics().pending_promises == 1


@pytest.mark.parametrize(
    ("day", "amount", "code"),
    [
        (date(2025, 3, 9), "100.00", "date_in_past"),  # yesterday
        (date(2025, 3, 10) + timedelta(days=60), "100.00", "date_too_far"),
        (date(2025, 3, 20), "179.81", "amount_above_total"),
        (date(2025, 3, 20), "0", "invalid_amount"),
    ],
)
def test_rejected_registrations_carry_their_code_and_change_nothing(
    world: Lifecycle, day: date, amount: str, code: str
) -> None:
    campaign = world.campaign()
    target = world.target(campaign)

    with pytest.raises(promise_rules.PromiseRejected) as rejected:
        register(target, day, amount)

    assert rejected.value.code == code
    assert promises_data.list_page().items == []
    assert world.schedules() == []
    assert targets_data.get(target.id).state is TargetState.PENDING
    assert "promises:total" not in targets_data.counts(campaign.id)


def test_the_promise_window_follows_promise_max_days(
    world: Lifecycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMISE_MAX_DAYS", "5")
    reset_settings()
    target = world.target(world.campaign())

    with pytest.raises(promise_rules.PromiseRejected) as rejected:
        register(target, date(2025, 3, 16))
    assert rejected.value.code == "date_too_far"
    assert register(target, date(2025, 3, 15)).status is PromiseStatus.PENDING


def test_a_promise_for_another_document_than_the_targets_is_refused(world: Lifecycle) -> None:
    target = world.target(world.campaign())

    with pytest.raises(InvalidInput) as refused:
        register(target, FRIDAY, document="111.444.777-35")

    assert refused.value.code == "document_mismatch"
    assert promises_data.list_page().items == []


def test_paid_by_the_first_check_the_promise_is_fulfilled_and_the_target_paid(world: Lifecycle) -> None:
    add_debtor(world.crm)
    campaign = world.campaign()
    target = world.target(campaign)
    promise = register(target, FRIDAY)
    world.crm.pay_all(target.document)

    live_in(world, FRIDAY + timedelta(days=1))

    settled = promises_data.get(promise.id)
    assert settled.status is PromiseStatus.FULFILLED
    assert settled.fulfilled_at == world.clock.now() and settled.next_check_at is None
    after = targets_data.get(target.id)
    assert (after.state, after.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert world.crm.queries == [target.document]
    assert world.schedules() == []
    stats = campaign_stats(campaign.id)
    assert (stats.fulfilled, stats.paid) == (1, 1)
    assert global_metrics().pending_promises == 0


def test_not_yet_paid_the_promise_is_checked_again_the_next_morning(world: Lifecycle) -> None:
    add_debtor(world.crm)
    target = world.target(world.campaign())
    promise = register(target, FRIDAY)

    live_in(world, date(2025, 3, 15))

    pending = promises_data.get(promise.id)
    assert pending.status is PromiseStatus.PENDING
    assert pending.next_check_at == datetime(2025, 3, 16, 12, 0, tzinfo=UTC)
    [schedule] = world.schedules()
    assert schedule.name == f"promise-{promise.id}-202503160900"
    assert schedule.raw["ScheduleExpression"] == "at(2025-03-16T09:00:00)"
    assert targets_data.get(target.id).outcome is Outcome.PROMISE_MADE


def test_a_whole_promise_month_on_the_virtual_clock_ends_broken_after_seven_days(world: Lifecycle) -> None:
    add_debtor(world.crm)
    campaign = world.campaign()
    target = world.target(campaign)
    promise = register(target, FRIDAY)
    statuses = {}

    for offset in range(0, 20):
        day = date(2025, 3, 11) + timedelta(days=offset)
        live_in(world, day)
        statuses[day] = promises_data.get(promise.id).status

    broken_on = date(2025, 3, 22)  # the 8th morning after the due day: more than 7 days late
    assert all(s is PromiseStatus.PENDING for d, s in statuses.items() if d < broken_on)
    assert all(s is PromiseStatus.BROKEN for d, s in statuses.items() if d >= broken_on)
    assert len(world.crm.queries) == 8  # 15/03 ... 22/03, once a day; none before the due day
    assert world.fired == [f"promise-{promise.id}-202503{day:02d}0900" for day in range(15, 23)]
    assert world.schedules() == []
    after = targets_data.get(target.id)
    assert (after.state, after.outcome) == (TargetState.PENDING, Outcome.PROMISE_BROKEN)
    assert after.outcome_details == "Promessa para 14/03/2025 não cumprida (7 dias de atraso)"
    assert after.next_attempt_at == datetime(2025, 3, 22, 12, 1, tzinfo=UTC)  # due for contact again
    assert campaign_stats(campaign.id).broken == 1


def test_paid_during_the_daily_checks_the_promise_is_fulfilled_at_the_next_one(world: Lifecycle) -> None:
    add_debtor(world.crm, "52998224725", "89.90", "89.90")
    target = world.target(world.campaign())
    promise = register(target, FRIDAY)
    live_in(world, date(2025, 3, 15))
    live_in(world, date(2025, 3, 16))
    world.crm.pay_all(target.document)

    live_in(world, date(2025, 3, 17), at="15:00")

    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    assert len(world.crm.queries) == 3
    assert targets_data.get(target.id).outcome is Outcome.PAID


def test_registering_again_renegotiates_and_replaces_the_schedule(world: Lifecycle) -> None:
    add_debtor(world.crm)
    campaign = world.campaign()
    target = world.target(campaign)
    first = register(target, FRIDAY)
    [old_schedule] = world.schedules()

    second = register(target, date(2025, 3, 20), "100.00")

    assert promises_data.get(first.id).status is PromiseStatus.RENEGOTIATED
    assert second.replaces_id == first.id
    [new_schedule] = world.schedules()
    assert new_schedule.name == f"promise-{second.id}-202503210900" != old_schedule.name
    assert targets_data.get(target.id).outcome_details == "Promessa registrada até 20/03/2025"
    counts = targets_data.counts(campaign.id)
    assert (counts["promises:total"], counts["promises:pending"], counts["promises:renegotiated"]) == (
        2,
        1,
        1,
    )
    assert campaign_stats(campaign.id).promised == 1  # one customer who promised

    # The old schedule, had it fired anyway, finds nothing to do and asks nobody.
    assert failed_ids(world.check(old_schedule.raw["Target"]["Input"])) == []
    assert world.crm.queries == []
    assert promises_data.get(first.id).status is PromiseStatus.RENEGOTIATED


def test_a_renegotiation_without_target_keeps_the_replaced_promises_target(world: Lifecycle) -> None:
    target = world.target(world.campaign())
    first = register(target, FRIDAY)

    # e.g. the customer writes in later, in an inbound conversation that has no target yet
    second = register(target, date(2025, 3, 18), target_id=None, conversation_id="CONV-9")

    assert (second.target_id, second.campaign_id) == (first.target_id, first.campaign_id)
    assert second.conversation_id == "CONV-9"


def test_a_customer_the_crm_no_longer_knows_is_not_taken_as_paid(world: Lifecycle) -> None:
    target = world.target(world.campaign())  # the CRM answers 404 for this document
    promise = register(target, FRIDAY)

    live_in(world, date(2025, 3, 15))

    assert world.crm.queries == [target.document]
    assert promises_data.get(promise.id).status is PromiseStatus.PENDING
    assert [s.raw["ScheduleExpression"] for s in world.schedules()] == ["at(2025-03-16T09:00:00)"]


@pytest.mark.parametrize("outage", ["http_500", "malformed"])
def test_crm_down_at_the_check_settles_nothing_and_checks_again_an_hour_later(
    world: Lifecycle, outage: str
) -> None:
    add_debtor(world.crm)
    target = world.target(world.campaign())
    promise = register(target, FRIDAY)
    world.crm.pay_all(target.document)
    world.crm.outage = outage  # type: ignore[assignment]

    live_in(world, date(2025, 3, 15), at="09:00")

    assert promises_data.get(promise.id).status is PromiseStatus.PENDING
    assert targets_data.get(target.id).outcome is Outcome.PROMISE_MADE
    [retry] = world.schedules()
    assert retry.raw["ScheduleExpression"] == "at(2025-03-15T10:00:00)"

    world.crm.outage = None
    live_in(world, date(2025, 3, 15), at="10:00")

    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED


def test_the_same_check_delivered_twice_schedules_one_next_check(world: Lifecycle) -> None:
    add_debtor(world.crm)
    target = world.target(world.campaign())
    promise = register(target, FRIDAY)
    body = json.dumps({"promiseId": promise.id})
    world.clock.set(datetime(2025, 3, 15, 12, 0, tzinfo=UTC))

    assert failed_ids(world.check(body, body)) == []

    assert [s.name for s in world.schedules() if "20250316" in s.name] == [
        f"promise-{promise.id}-202503160900"
    ]
    assert promises_data.get(promise.id).status is PromiseStatus.PENDING


def test_checks_for_unknown_promises_are_dropped_and_malformed_ones_fail(world: Lifecycle) -> None:
    response = world.check({"promiseId": "01JUNKNOWN0000000000000000"}, {"promise": "x"}, "{")

    assert [item.split("-")[1] for item in failed_ids(response)] == ["1", "2"]


def test_promise_survives_a_scheduler_that_is_not_configured(
    world: Lifecycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCHEDULER_ROLE_ARN")
    reset_settings()
    promise_schedules.reset()  # built from settings again: now incomplete
    target = world.target(world.campaign())

    promise = register(target, FRIDAY)

    assert promises_data.get(promise.id).status is PromiseStatus.PENDING
    assert targets_data.get(target.id).outcome is Outcome.PROMISE_MADE
    assert world.schedules() == []


def test_the_scheduler_built_from_settings_stores_the_schedule(world: Lifecycle) -> None:
    promise_schedules.reset()
    target = world.target(world.campaign())

    promise = register(target, FRIDAY)

    assert [s.name for s in world.schedules()] == [f"promise-{promise.id}-202503150900"]


def test_scheduler_unreachable_the_promise_stands_and_the_monitor_check_is_retried(
    world: Lifecycle,
) -> None:
    add_debtor(world.crm)
    target = world.target(world.campaign())
    promise = register(target, FRIDAY)  # scheduled while EventBridge answered
    previous = promise_schedules.set_scheduler(_unreachable_scheduler())

    again = register(target, date(2025, 3, 20))  # renegotiated while it does not
    world.clock.set(datetime(2025, 3, 21, 12, 0, tzinfo=UTC))
    with pytest.raises(BatchProcessingError):  # the next check cannot be scheduled: SQS retries it
        world.check({"promiseId": again.id})

    assert promises_data.get(promise.id).status is PromiseStatus.RENEGOTIATED
    assert promises_data.get(again.id).status is PromiseStatus.PENDING
    promise_schedules.set_scheduler(previous)
    assert failed_ids(world.check({"promiseId": again.id})) == []
    assert promises_data.get(again.id).next_check_at == datetime(2025, 3, 22, 12, 0, tzinfo=UTC)


def _unreachable_scheduler() -> promise_schedules.EventBridgePromiseScheduler:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = boto3.client(
        "scheduler",
        endpoint_url=f"http://127.0.0.1:{closed_port}",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=0.5, read_timeout=0.5),
    )
    return promise_schedules.EventBridgePromiseScheduler(
        group_name=GROUP, queue_arn=MONITOR_QUEUE_ARN, role_arn=ROLE_ARN, scheduler_client=client
    )


def test_a_check_whose_schedule_was_never_created_is_queued_by_the_upkeep(
    world: Lifecycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="promise-monitor")["QueueUrl"]
    monkeypatch.setenv("PROMISE_MONITOR_QUEUE_URL", queue_url)
    reset_settings()
    queues.reset()
    for document in ("52998224725", "11144477735", "39053344705"):
        add_debtor(world.crm, document)
    campaign = world.campaign()
    lost = register(world.target(campaign), FRIDAY)  # Friday 14/03: first check Sat 09:00
    previous = promise_schedules.set_scheduler(_unreachable_scheduler())
    unscheduled = register(world.target(campaign, document="11144477735"), FRIDAY)
    promise_schedules.set_scheduler(previous)
    fine = register(world.target(campaign, document="39053344705"), date(2025, 3, 20))

    world.clock.set(datetime(2025, 3, 15, 13, 30, tzinfo=UTC))  # Sat 10:30 São Paulo: not yet missed
    assert upkeep.recover_promise_checks(world.clock.now()) == 0
    world.clock.set(datetime(2025, 3, 15, 15, 0, tzinfo=UTC))  # 12:00: both checks are 3 h late
    assert upkeep.recover_promise_checks(world.clock.now()) == 2

    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(json.loads(body)["promiseId"] for body in bodies) == sorted([lost.id, unscheduled.id])
    assert failed_ids(world.check(*bodies)) == []
    for promise in (lost, unscheduled):  # still open in the CRM: checked again tomorrow at 09:00
        assert promises_data.get(promise.id).next_check_at == datetime(2025, 3, 16, 12, 0, tzinfo=UTC)
    assert promises_data.get(fine.id).next_check_at == datetime(2025, 3, 21, 12, 0, tzinfo=UTC)
    assert upkeep.recover_promise_checks(world.clock.now()) == 0
