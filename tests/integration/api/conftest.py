"""The API in-process (Starlette's TestClient) over moto: tables, the import bucket and the scheduler
queue, with one bearer token per role."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from shared.adapters import queues, storage
from shared.core.config import reset_settings

TOKENS = {"viewer": "viewer-token", "supervisor": "supervisor-token", "admin": "admin-token"}
BUCKET = "cobranca-imports-test"


class Api:
    """A TestClient plus the role headers and a few shortcuts."""

    def __init__(self, client: TestClient, scheduler_queue_url: str) -> None:
        self.client = client
        self.scheduler_queue_url = scheduler_queue_url

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKENS[role]}"}

    def get(self, path: str, role: str = "viewer", **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(role), **kwargs)

    def post(self, path: str, role: str = "admin", **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.headers(role), **kwargs)

    def patch(self, path: str, role: str = "admin", **kwargs: Any) -> Any:
        return self.client.patch(path, headers=self.headers(role), **kwargs)

    def delete(self, path: str, role: str = "admin", **kwargs: Any) -> Any:
        return self.client.delete(path, headers=self.headers(role), **kwargs)

    def create_campaign(self, **overrides: Any) -> dict[str, Any]:
        body = {"name": "Cobrança Janeiro", "contactMethod": "whatsapp_primary"} | overrides
        response = self.post("/api/voice/campaigns", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def import_csv(
        self, campaign_id: str, text: str, filename: str = "clientes.csv", role: str = "admin"
    ) -> Any:
        files = {"file": (filename, io.BytesIO(text.encode("utf-8")), "text/csv")}
        return self.post(f"/api/voice/campaigns/{campaign_id}/targets/import", role=role, files=files)

    def scheduler_messages(self) -> list[str]:
        sqs = boto3.client("sqs")
        found = sqs.receive_message(QueueUrl=self.scheduler_queue_url, MaxNumberOfMessages=10)
        return [m["Body"] for m in found.get("Messages", [])]


@pytest.fixture
def api(tables: None, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"}
    )
    queue_url = boto3.client("sqs").create_queue(QueueName="scheduler")["QueueUrl"]
    monkeypatch.setenv("COBRANCA_API_TOKENS", ",".join(f"{role}:{token}" for role, token in TOKENS.items()))
    monkeypatch.setenv("IMPORT_BUCKET", BUCKET)
    monkeypatch.setenv("SCHEDULER_QUEUE_URL", queue_url)
    reset_settings()
    queues.reset()
    storage.reset()
    from functions.api.app import create_app

    with TestClient(create_app()) as client:
        yield Api(client, queue_url)
    reset_settings()
    queues.reset()
    storage.reset()


GOOD_CSV = (
    "nome;telefone;cpf;valor;fatura;vencimento\n"
    "João Silva;(11) 99999-8888;111.444.777-35;R$ 179,80;FAT-001;10/02/2025\n"
    "Maria Souza;21 98888-7777;12.ABC.345/01DE-35;89,90;FAT-002;15/02/2025\n"
)


def make_cpf(seed: int) -> str:
    """A valid CPF derived from `seed` (check digits computed as the Receita does)."""
    base = [int(d) for d in f"{seed % 10**9:09d}"]
    if len(set(base)) == 1:
        base[-1] = (base[-1] + 1) % 10
    for weight_start in (10, 11):
        total = sum(d * w for d, w in zip(base, range(weight_start, 1, -1), strict=False))
        base.append(0 if total % 11 < 2 else 11 - total % 11)
    return "".join(map(str, base))
