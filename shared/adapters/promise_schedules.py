"""One-time EventBridge Scheduler schedules that wake the promise monitor (SPEC §4, "Promises").

Each check of a promise is one schedule in `settings.scheduler_group_name`, named
`promise-<id>-<YYYYMMDDhhmm>` (the local wall-clock minute of the check, so a promise's schedules never
collide and a repeated request for the same check is recognised), with an `at(...)` expression on the
customer's wall clock and `ScheduleExpressionTimezone` set to their zone. Its target is the monitor's
SQS queue with a `PromiseCheck` body; `ActionAfterCompletion=DELETE` removes it once it has fired.

This module is only the adapter: what to schedule and when is decided in `shared.engine.promises`. It needs
`scheduler:CreateSchedule` and `scheduler:DeleteSchedule` on the group's schedules, and
`iam:PassRole` on `SCHEDULER_ROLE_ARN` (the role EventBridge uses to send to the queue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.aws import client
from shared.core.config import get_settings
from shared.core.jobs import PromiseCheck
from shared.core.observability import logger
from shared.domain.errors import ConfigError, ServiceUnavailable
from shared.domain.models import Promise

NAME_PREFIX: Final = "promise-"
_GONE: Final = ("ResourceNotFoundException",)
_EXISTS: Final = ("ConflictException",)


class ScheduleUnavailable(ServiceUnavailable):
    """EventBridge Scheduler refused or could not be reached."""

    code = "schedule_unavailable"


class PromiseScheduler(Protocol):
    def schedule_check(self, promise: Promise, at: datetime) -> str:
        """Have the monitor check `promise` at `at`; returns the schedule's name. Idempotent."""
        ...

    def cancel(self, name: str) -> None:
        """Delete one schedule; a schedule that no longer exists is not an error."""
        ...

    def cancel_for(self, promise: Promise) -> None:
        """Delete the schedule still waiting for `promise` (the one of its `next_check_at`), if any."""
        ...


def schedule_name(promise: Promise, at: datetime) -> str:
    """`promise-<id>-<YYYYMMDDhhmm>`, the minute on the promise's own wall clock."""
    return f"{NAME_PREFIX}{promise.id}-{at.astimezone(ZoneInfo(promise.timezone)):%Y%m%d%H%M}"


def at_expression(at: datetime, tz: ZoneInfo) -> str:
    """EventBridge's one-time expression for `at` on the wall clock of `tz`: `at(2025-03-16T09:00:00)`."""
    if at.tzinfo is None:
        raise ValueError("the schedule time must be timezone-aware")
    return f"at({at.astimezone(tz):%Y-%m-%dT%H:%M:%S})"


class EventBridgePromiseScheduler:
    """The boto3 `scheduler` implementation. The client is built on first use, never at import."""

    def __init__(self, *, group_name: str, queue_arn: str, role_arn: str, scheduler_client: Any = None):
        self.group_name = group_name
        self._queue_arn = queue_arn
        self._role_arn = role_arn
        self._client = scheduler_client

    @classmethod
    def from_settings(cls) -> EventBridgePromiseScheduler:
        """Built from the deployment's settings; `ConfigError` naming what is missing."""
        settings = get_settings()
        missing = [
            name
            for name, value in (
                ("PROMISE_MONITOR_QUEUE_ARN", settings.promise_monitor_queue_arn),
                ("SCHEDULER_ROLE_ARN", settings.scheduler_role_arn),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"missing required environment variable(s): {', '.join(missing)}")
        assert settings.promise_monitor_queue_arn and settings.scheduler_role_arn
        return cls(
            group_name=settings.scheduler_group_name,
            queue_arn=settings.promise_monitor_queue_arn,
            role_arn=settings.scheduler_role_arn,
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client("scheduler")
        return self._client

    def schedule_check(self, promise: Promise, at: datetime) -> str:
        tz = ZoneInfo(promise.timezone)
        name = schedule_name(promise, at)
        body = PromiseCheck(promise_id=promise.id).model_dump_json(by_alias=True)
        try:
            self.client.create_schedule(
                Name=name,
                GroupName=self.group_name,
                ScheduleExpression=at_expression(at, tz),
                ScheduleExpressionTimezone=tz.key,
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={"Arn": self._queue_arn, "RoleArn": self._role_arn, "Input": body},
                Description=f"Promise check {promise.id}",
            )
        except ClientError as exc:
            if _error_code(exc) not in _EXISTS:
                raise ScheduleUnavailable(f"cannot create schedule {name}: {_error_code(exc)}") from None
            logger.info("promise check already scheduled", schedule=name)
        except BotoCoreError as exc:
            raise ScheduleUnavailable(f"cannot create schedule {name}: {type(exc).__name__}") from None
        return name

    def cancel(self, name: str) -> None:
        try:
            self.client.delete_schedule(Name=name, GroupName=self.group_name)
        except ClientError as exc:
            if _error_code(exc) not in _GONE:
                raise ScheduleUnavailable(f"cannot delete schedule {name}: {_error_code(exc)}") from None
        except BotoCoreError as exc:
            raise ScheduleUnavailable(f"cannot delete schedule {name}: {type(exc).__name__}") from None

    def cancel_for(self, promise: Promise) -> None:
        # A promise has at most one schedule waiting: the one of its `next_check_at` (earlier ones
        # have fired and deleted themselves), so its name is known and no ListSchedules is needed.
        if promise.next_check_at is not None:
            self.cancel(schedule_name(promise, promise.next_check_at))


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


_scheduler: PromiseScheduler | None = None


def get_scheduler() -> PromiseScheduler:
    """The process's scheduler, built from settings on first use (`ConfigError` if incomplete)."""
    global _scheduler
    if _scheduler is None:
        _scheduler = EventBridgePromiseScheduler.from_settings()
    return _scheduler


def set_scheduler(scheduler: PromiseScheduler | None) -> PromiseScheduler | None:
    """Install another scheduler (the sandbox, tests); None rebuilds from settings. Returns the old."""
    global _scheduler
    previous, _scheduler = _scheduler, scheduler
    return previous


def reset() -> None:
    """Forget the current scheduler (tests and the sandbox re-point the endpoint)."""
    set_scheduler(None)
