"""The local runtime: what Lambda's event sources and EventBridge Scheduler do on AWS, done in process
against the sandbox's moto endpoint, invoking the real handlers with the real event shapes.

- `QueuePoller` (one per queue of the topology): receives up to `batch_size` messages, invokes the
  consumer with an SQS event (`Records` with messageId, receiptHandle, body, attributes,
  messageAttributes, md5OfBody, eventSource, eventSourceARN, awsRegion) and a Lambda-like context, and
  honours `ReportBatchItemFailures`: only the successful records are deleted; failed ones become
  visible again after the queue's visibility timeout, and SQS's redrive policy moves a message that
  keeps failing to the DLQ after `maxReceiveCount` receives.
- `UploadNotifier`: moto delivers no S3 notifications to local code, so new objects under the import
  bucket's `uploads/` prefix are found by listing (woken by every S3 write) and each one invokes the
  ingest handler once with an `ObjectCreated:Put` event.
- `Timers`: the EventBridge side, on the virtual clock. One-time schedules of the group (`at(...)` in
  their `ScheduleExpressionTimezone`) deliver their target's Input to the target queue once the clock
  has passed them, then are deleted (`ActionAfterCompletion: DELETE`); the scheduler's cron sends its
  tick. When the clock jumps over several ticks at once, one tick is sent (a tick is a sweep of
  everything due, so the skipped ones would find nothing more).

A handler that raises is logged with its name and never stops the runtime.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger

from infra.local.aws import ACCOUNT_ID, LocalAws, Provisioned, ProvisionedQueue
from infra.local.topology import SCHEDULER_TICK, UPLOADS, Cron, UploadTrigger
from shared.core import clock

log = Logger(service="cobranca-sandbox")  # masked by `install_log_masking` (the sandbox installs it)

Handler = Callable[[dict[str, Any], Any], Any]
IDLE_POLL_SECONDS = 5.0  # a sleeping poller still looks this often (a safety net: wake-ups are explicit)
TIMERS_POLL_SECONDS = 1.0  # a flowing clock passes cron ticks and schedules without jumping
MISSING_RETRY_SECONDS = 5.0
# Delayed messages due within this many real seconds are waited for before the runtime counts as idle
# (the scheduler's pacing); later ones wait for the clock's next jump, which releases them.
HORIZON_SECONDS = 5.0
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


@dataclass
class LambdaContext:
    """What Powertools and our handlers read from Lambda's context object."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 30
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    region: str = "sa-east-1"
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


@dataclass
class HandlerStats:
    invocations: int = 0
    records: int = 0
    failed_records: int = 0
    errors: int = 0  # invocations that raised (the whole batch failed)
    last_error: str | None = None


class Handlers:
    """Handlers by import path, imported on first use; `overrides` stand in for some (tests)."""

    def __init__(self, overrides: Mapping[str, Handler] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._loaded: dict[str, Handler] = {}
        self._missing: dict[str, float] = {}  # path -> when importing it last failed
        self._lock = threading.Lock()
        # One handler module imported at a time: the workers' threads importing the same packages
        # at once (Powertools' batch utilities) meet half-initialised modules and fail.
        self._importing = threading.Lock()
        self.stats: dict[str, HandlerStats] = {}

    def get(self, path: str) -> Handler | None:
        """The handler, or None when its module cannot be imported (logged once, tried again every
        few seconds: a worker being written appears without restarting the sandbox)."""
        with self._lock:
            if path in self._overrides:
                return self._overrides[path]
            if path in self._loaded:
                return self._loaded[path]
            failed_at = self._missing.get(path)
        if failed_at is not None and time.monotonic() - failed_at < MISSING_RETRY_SECONDS:
            return None
        module_name, _, attribute = path.rpartition(".")
        try:
            with self._importing:
                handler = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            with self._lock:
                first = path not in self._missing
                self._missing[path] = time.monotonic()
            if first:
                log.warning("handler not available: its messages wait", handler=path, error=repr(exc))
            return None
        with self._lock:
            self._loaded[path] = handler
        return handler

    def invoke(self, path: str, event: dict[str, Any], context: LambdaContext, records: int) -> Any:
        """Call the handler; its exception is logged with its name and re-raised."""
        handler = self.get(path)
        if handler is None:
            raise LookupError(f"handler {path} is not available")
        stats = self.stats_for(path)
        stats.invocations += 1
        stats.records += records
        try:
            return handler(event, context)
        except Exception as exc:
            stats.errors += 1
            stats.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("handler failed", handler=path, records=records)
            raise

    def stats_for(self, path: str) -> HandlerStats:
        with self._lock:
            return self.stats.setdefault(path, HandlerStats())


# --------------------------------------------------------------------------------------------------
# Event shapes
# --------------------------------------------------------------------------------------------------


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A Lambda SQS event record from a ReceiveMessage result."""
    attributes = dict(message.get("Attributes", {}))
    wanted = (
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "SequenceNumber",
        "MessageGroupId",
        "MessageDeduplicationId",
        "AWSTraceHeader",
        "DeadLetterQueueSourceArn",
    )
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {name: str(attributes[name]) for name in wanted if name in attributes},
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def s3_event(bucket: str, key: str, size: int, etag: str, region: str, at: datetime) -> dict[str, Any]:
    """A Lambda S3 `ObjectCreated:Put` event for one object (the key URL-encoded, as S3 sends it)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:SANDBOX"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": uuid.uuid4().hex,
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "sandbox-uploads",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "SANDBOX"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": etag.strip('"'),
                        "sequencer": f"{time.time_ns():016X}",
                    },
                },
            }
        ]
    }


def failed_ids(response: Any, message_ids: Sequence[str]) -> set[str]:
    """The records a handler reported as failed (`ReportBatchItemFailures`), as Lambda reads them: an
    absent or empty list is success; an unreadable answer fails the whole batch."""
    if response is None or response == "":
        return set()
    if not isinstance(response, dict):
        return set(message_ids)
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    try:
        ids = {str(item["itemIdentifier"]) for item in failures}
    except (TypeError, KeyError):
        return set(message_ids)
    if "" in ids or not ids <= set(message_ids):
        return set(message_ids)
    return ids


# --------------------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------------------


class _Worker:
    """A daemon thread that waits on its wake-up event, then works until there is nothing to do."""

    name = "worker"

    def __init__(self, wake: threading.Event) -> None:
        self._wake = wake
        self._stop = threading.Event()
        self._busy = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._wake.set()  # a first look at start
        self._thread = threading.Thread(target=self._run, daemon=True, name=self.name)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def idle(self) -> bool:
        return not self._busy and not self._wake.is_set()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._sleep_seconds())
            self._busy = True
            self._wake.clear()
            try:
                while not self._stop.is_set() and self._work():
                    pass
            except Exception:  # the runtime never stops; the next wake-up tries again
                log.exception("sandbox worker failed", worker=self.name)
            finally:
                self._busy = False

    def _sleep_seconds(self) -> float:
        return IDLE_POLL_SECONDS

    def _work(self) -> bool:
        """Do one unit of work; False when there was nothing to do."""
        raise NotImplementedError


class QueuePoller(_Worker):
    """Lambda's SQS event source for one queue."""

    def __init__(self, queue: ProvisionedQueue, aws: LocalAws, handlers: Handlers) -> None:
        self.queue = queue
        self.name = f"poller-{queue.spec.name}"
        self._aws = aws
        self._topic = "sqs:" + queue.url.rsplit("/", 1)[-1]
        self._sqs = aws.client("sqs")
        self._handlers = handlers
        super().__init__(aws.activity.event(self._topic))

    def idle(self, horizon_seconds: float = 0.0) -> bool:
        """Nothing to do now, nor any hidden message (delayed, or failed and invisible) due within
        `horizon_seconds` (a consumer that is not written yet counts as idle: its messages wait)."""
        if not super().idle():
            return False
        if self._handlers.get(self.queue.spec.consumer) is None:
            return True
        due = self.due()
        return due is None or due > horizon_seconds

    def due(self) -> float | None:
        """Seconds until the next hidden message shows (negative: it already does)."""
        return self._aws.activity.next_due(self._topic, self._aws.sqs_time())

    def _sleep_seconds(self) -> float:
        due = self.due()
        return IDLE_POLL_SECONDS if due is None else max(0.005, min(due + 0.01, IDLE_POLL_SECONDS))

    def _work(self) -> bool:
        spec = self.queue.spec
        if self._handlers.get(spec.consumer) is None:
            return False
        self._aws.activity.clear_due(self._topic, self._aws.sqs_time())
        messages = self._sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=spec.batch_size,
            WaitTimeSeconds=0,  # never long-poll: the server handles one request at a time
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return False
        records = [sqs_record(m, self.queue.arn, self._aws.region) for m in messages]
        ids = [r["messageId"] for r in records]
        context = LambdaContext(
            function_name=f"sandbox-{spec.name}",
            timeout_seconds=spec.function_timeout_seconds,
            region=self._aws.region,
        )
        try:
            failed = failed_ids(
                self._handlers.invoke(spec.consumer, {"Records": records}, context, len(records)), ids
            )
        except Exception:
            failed = set(ids)  # Lambda: the whole batch returns after the visibility timeout
        self._handlers.stats_for(spec.consumer).failed_records += len(failed)
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if m["MessageId"] not in failed
        ]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self.queue.url, Entries=done)
        if failed:
            # Invisible until the visibility timeout runs out (in SQS time: the clock's jumps count).
            self._aws.activity.delayed(self._topic, self._aws.sqs_time() + spec.visibility_timeout_seconds)
            log.warning(
                "records failed; retried after the visibility timeout", queue=spec.name, failed=len(failed)
            )
        return True


class UploadNotifier(_Worker):
    """S3 `ObjectCreated` for the import bucket's upload prefix, found by listing."""

    name = "s3-notifier"

    def __init__(
        self, bucket: str, aws: LocalAws, handlers: Handlers, trigger: UploadTrigger = UPLOADS
    ) -> None:
        self._bucket = bucket
        self._aws = aws
        self._s3 = aws.client("s3")
        self._handlers = handlers
        self._trigger = trigger
        self._seen: set[tuple[str, str, str]] = set()
        super().__init__(aws.activity.event("s3"))

    def _sleep_seconds(self) -> float:
        return 5.0  # every S3 write wakes it; the timeout is only a safety net

    def _work(self) -> bool:
        if self._handlers.get(self._trigger.consumer) is None:
            return False
        found = False
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._trigger.prefix
        ):
            for item in page.get("Contents", []):
                mark = (item["Key"], item["ETag"], item["LastModified"].isoformat())
                if mark in self._seen:
                    continue
                self._seen.add(mark)
                found = True
                event = s3_event(
                    self._bucket, item["Key"], int(item["Size"]), item["ETag"], self._aws.region, clock.now()
                )
                context = LambdaContext(
                    function_name="sandbox-ingest", timeout_seconds=900, region=self._aws.region
                )
                try:
                    self._handlers.invoke(self._trigger.consumer, event, context, 1)
                except Exception:  # S3 → Lambda is asynchronous: logged, not retried here
                    self._handlers.stats_for(self._trigger.consumer).failed_records += 1
        return found


@dataclass(frozen=True)
class _OneTime:
    name: str
    version: tuple[str, str]  # (name, last modification): a schedule made again fires again
    at: datetime
    target_arn: str
    body: str
    group_id: str | None
    delete_after: bool


class Timers(_Worker):
    """EventBridge Scheduler on the virtual clock: one-time schedules and the scheduler's cron."""

    name = "timers"

    def __init__(
        self,
        provisioned: Provisioned,
        aws: LocalAws,
        *,
        cron: Cron | None = SCHEDULER_TICK,
    ) -> None:
        self._provisioned = provisioned
        self._aws = aws
        self._scheduler = aws.client("scheduler")
        self._sqs = aws.client("sqs")
        self._cron = cron
        self._cron_checked = clock.now()
        self._parsed: dict[tuple[str, str], _OneTime | None] = {}
        self._fired: set[tuple[str, str]] = set()
        self.fired = 0  # one-time schedules delivered
        self.ticks = 0  # cron ticks sent
        super().__init__(aws.activity.event("scheduler"))

    def _sleep_seconds(self) -> float:
        return TIMERS_POLL_SECONDS

    def _work(self) -> bool:
        now = clock.now()
        self._fire_schedules(now)
        self._tick(now)
        return False

    def _fire_schedules(self, now: datetime) -> None:
        summaries: list[dict[str, Any]] = []
        for page in self._scheduler.get_paginator("list_schedules").paginate(
            GroupName=self._provisioned.schedule_group
        ):
            summaries.extend(page.get("Schedules", []))
        current = {(str(s["Name"]), str(s.get("LastModificationDate"))) for s in summaries}
        self._parsed = {key: parsed for key, parsed in self._parsed.items() if key in current}
        self._fired &= current  # forget deleted schedules
        for summary in sorted(summaries, key=lambda s: str(s["Name"])):
            schedule = self._one_time(summary)
            if schedule is None or schedule.at > now or schedule.version in self._fired:
                continue
            self._deliver(schedule)

    def _one_time(self, summary: dict[str, Any]) -> _OneTime | None:
        key = (str(summary["Name"]), str(summary.get("LastModificationDate")))
        if key not in self._parsed:
            self._parsed[key] = self._parse(key)
        return self._parsed[key]

    def _parse(self, version: tuple[str, str]) -> _OneTime | None:
        name = version[0]
        found = self._scheduler.get_schedule(GroupName=self._provisioned.schedule_group, Name=name)
        match = _AT.match(found.get("ScheduleExpression", ""))
        if match is None or found.get("State", "ENABLED") != "ENABLED":
            log.info("schedule ignored: only enabled one-time at(...) schedules fire here", schedule=name)
            return None
        zone = ZoneInfo(found.get("ScheduleExpressionTimezone") or "UTC")
        target = found["Target"]
        return _OneTime(
            name=name,
            version=version,
            at=datetime.fromisoformat(match.group(1)).replace(tzinfo=zone),
            target_arn=target["Arn"],
            body=target.get("Input", "{}"),
            group_id=(target.get("SqsParameters") or {}).get("MessageGroupId"),
            delete_after=found.get("ActionAfterCompletion") == "DELETE",
        )

    def _deliver(self, schedule: _OneTime) -> None:
        queue = self._provisioned.queue_by_arn(schedule.target_arn)
        if queue is None:
            log.error("schedule targets an unknown queue", schedule=schedule.name, arn=schedule.target_arn)
            self._fired.add(schedule.version)
            return
        params: dict[str, Any] = {"QueueUrl": queue.url, "MessageBody": schedule.body}
        if queue.spec.fifo:
            params |= {
                "MessageGroupId": schedule.group_id or schedule.name,
                "MessageDeduplicationId": schedule.name,
            }
        self._sqs.send_message(**params)
        self._fired.add(schedule.version)
        self.fired += 1
        log.info("schedule fired", schedule=schedule.name, queue=queue.spec.name, at=schedule.at.isoformat())
        if schedule.delete_after:
            try:
                self._scheduler.delete_schedule(
                    GroupName=self._provisioned.schedule_group, Name=schedule.name
                )
            except self._scheduler.exceptions.ResourceNotFoundException:
                pass  # deleted meanwhile (the promise was settled)

    def _tick(self, now: datetime) -> None:
        if self._cron is None or self._cron.queue not in self._provisioned.queues:
            return
        due = self._cron.occurrences(self._cron_checked, now)
        self._cron_checked = max(self._cron_checked, now)
        if not due:
            return
        queue = self._provisioned.queues[self._cron.queue]
        self._sqs.send_message(QueueUrl=queue.url, MessageBody=self._cron.body)
        self.ticks += 1
        log.debug("cron tick", at=due[-1].isoformat(), coalesced=len(due))


# --------------------------------------------------------------------------------------------------
# The runtime
# --------------------------------------------------------------------------------------------------


class LocalRuntime:
    """Every event source of the deployment, started and stopped together."""

    def __init__(
        self,
        aws: LocalAws,
        provisioned: Provisioned,
        *,
        handlers: Mapping[str, Handler] | None = None,
        cron: Cron | None = SCHEDULER_TICK,
    ) -> None:
        self.aws = aws
        self.provisioned = provisioned
        self.handlers = Handlers(handlers)
        self.pollers = [QueuePoller(q, aws, self.handlers) for q in provisioned.queues.values()]
        self.notifier = UploadNotifier(provisioned.bucket, aws, self.handlers)
        self.timers = Timers(provisioned, aws, cron=cron)
        self._workers: list[_Worker] = [*self.pollers, self.notifier, self.timers]

    def start(self) -> LocalRuntime:
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop()

    def clock_jumped(self, _now: datetime | None = None) -> None:
        """The virtual clock jumped: schedules and ticks may be due, and hidden messages may show."""
        self.timers.wake()
        for poller in self.pollers:
            due = poller.due()
            if due is not None and due <= 0:
                poller.wake()

    def idle(self, horizon_seconds: float = HORIZON_SECONDS) -> bool:
        """Nothing running or waiting to run, and no delayed message due within `horizon_seconds`
        (later ones wait for the clock: the next jump releases them)."""
        return self.aws.caught_up() and all(
            w.idle(horizon_seconds) if isinstance(w, QueuePoller) else w.idle() for w in self._workers
        )

    def settle(
        self,
        *,
        timeout: float = 30.0,
        horizon_seconds: float = HORIZON_SECONDS,
        also_idle: Callable[[], bool] | None = None,
    ) -> bool:
        """Wait until the runtime (and `also_idle`, e.g. the simulated customers) has nothing left to
        do; False on timeout. Two consecutive idle looks, so work handed between workers is seen."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            if self.idle(horizon_seconds) and (also_idle is None or also_idle()):
                quiet += 1
                if quiet >= 3:
                    return True
            else:
                quiet = 0
            time.sleep(0.005)
        return False

    def dead_letters(self) -> dict[str, int]:
        """Messages waiting in each queue's DLQ."""
        sqs = self.aws.client("sqs")
        counts = {}
        for name, queue in self.provisioned.queues.items():
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue.dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            counts[name] = int(attributes.get("ApproximateNumberOfMessages", 0))
        return counts

    def summary(self) -> dict[str, Any]:
        return {
            "handlers": {path: vars(stats) for path, stats in self.handlers.stats.items()},
            "schedulesFired": self.timers.fired,
            "cronTicks": self.timers.ticks,
        }
