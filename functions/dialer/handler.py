"""Dialer worker: a job from the dialer queue → pre-send guards → a Twilio call, placed exactly once
(`shared.engine.outreach_voice`). A record that raises (Twilio down, no call slot in time) is retried by SQS with
backoff, then dead-lettered."""

from __future__ import annotations

from typing import Any

import boto3  # noqa: F401  (loaded first: see functions/__init__.py)
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import loaded
from shared.core.jobs import OutreachJob
from shared.core.observability import install_log_masking, logger, metrics, tracer
from shared.engine import outreach_voice

install_log_masking()


processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> str:
    job = OutreachJob.model_validate_json(record.body)
    return outreach_voice.deliver(job).value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


loaded()  # the cold start's imports are in: the garbage collector resumes (functions/__init__.py)
