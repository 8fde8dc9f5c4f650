"""The local runtime does what Lambda's event sources and EventBridge Scheduler do: batches with
partial failures, redrive to the DLQ, one-time schedules on the virtual clock, S3 upload events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3Model, SqsRecordModel

from infra.local.runtime import failed_ids
from infra.local.topology import UPLOADS, Cron
from tests.integration.sandbox.conftest import VISIBILITY, Recorder, work_queue


def test_partial_batch_failure_redelivers_only_the_failed_record(make_world) -> None:
    handler = Recorder(fail=lambda body: body == "bad")
    world = make_world((work_queue(),), {"fake.work": handler}, cron=None)
    world.runtime.stop()  # enqueue first, so the three records arrive in one batch
    for body in ("a", "bad", "c"):
        world.send("work", body)
    world.runtime.start()
    world.settle()
    assert sorted(handler.bodies) == ["a", "bad", "c"]
    assert len(handler.events) == 1

    world.clock.advance(timedelta(seconds=VISIBILITY + 1))
    world.settle()

    assert sorted(handler.bodies) == ["a", "bad", "bad", "c"]
    redelivered = handler.events[-1]["Records"]
    assert [(r["body"], r["attributes"]["ApproximateReceiveCount"]) for r in redelivered] == [("bad", "2")]


def test_failed_record_stays_invisible_until_the_visibility_timeout(make_world) -> None:
    handler = Recorder(fail=lambda body: True)
    world = make_world((work_queue(),), {"fake.work": handler}, cron=None)
    world.send("work", "later")
    world.settle()
    world.clock.advance(timedelta(seconds=VISIBILITY - 15))  # beyond the settle horizon
    world.settle()
    assert handler.bodies == ["later"]


def test_poison_message_reaches_the_dead_letter_queue_after_max_receive_count(make_world) -> None:
    handler = Recorder(fail=lambda body: body == "poison")
    world = make_world((work_queue(max_receive=3),), {"fake.work": handler}, cron=None)
    world.send("work", "poison")
    world.settle()
    for _ in range(4):
        world.clock.advance(timedelta(seconds=VISIBILITY + 1))
        world.settle()

    assert handler.bodies == ["poison"] * 3
    assert world.dead_letters("work") == ["poison"]
    assert world.runtime.dead_letters() == {"work": 0}  # read above: in flight in the DLQ now


def test_handler_exception_fails_the_whole_batch_and_the_runtime_goes_on(make_world) -> None:
    handler = Recorder(raises=True)
    world = make_world((work_queue(),), {"fake.work": handler}, cron=None)
    world.send("work", "one")
    world.settle()
    handler.raises = False
    world.send("work", "two")
    world.settle()
    world.clock.advance(timedelta(seconds=VISIBILITY + 1))
    world.settle()

    assert sorted(handler.bodies) == ["one", "one", "two"]
    stats = world.runtime.handlers.stats["fake.work"]
    assert stats.errors == 1 and "blew up" in (stats.last_error or "")


def test_delayed_message_is_delivered_when_the_virtual_clock_passes_its_delay(make_world) -> None:
    handler = Recorder()
    world = make_world((work_queue(),), {"fake.work": handler}, cron=None)
    world.send("work", "in ten minutes", DelaySeconds=600)
    world.settle()
    assert handler.bodies == []

    world.clock.advance(timedelta(minutes=10, seconds=1))
    world.settle()
    assert handler.bodies == ["in ten minutes"]


def test_records_are_real_sqs_events_with_batch_size_and_fifo_attributes(make_world) -> None:
    handler = Recorder()
    world = make_world((work_queue("inbox", batch_size=1, fifo=True),), {"fake.inbox": handler}, cron=None)
    for n in range(2):
        world.send("inbox", json.dumps({"n": n}), MessageGroupId="chat-1", MessageDeduplicationId=f"m{n}")
    world.settle()

    assert [len(e["Records"]) for e in handler.events] == [1, 1]
    records = [SqsRecordModel.model_validate(e["Records"][0]) for e in handler.events]
    assert [json.loads(r.body)["n"] for r in records] == [0, 1]  # in order, one group
    first = handler.events[0]["Records"][0]
    assert first["attributes"]["MessageGroupId"] == "chat-1"
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == world.provisioned.queues["inbox"].arn
    assert first["awsRegion"] == "sa-east-1"


def test_one_time_schedule_fires_once_when_the_clock_passes_it_and_is_deleted(make_world) -> None:
    handler = Recorder()
    world = make_world((work_queue("monitor"),), {"fake.monitor": handler}, cron=None)
    scheduler = world.aws.client("scheduler")
    group = world.provisioned.schedule_group
    scheduler.create_schedule(
        Name="promise-P1-202503111000",
        GroupName=group,
        ScheduleExpression="at(2025-03-11T10:00:00)",  # São Paulo wall clock: 13:00 UTC
        ScheduleExpressionTimezone="America/Sao_Paulo",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": world.provisioned.queues["monitor"].arn,
            "RoleArn": world.provisioned.scheduler_role_arn,
            "Input": '{"promiseId":"P1"}',
        },
    )
    world.clock.set(world.clock.now() + timedelta(days=1, minutes=59))  # 09:59 local: not yet
    world.settle()
    assert handler.bodies == []

    world.clock.advance(timedelta(minutes=2))
    world.settle()
    world.clock.advance(timedelta(days=1))
    world.settle()

    assert handler.bodies == ['{"promiseId":"P1"}']
    assert scheduler.list_schedules(GroupName=group)["Schedules"] == []
    assert world.runtime.timers.fired == 1


def test_s3_upload_under_the_prefix_invokes_the_ingest_handler_once(make_world) -> None:
    ingest = Recorder()
    world = make_world((), {UPLOADS.consumer: ingest}, cron=None)
    s3 = world.aws.client("s3")
    bucket = world.provisioned.bucket
    s3.put_object(Bucket=bucket, Key="uploads/C1/I1/clientes março.csv", Body=b"nome;cpf\n")
    s3.put_object(Bucket=bucket, Key="reports/C1/I1.csv", Body=b"x")
    world.settle()
    world.clock.advance(timedelta(hours=1))
    world.settle()

    assert len(ingest.events) == 1
    event = S3Model.model_validate(ingest.events[0])
    record = event.Records[0]
    assert record.eventName == "ObjectCreated:Put"
    assert record.s3.bucket.name == bucket
    assert unquote_plus(record.s3.object.key) == "uploads/C1/I1/clientes março.csv"
    assert record.s3.object.size == len(b"nome;cpf\n")


def test_cron_fires_every_five_minutes_in_business_hours_monday_to_saturday() -> None:
    cron = Cron("scheduler", "{}", "America/Sao_Paulo", 5, time(8, 0), time(21, 55), frozenset(range(1, 7)))
    monday = datetime(2025, 3, 10, 10, 50, tzinfo=UTC)
    fired = cron.occurrences(monday, monday + timedelta(minutes=20))  # 07:50 → 08:10 local
    assert [f.strftime("%H:%M") for f in fired] == ["08:00", "08:05", "08:10"]
    saturday_night = monday + timedelta(days=5, hours=14)  # Saturday 21:50 local
    late = cron.occurrences(saturday_night, saturday_night + timedelta(days=1, hours=10))
    assert [f.strftime("%a %H:%M") for f in late] == ["Sat 21:55"]  # nothing on Sunday


def test_a_clock_jump_over_many_ticks_sends_one_tick(make_world) -> None:
    ticks = Recorder()
    cron = Cron(
        "scheduler",
        '{"reason":"tick"}',
        "America/Sao_Paulo",
        5,
        time(8, 0),
        time(21, 55),
        frozenset(range(1, 7)),
    )
    world = make_world((work_queue("scheduler"),), {"fake.scheduler": ticks}, cron=cron)
    world.clock.advance(timedelta(hours=2))
    world.settle()
    assert ticks.bodies == ['{"reason":"tick"}']
    assert world.runtime.timers.ticks == 1


def test_unreadable_batch_answers_fail_the_whole_batch() -> None:
    ids = ["m1", "m2"]
    assert failed_ids(None, ids) == set()
    assert failed_ids({"batchItemFailures": []}, ids) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, ids) == {"m2"}
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == {"m1", "m2"}
    assert failed_ids({"batchItemFailures": [{"id": "m1"}]}, ids) == {"m1", "m2"}
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, ids) == {"m1", "m2"}
    assert failed_ids("not json", ids) == {"m1", "m2"}
