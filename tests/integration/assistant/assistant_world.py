"""The world of the WhatsApp assistant tests (imported by conftest.py and the tests): constants, the
simulators' holder, `World` (Evolution's side, SQS and Lambda's side, the data) and the SQS event
builder. The fixtures that build it live in conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from fastapi.testclient import TestClient
from openai import OpenAI

from infra.local.simulators.crm import CrmSimulator, SimInvoice
from infra.local.simulators.evolution import EvolutionSimulator, messages_update, messages_upsert
from infra.local.simulators.openai import OpenAISimulator
from infra.local.simulators.server import RunningServer
from shared.adapters import clients
from shared.adapters.crm import HttpCrmClient
from shared.adapters.evolution import EvolutionClient
from shared.core import clock as clock_module
from shared.core.config import reset_settings
from shared.data import conversations, messages
from shared.data import targets as targets_data
from shared.domain.ids import new_id
from shared.domain.models import Conversation, ConversationSource, Message, Sender, Target

CRM_KEY = "crm-assistant-key"
EVOLUTION_KEY = "evolution-assistant-key"
INSTANCE = "cobranca"
OPENAI_KEY = "sk-assistant-test"
WEBHOOK_TOKEN = "webhook-secret-token"
GROUP = "cobranca-promises"
DOCUMENT = "52998224725"  # Maria's CPF
OTHER_DOCUMENT = "11144477735"  # somebody else's
PHONE = "5511999998888"
JID = f"{PHONE}@s.whatsapp.net"
WEBHOOK = "/api/whatsapp/webhook"


class FakeContext:
    function_name = "whatsapp-inbound"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:sa-east-1:123456789012:function:whatsapp-inbound"
    aws_request_id = "req-inbound"


@dataclass
class Servers:
    """The simulators, and clients of them built once per process (an HTTP client's TLS setup costs
    tens of milliseconds, a boto3 session hundreds)."""

    crm: CrmSimulator
    evolution: EvolutionSimulator
    model: OpenAISimulator
    running: dict[str, RunningServer]
    crm_client: HttpCrmClient | None = None
    evolution_client: EvolutionClient | None = None
    model_client: OpenAI | None = None
    boto_session: boto3.session.Session | None = None

    def url(self, name: str) -> str:
        return self.running[name].url


@dataclass
class World:
    crm: CrmSimulator
    evolution: EvolutionSimulator
    model: OpenAISimulator
    api: TestClient
    queue_url: str
    clock: clock_module.VirtualClock
    sqs: Any
    handler_responses: list[dict[str, Any]] = field(default_factory=list)

    # --- Evolution's side ---

    def post(self, envelope: Any, *, token: str | None = WEBHOOK_TOKEN, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.api.post(WEBHOOK, json=envelope, headers=headers, **kwargs)

    def say(self, text: str | None, *, jid: str = JID, message_id: str | None = None) -> Any:
        """The customer writes: Evolution posts `messages.upsert`; returns the webhook's response."""
        envelope = messages_upsert(instance=INSTANCE, remote_jid=jid, text=text, message_id=message_id)
        response = self.post(envelope)
        assert response.status_code == 200, response.text
        return response

    def receipt(self, key_id: str, status: str) -> Any:
        return self.post(messages_update(instance=INSTANCE, remote_jid=JID, key_id=key_id, status=status))

    # --- SQS and Lambda's side ---

    def receive(self) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        return list(found.get("Messages", []))

    def queue_client(self) -> Any:
        return self.sqs

    def drain(self, *, rounds: int = 10) -> list[str]:
        """Deliver queued messages to the inbound handler until the queue is empty (or `rounds`
        batches); returns the ids of the records the handler reported failed."""
        from functions.whatsapp.inbound import inbound_handler

        failed: list[str] = []
        for _ in range(rounds):
            batch = self.receive()
            if not batch:
                break
            try:
                response = inbound_handler(lambda_event(batch, self.queue_url), FakeContext())
            except BatchProcessingError:  # every record failed: Lambda reports an error, SQS retries all
                response = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in batch]}
            self.handler_responses.append(response)
            failures = {item["itemIdentifier"] for item in response["batchItemFailures"]}
            failed.extend(failures)
            for message in batch:
                if message["MessageId"] in failures:  # back to the queue, as SQS does
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if failures:
                break
        return failed

    def turn(self, text: str | None, **kwargs: Any) -> list[str]:
        """The customer writes and the worker answers; returns the texts sent to them this turn."""
        before = len(self.evolution.texts_to(PHONE))
        self.say(text, **kwargs)
        assert self.drain() == []
        return self.evolution.texts_to(PHONE)[before:]

    # --- the data ---

    def debtor(
        self,
        *,
        make_target: Callable[..., Target],
        make_conversation: Callable[..., Conversation],
        **target: Any,
    ) -> tuple[Target, Conversation]:
        """Maria: a target of a WhatsApp campaign, already sent its first message, and her debt in the CRM."""
        return seed_debtor(self.crm, make_target, make_conversation, **target)

    def thread(self, conversation_id: str) -> list[Message]:
        return messages.list_for(conversation_id)

    def conversation(self) -> Conversation:
        found = conversations.by_chat_id(f"whatsapp_{PHONE}")
        assert found is not None
        return found

    def without_model_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "")
        reset_settings()
        # `install` never removes a client: forget them all, then put back all but the model's.
        crm, whatsapp = clients.crm(), clients.whatsapp()
        clients.reset()
        clients.install(crm=crm, whatsapp=whatsapp)


def lambda_event(batch: list[dict[str, Any]], queue_url: str) -> dict[str, Any]:
    """An SQS event as Lambda delivers FIFO messages (attributes included)."""
    name = queue_url.rsplit("/", 1)[-1]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": message["Attributes"].get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": message["Attributes"]["SentTimestamp"],
                    "SenderId": message["Attributes"].get("SenderId", "AIDAEXAMPLE"),
                    "ApproximateFirstReceiveTimestamp": message["Attributes"].get(
                        "ApproximateFirstReceiveTimestamp", message["Attributes"]["SentTimestamp"]
                    ),
                    "MessageGroupId": message["Attributes"].get("MessageGroupId"),
                    "MessageDeduplicationId": message["Attributes"].get("MessageDeduplicationId"),
                    "SequenceNumber": message["Attributes"].get("SequenceNumber"),
                },
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:sa-east-1:123456789012:{name}",
                "awsRegion": "sa-east-1",
            }
            for message in batch
        ]
    }


def seed_debtor(
    crm: CrmSimulator,
    make_target: Callable[..., Target],
    make_conversation: Callable[..., Conversation],
    **target: Any,
) -> tuple[Target, Conversation]:
    """Maria: a target of a WhatsApp campaign who got its first message, with two open invoices."""
    created, _ = targets_data.insert_new([make_target(**target)])
    maria = created[0]
    conversation = conversations.create(
        make_conversation(
            chat_id=f"whatsapp_{maria.phone}",
            phone=maria.phone,
            source=ConversationSource.WHATSAPP_CAMPAIGN,
            client_name=maria.client_name,
            document=maria.document,
            target_id=maria.id,
            campaign_id=maria.campaign_id,
        )
    )
    messages.append(
        Message(
            id=new_id(),
            conversation_id=conversation.id,
            sender=Sender.ASSISTANT,
            content="Olá, Maria! Aqui é a Lia, assistente virtual da TR Telecom. Podemos conversar?",
            created_at=clock_module.now(),
            is_from_campaign=True,
        )
    )
    crm.add_customer(
        maria.document,
        "Maria Silva",
        [
            SimInvoice("FAT-2025-01", Decimal("89.90"), date(2025, 1, 10), 59),
            SimInvoice("FAT-2025-02", Decimal("89.90"), date(2025, 2, 10), 28),
        ],
    )
    return maria, conversation
