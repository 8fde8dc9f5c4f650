"""Inbound WhatsApp worker: the FIFO `inbound` queue (one message group per chat) → one assistant turn
per message (`shared.engine.inbound.handle`).

FIFO batches are processed in order and stop at the first failure: that record and every one after
it are reported as failed, so SQS redelivers them in the same order (a chat's messages are never
answered out of order). A record that keeps failing is dead-lettered by the queue's redrive policy.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import loaded
from shared.core.jobs import InboundMessage
from shared.core.observability import logger, metrics, tracer
from shared.engine import inbound

processor = SqsFifoPartialProcessor()


def record_handler(record: SQSRecord) -> str:
    message = InboundMessage.model_validate_json(record.body)
    result = inbound.handle(message)
    metrics.add_metric(name=f"Inbound_{result.reason}", unit=MetricUnit.Count, value=1)
    return result.reason


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def inbound_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


loaded()  # the cold start's imports are in: the garbage collector resumes (functions/__init__.py)
