"""S3 `ObjectCreated` on the import bucket → the shared import flow (streams the file, validates,
batch-writes, records the import job and its rejected-rows report)."""

from __future__ import annotations

from typing import Any

import boto3  # noqa: F401  (loaded first: see functions/__init__.py)
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions import loaded
from shared.core.observability import install_log_masking, logger, metrics, tracer
from shared.imports import ingest

install_log_masking()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    finished = []
    for record in event.records:
        # `get_object.key` decodes the URL-encoded key S3 sends ("+" for spaces).
        job = ingest.import_uploaded(
            record.s3.bucket.name, record.s3.get_object.key, record.s3.get_object.size
        )
        if job is not None:
            metrics.add_metric(name="TargetsImported", unit=MetricUnit.Count, value=job.imported)
            metrics.add_metric(
                name="ImportRowsRejected", unit=MetricUnit.Count, value=job.rejected + job.duplicates
            )
            finished.append({"importId": job.id, "status": job.status.value, "imported": job.imported})
    return {"imports": finished}


loaded()  # the cold start's imports are in: the garbage collector resumes (functions/__init__.py)
