"""boto3 clients built lazily from settings (never at import time), honouring AWS_ENDPOINT_URL."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from shared.core.config import get_settings

_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=15)


def client(service: str) -> Any:
    """A boto3 client for `service` in the configured region and endpoint."""
    settings = get_settings()
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        config=_RETRIES,
    )
