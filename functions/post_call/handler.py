"""Post-call worker: Twilio status callbacks (queued by the API's signed webhook) → outcome, retry
and channel fallback (`shared.engine.postcall`). A record that raises is retried by SQS, then dead-lettered."""

from __future__ import annotations

from typing import Any

import boto3  # noqa: F401  (loaded first: see functions/__init__.py)
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import loaded
from shared.adapters import clients
from shared.core.jobs import CallStatusEvent
from shared.core.observability import install_log_masking, logger, metrics, tracer
from shared.engine import postcall

install_log_masking()


processor = BatchProcessor(event_type=EventType.SQS)


def hang_up(call_sid: str) -> None:
    # Twilio's client is built on first use: only a machine-answered call needs it.
    clients.voice().hang_up(call_sid)


def play_twiml(call_sid: str, twiml: str) -> None:
    clients.voice().play_twiml(call_sid, twiml)


def record_handler(record: SQSRecord) -> str:
    status = CallStatusEvent.model_validate_json(record.body)
    return postcall.handle_call_status(status, hang_up=hang_up, play_twiml=play_twiml).action.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


loaded()  # the cold start's imports are in: the garbage collector resumes (functions/__init__.py)
