"""Promise monitor: a promise's one-time EventBridge schedule sends a `PromiseCheck` to this queue;
the check asks the CRM and settles or re-schedules the promise (`shared.promises.check`). A record that
raises (the next check could not be scheduled) is retried by SQS, then dead-lettered."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.parser.types import Json
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import adapters, promises
from shared.jobs import PromiseCheck
from shared.observability import logger, metrics, tracer


class PromiseCheckRecord(SqsRecordModel):
    body: Json[PromiseCheck]


processor = BatchProcessor(event_type=EventType.SQS, model=PromiseCheckRecord)


def record_handler(record: PromiseCheckRecord) -> str:
    return promises.check(record.body.promise_id, adapters.crm()).result.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
