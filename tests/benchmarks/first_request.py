"""The API's cold start as a caller sees it, for `bench_cold_start.py`: loading the handler, then its first
request — a signed-in viewer's `GET /api/voice/campaigns`, as API Gateway's HTTP API delivers it
(Cognito claims, as deployed), answered from DynamoDB: the sandbox's moto server, in a process of its
own, its tables created up front. Work a handler defers from its import to its first request shows
here, not nowhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final
from unittest import mock

from infra.local.aws import LocalAws
from infra.local.environment import FAKE_CREDENTIALS

CASE: Final = "functions.api.handler.handler + GET"
_PATH: Final = "/api/voice/campaigns"
_PREFIX: Final = "bench"
_EVENT: Final[dict[str, Any]] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": _PATH,
    "rawQueryString": "",
    "headers": {"host": "api.example.com", "x-forwarded-proto": "https", "x-forwarded-port": "443"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api",
        "authorizer": {"jwt": {"claims": {"sub": "bench", "cognito:groups": "[viewer]"}, "scopes": None}},
        "domainName": "api.example.com",
        "http": {
            "method": "GET",
            "path": _PATH,
            "protocol": "HTTP/1.1",
            "sourceIp": "1.2.3.4",
            "userAgent": "bench",
        },
        "requestId": "bench",
        "routeKey": "$default",
        "stage": "$default",
        "time": "10/Mar/2025:12:00:00 +0000",
        "timeEpoch": 1741608000000,
    },
    "isBase64Encoded": False,
}


def statement() -> str:
    """Load the handler as Lambda does, then answer the request (a non-200 fails the benchmark)."""
    return (
        f"from functions.api.handler import handler; answer = handler({_EVENT!r}, None); "
        "assert answer['statusCode'] == 200, answer"
    )


@contextmanager
def dynamodb() -> Iterator[dict[str, str]]:
    """moto's server with every table, and the environment that points a deployed function at it."""
    from shared.core.config import Settings, from_environment
    from shared.data import bind, create_tables

    aws = LocalAws(in_child=True).start()
    environment = {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": aws.url,
        "COBRANCA_TABLE_PREFIX": _PREFIX,
        "COBRANCA_AUTH_MODE": "cognito",
    }
    try:
        with mock.patch.dict(os.environ, environment):  # the credentials botocore signs with
            bind(from_environment(Settings))
            create_tables()
        yield environment
    finally:
        aws.stop()
