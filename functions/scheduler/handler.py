"""Scheduler worker: a tick (EventBridge cron, every active campaign) or an activation (one campaign)
on the scheduler queue → upkeep of the work in flight (`shared.engine.upkeep`), then due targets onto the
channel queues, paced (`shared.engine.sweep`); a campaign the team completed → its open cases closed
(`shared.engine.campaigns.close_open_cases`), a campaign's new cadence → its waiting follow-ups retimed
(`shared.engine.campaigns.retime_follow_ups`), each continued by another job when it outlasts the
budget."""

from __future__ import annotations

from typing import Any

import boto3  # noqa: F401  (loaded first: see functions/__init__.py)
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import loaded
from shared.core import clock
from shared.core.jobs import SchedulerTick
from shared.core.observability import install_log_masking, logger, metrics, tracer
from shared.engine import campaigns, sweep, upkeep

install_log_masking()

# Seconds kept back from the invocation's remaining time: a sweep or a job over a campaign's cases stops
# early rather than time out.
SAFETY_SECONDS = 15


processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> dict[str, int]:
    tick = SchedulerTick.model_validate_json(record.body)
    budget = max(1.0, lambda_context.get_remaining_time_in_millis() / 1000 - SAFETY_SECONDS)
    if tick.closes_campaign:
        return {"closed": campaigns.close_open_cases(tick, time_budget=budget)}
    if tick.retimes_follow_ups:
        return {"retimed": campaigns.retime_follow_ups(tick, time_budget=budget)}
    upkeep.run(tick.campaign_id, clock.now())
    return sweep.sweep(tick, time_budget=budget).per_channel()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


loaded()  # the cold start's imports are in: the garbage collector resumes (functions/__init__.py)
