"""Schemathesis' OpenAPI fuzzing of the whole API, in-process over moto: 0 server errors (issue 14).

Every operation gets `FUZZ_EXAMPLES` generated requests (default 100), valid and invalid, with the
admin's token (the webhook token is the same value, so Evolution's endpoint is reached too). Path
ids are those of a real campaign, target, import, promise and conversation made for each operation,
so the requests get past the 404s into the code that handles them. The only check is the one the
issue asks for: no 5xx.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from functions.api.app import create_app
from shared.adapters import queues, storage
from shared.core.config import reset_settings
from shared.data import conversations, promises
from tests.integration.api.conftest import BUCKET, GOOD_CSV, TOKENS

APP = create_app()
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
TALLY = {"requests": 0, "server_errors": 0}
QUEUES = ("scheduler", "whatsapp", "dialer", "post_call", "promise_monitor")


@pytest.fixture
def ids(
    tables: None, clock: Any, monkeypatch: pytest.MonkeyPatch, make_promise: Any, make_conversation: Any
) -> Iterator[dict[str, str]]:
    """Moto with the bucket and queues, the tokens, and one of each resource: their ids by path name."""
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"}
    )
    sqs = boto3.client("sqs")
    for name in QUEUES:
        monkeypatch.setenv(f"{name.upper()}_QUEUE_URL", sqs.create_queue(QueueName=name)["QueueUrl"])
    inbound = sqs.create_queue(QueueName="inbound.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    monkeypatch.setenv("INBOUND_QUEUE_URL", inbound)
    monkeypatch.setenv("COBRANCA_API_TOKENS", ",".join(f"{role}:{token}" for role, token in TOKENS.items()))
    monkeypatch.setenv("EVOLUTION_WEBHOOK_TOKEN", TOKENS["admin"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "twilio-fuzz-token")
    monkeypatch.setenv("IMPORT_BUCKET", BUCKET)
    reset_settings()
    queues.reset()
    storage.reset()
    with TestClient(APP) as client:
        auth = {"Authorization": f"Bearer {TOKENS['admin']}"}
        campaign = client.post(
            "/api/voice/campaigns", json={"name": "Fuzz", "contactMethod": "whatsapp_primary"}, headers=auth
        ).json()
        files = {"file": ("c.csv", io.BytesIO(GOOD_CSV.encode()), "text/csv")}
        imported = client.post(
            f"/api/voice/campaigns/{campaign['id']}/targets/import", files=files, headers=auth
        ).json()
        target = client.get(f"/api/voice/campaigns/{campaign['id']}/targets", headers=auth).json()[0]
    promise = promises.create(make_promise(target_id=target["id"], campaign_id=campaign["id"]))
    conversation = conversations.create(make_conversation(target_id=target["id"], campaign_id=campaign["id"]))
    yield {
        "campaign_id": campaign["id"],
        "target_id": target["id"],
        "targetId": target["id"],
        "import_id": imported["importId"],
        "promise_id": promise.id,
        "conversation_id": conversation.id,
    }
    reset_settings()
    queues.reset()
    storage.reset()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_generated_request_gets_a_server_error(case: Any, ids: dict[str, str]) -> None:
    for name in case.path_parameters or {}:
        if name in ids:
            case.path_parameters[name] = ids[name]
    TALLY["requests"] += 1
    try:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {TOKENS['admin']}"}, checks=[not_a_server_error]
        )
    except Exception:
        TALLY["server_errors"] += 1
        raise
