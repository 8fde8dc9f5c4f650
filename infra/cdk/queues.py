"""The work queues: one construct makes a queue, its dead-letter queue and the DLQ alarm."""

from __future__ import annotations

from enum import StrEnum

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.alarms import ONE_MINUTE, Alarms

# One description of the queues' settings, shared with the local sandbox (`infra/local/topology.py`,
# which imports nothing of the CDK); tests/infra checks the deployed stack against all of it.
from infra.local.topology import DLQ_RETENTION_SECONDS, MAX_RECEIVE_COUNT, VISIBILITY_PER_FUNCTION_TIMEOUT


class QueueName(StrEnum):
    """The deployment's queues, named as `shared.adapters.queues.send()` names them."""

    SCHEDULER = "scheduler"
    WHATSAPP = "whatsapp"
    DIALER = "dialer"
    POST_CALL = "post_call"
    INBOUND = "inbound"  # FIFO: one message group per chat, so a chat's replies stay in order
    PROMISE_MONITOR = "promise_monitor"

    @property
    def fifo(self) -> bool:
        return self is QueueName.INBOUND

    @property
    def url_variable(self) -> str:
        return f"{self.value.upper()}_QUEUE_URL"


class WorkQueue(Construct):
    """An SSE, SSL-only queue whose poison messages land in a DLQ that raises an alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: QueueName,
        consumer_timeout: Duration,
        alarms: Alarms,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = name
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            fifo=name.fifo or None,  # a FIFO queue's DLQ must be FIFO too
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.seconds(DLQ_RETENTION_SECONDS),
            removal_policy=removal_policy,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            fifo=name.fifo or None,
            # Producers pass MessageDeduplicationId (the inbound message's id): two different replies
            # with the same text must not be merged, so content-based deduplication stays off.
            content_based_deduplication=False if name.fifo else None,
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP if name.fifo else None,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID if name.fifo else None,
            visibility_timeout=Duration.seconds(
                consumer_timeout.to_seconds() * VISIBILITY_PER_FUNCTION_TIMEOUT
            ),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letters
            ),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=removal_policy,
        )
        alarms.when_above(
            self,
            "DeadLettersAlarm",
            self.dead_letters.metric_approximate_number_of_messages_visible(
                period=ONE_MINUTE, statistic="Maximum"
            ),
            description=f"Messages of the {name.value} queue failed {MAX_RECEIVE_COUNT} times and wait "
            "in its dead-letter queue: inspect them, fix the cause, then redrive.",
        )
