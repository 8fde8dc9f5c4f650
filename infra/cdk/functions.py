"""The one Lambda factory: every function is a `FunctionSpec` (data, in `workers.py`) built by
`Worker`, with the same runtime, architecture, tracing, logging, alarms and least-privilege role."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.access import Access, Platform
from infra.cdk.alarms import FIVE_MINUTES, Alarms
from infra.cdk.log_groups import log_group
from infra.cdk.nag import justify
from infra.cdk.queues import QueueName
from infra.cdk.settings import AppSettingGroup, DeploymentSettings

RUNTIME = lambda_.Runtime.PYTHON_3_12  # matches `make package`'s --python-version and the container
ARCHITECTURE = lambda_.Architecture.ARM_64  # Graviton: ~20% cheaper per GB-s than x86
METRICS_NAMESPACE = "Cobranca"
# AWS refuses an SQS event source MaximumConcurrency below 2.
MIN_EVENT_SOURCE_CONCURRENCY = 2


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    VOICE = "voice"


class Endpoint(StrEnum):
    """Values known only once the API, the bridge and the user pool exist, that a function hands to
    the outside: callback and stream URLs for Twilio, the dashboard's sign-in."""

    WEBHOOK_BASE = "WEBHOOK_BASE_URL"
    VOICE_BRIDGE = "VOICE_BRIDGE_WS_URL"
    VOICE_BRIDGE_PREPARE = "VOICE_BRIDGE_PREPARE_URL"
    SIGN_IN = "COGNITO_DOMAIN"
    DASHBOARD_CLIENT = "COGNITO_CLIENT_ID"


@dataclass(frozen=True)
class Pace:
    """Concurrency derived from a channel's rate: `rate × seconds each item holds a worker` — the
    number of items in flight when the channel runs at its limit (Little's law)."""

    channel: Channel
    seconds_per_item: float

    def concurrency(self, settings: DeploymentSettings) -> int:
        rate = (
            settings.whatsapp_messages_per_second
            if self.channel is Channel.WHATSAPP
            else settings.voice_calls_per_second
        )
        return max(MIN_EVENT_SOURCE_CONCURRENCY, math.ceil(rate * self.seconds_per_item))


@dataclass(frozen=True)
class Consumer:
    queue: QueueName
    batch_size: int
    pace: Pace | None = None  # None: the event source's minimum concurrency
    # Reserve the concurrency too (not only cap the event source): see `workers.py` for who and why.
    reserve: bool = False

    def max_concurrency(self, settings: DeploymentSettings) -> int:
        return self.pace.concurrency(settings) if self.pace else MIN_EVENT_SOURCE_CONCURRENCY


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # construct id stem and POWERTOOLS_SERVICE_NAME
    handler: str  # module.function inside the shared code asset
    description: str
    timeout_seconds: int
    memory_mb: int
    access: Access
    settings: tuple[AppSettingGroup, ...] = (AppSettingGroup.BUSINESS,)
    consumes: Consumer | None = None
    endpoints: tuple[Endpoint, ...] = ()
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def timeout(self) -> Duration:
        return Duration.seconds(self.timeout_seconds)


class Worker(Construct):
    """A Lambda function from a spec: its own role (logs to its own group, nothing else until granted),
    Python 3.12 on arm64, X-Ray tracing, Powertools settings, retention-bound logs, an Errors alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        code: lambda_.Code,
        platform: Platform,
        endpoints: Mapping[Endpoint, str],
        settings: DeploymentSettings,
        alarms: Alarms,
        queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        logs = log_group(self, "Logs", settings)
        # An own role instead of AWSLambdaBasicExecutionRole: that managed policy may write to every
        # log group of the account; this one writes to its own group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Cobrança {spec.name} function",
        )
        logs.grant_write(self.role)
        environment = platform.grant(spec.access, self.role, self.role)
        environment |= {endpoint.value: endpoints[endpoint] for endpoint in spec.endpoints}
        reserved = (
            spec.consumes.max_concurrency(settings) if spec.consumes and spec.consumes.reserve else None
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=code,
            handler=spec.handler,
            timeout=spec.timeout,
            memory_size=spec.memory_mb,
            role=self.role,
            log_group=logs,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved,
            environment={
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": settings.log_level,
                # pydantic looks for plugins by scanning the entry points of every installed distribution
                # when it builds its first model: a cold-start cost for plugins no function uses.
                "PYDANTIC_DISABLE_PLUGINS": "__all__",
                **settings.settings_for(spec.settings),
                **spec.extra_env,
                **environment,
            },
        )
        justify(
            self.role,
            "IAM5",
            "X-Ray's PutTraceSegments/PutTelemetryRecords (added by active tracing) have no resource-level "
            "permissions: AWS requires Resource '*' for them.",
            applies_to=["Resource::*"],
        )
        justify(
            self.function,
            "L1",
            "Pinned to python3.12 on purpose: `make package` installs wheels for cp312 and the voice bridge "
            "image is python:3.12; the three move together, in one change.",
        )
        if spec.consumes:
            self._consume(spec.consumes, queue, settings)
        alarms.when_above(
            self,
            "ErrorsAlarm",
            self.function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
            description=f"The {spec.name} function raised (not a per-record failure): see its logs.",
        )

    def _consume(self, consumer: Consumer, queue: sqs.IQueue | None, settings: DeploymentSettings) -> None:
        if queue is None:
            raise ValueError(f"{self.spec.name} consumes {consumer.queue}: pass that queue")
        self.function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=consumer.batch_size,
                # A failed record is retried alone; its batch-mates are not re-sent (nor re-contacted).
                report_batch_item_failures=True,
                max_concurrency=consumer.max_concurrency(settings),
            )
        )
