"""What the deployment is made of, as plain data: the queues (with their dead-letter queues and
consumers), the import bucket's upload trigger, the schedule group and the scheduler's cron.

The local sandbox builds its moto resources and its runtime from this one description; it carries no
CDK import so the CDK app can read it too (`infra/cdk/queues.py` takes its queue settings from here).
The values follow `infra/cdk` (`queues.py`, `workers.py`, `scheduling.py`, `storage.py`): the same
queue names, batch sizes, function timeouts, visibility timeouts (6 × the consumer's timeout) and max
receive count — `tests/infra/test_functions.py` checks them against the synthesized stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

# AWS: "set the source queue's visibility timeout to at least six times the function's timeout", so a
# batch retried by Lambda after throttling is not redelivered to a second invocation meanwhile.
VISIBILITY_PER_FUNCTION_TIMEOUT: Final = 6
# Five receives absorb transient failures (a CRM timeout, a 429 from Evolution, a throttled invocation)
# before a message is parked for a human; the code already retries with backoff inside each receive.
MAX_RECEIVE_COUNT: Final = 5
DLQ_RETENTION_SECONDS: Final = 14 * 24 * 3600  # SQS's maximum: time for a human to look


@dataclass(frozen=True)
class QueueSpec:
    """One work queue, its dead-letter queue and the Lambda function that consumes it."""

    name: str  # as `shared.adapters.queues.send()` names it: "whatsapp", "post_call", ...
    consumer: str  # the handler's import path, "functions.dialer.handler.handler"
    batch_size: int
    function_timeout_seconds: int
    fifo: bool = False
    max_receive_count: int = MAX_RECEIVE_COUNT
    visibility_timeout_override: int | None = None  # tests; otherwise 6 × the function timeout

    @property
    def visibility_timeout_seconds(self) -> int:
        if self.visibility_timeout_override is not None:
            return self.visibility_timeout_override
        return self.function_timeout_seconds * VISIBILITY_PER_FUNCTION_TIMEOUT

    @property
    def url_variable(self) -> str:
        """The environment variable that gives the workers its URL (`WHATSAPP_QUEUE_URL`)."""
        return f"{self.name.upper()}_QUEUE_URL"

    @property
    def arn_variable(self) -> str:
        return f"{self.name.upper()}_QUEUE_ARN"

    def physical_name(self, prefix: str) -> str:
        return f"{prefix}-{self.name}" + (".fifo" if self.fifo else "")

    def dead_letter_name(self, prefix: str) -> str:
        return f"{prefix}-{self.name}-dlq" + (".fifo" if self.fifo else "")


QUEUES: Final[tuple[QueueSpec, ...]] = (
    # Each scheduler message is a whole sweep of due targets.
    QueueSpec("scheduler", "functions.scheduler.handler.handler", batch_size=1, function_timeout_seconds=120),
    QueueSpec(
        "whatsapp", "functions.whatsapp.handler.outreach_handler", batch_size=1, function_timeout_seconds=30
    ),
    QueueSpec("dialer", "functions.dialer.handler.handler", batch_size=1, function_timeout_seconds=30),
    QueueSpec("post_call", "functions.post_call.handler.handler", batch_size=10, function_timeout_seconds=30),
    # FIFO, one message group per chat: a customer's messages are answered in order.
    QueueSpec(
        "inbound",
        "functions.whatsapp.handler.inbound_handler",
        batch_size=1,
        function_timeout_seconds=90,
        fifo=True,
    ),
    QueueSpec(
        "promise_monitor",
        "functions.promise_monitor.handler.handler",
        batch_size=5,
        function_timeout_seconds=60,
    ),
)


@dataclass(frozen=True)
class UploadTrigger:
    """S3 `ObjectCreated` under `prefix` of the import bucket invokes `consumer`."""

    prefix: str
    consumer: str


UPLOADS: Final = UploadTrigger(prefix="uploads/", consumer="functions.ingest.handler.handler")


@dataclass(frozen=True)
class Cron:
    """EventBridge's `cron(0/5 8-21 ? * MON-SAT *)` in `timezone`: every `every_minutes` between
    `first` and `last` (inclusive) on the ISO weekdays listed, sending `body` to `queue`."""

    queue: str
    body: str
    timezone: str
    every_minutes: int
    first: time
    last: time
    weekdays: frozenset[int]

    def occurrences(self, after: datetime, until: datetime) -> list[datetime]:
        """Every firing instant in (`after`, `until`], oldest first (UTC)."""
        zone = ZoneInfo(self.timezone)
        found: list[datetime] = []
        day = after.astimezone(zone).date()
        while day <= until.astimezone(zone).date():
            if day.isoweekday() in self.weekdays:
                minute = self.first.hour * 60 + self.first.minute
                last = self.last.hour * 60 + self.last.minute
                while minute <= last:
                    at = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
                    if after < at <= until:
                        found.append(at)
                    minute += self.every_minutes
            day += timedelta(days=1)
        return found

    def next_after(self, after: datetime, horizon: timedelta = timedelta(days=8)) -> datetime | None:
        """The first firing instant after `after` (None beyond `horizon`)."""
        upcoming = self.occurrences(after, after + horizon)
        return upcoming[0] if upcoming else None


# Same as infra/cdk/scheduling.py's business-hours tick: 08:00–21:55 São Paulo time, Monday–Saturday.
SCHEDULER_TICK: Final = Cron(
    queue="scheduler",
    body='{"reason":"tick"}',
    timezone="America/Sao_Paulo",
    every_minutes=5,
    first=time(8, 0),
    last=time(21, 55),
    weekdays=frozenset({1, 2, 3, 4, 5, 6}),
)

SCHEDULE_GROUP_VARIABLE: Final = "SCHEDULER_GROUP_NAME"


def queue(name: str, queues: tuple[QueueSpec, ...] = QUEUES) -> QueueSpec:
    """The spec of the queue called `name` (KeyError naming the known ones)."""
    for spec in queues:
        if spec.name == name:
            return spec
    raise KeyError(f"no queue {name!r}; known: {', '.join(s.name for s in queues)}")
