"""Sending work to the deployment's SQS queues: the one place that builds message attributes,
FIFO group ids and delays. Consumers parse bodies with the models in `shared.core.jobs`."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from shared.adapters.aws import client
from shared.core.config import get_settings

MAX_DELAY_SECONDS = 900  # SQS's limit


def send(
    queue: str,
    body: dict[str, Any],
    *,
    delay_seconds: int = 0,
    group_id: str | None = None,
    dedup_id: str | None = None,
) -> str:
    """Enqueue `body` (JSON) on the named queue; returns the SQS message id."""
    params: dict[str, Any] = {
        "QueueUrl": get_settings().queue_url(queue),
        "MessageBody": json.dumps(body, separators=(",", ":"), default=str),
    }
    if group_id is not None:  # FIFO queues ignore per-message delays
        params["MessageGroupId"] = group_id
        params["MessageDeduplicationId"] = dedup_id or body.get("id") or group_id
    elif delay_seconds:
        params["DelaySeconds"] = max(0, min(int(delay_seconds), MAX_DELAY_SECONDS))
    return str(_sqs().send_message(**params)["MessageId"])


def depth(queue: str) -> dict[str, int]:
    """Visible, in-flight and delayed message counts (for /api/debug/queues)."""
    attributes = _sqs().get_queue_attributes(
        QueueUrl=get_settings().queue_url(queue),
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


@lru_cache(maxsize=1)
def _sqs() -> Any:
    return client("sqs")


def reset() -> None:
    """Drop the cached client (tests and the sandbox re-point the endpoint)."""
    _sqs.cache_clear()
