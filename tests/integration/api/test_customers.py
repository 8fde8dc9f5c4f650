"""A customer's story across campaigns: every case of a CPF with its invoices, promises, opt-out and
conversations, in time order, masked; each lookup recorded in the access log (LGPD)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from shared.core import clock as clock_module
from shared.data import access_log, conversations, optouts, promises, targets
from shared.domain.models import Conversation, Promise
from tests.integration.api.conftest import GOOD_CSV, Api


def test_the_story_lists_a_documents_cases_from_two_campaigns_in_time_order_and_records_the_access(
    api: Api,
    clock: clock_module.VirtualClock,
    make_promise: Callable[..., Promise],
    make_conversation: Callable[..., Conversation],
) -> None:
    march = api.create_campaign(name="Março")
    api.import_csv(march["id"], GOOD_CSV)
    clock.advance(timedelta(days=1))
    april = api.create_campaign(name="Abril")
    api.import_csv(
        april["id"],
        "nome;telefone;cpf;valor;fatura;vencimento\n"
        "João Silva;(11) 99999-8888;111.444.777-35;R$ 50,00;FAT-101;10/03/2025\n",
    )
    first, second = targets.by_document("11144477735")
    clock.advance(timedelta(hours=2))
    talk = conversations.create(make_conversation(document="11144477735", client_name="João Silva"))
    clock.advance(timedelta(minutes=30))
    targets.update(first.id, conversation_id=talk.id)
    clock.advance(timedelta(hours=1))
    promise = promises.create(
        make_promise(
            document="11144477735", target_id=first.id, campaign_id=march["id"], amount=Decimal("179.8")
        )
    )
    clock.advance(timedelta(hours=1))
    optouts.add(document="11144477735", reason="pediu no WhatsApp", source="assistant")

    response = api.get("/api/voice/customers/111.444.777-35", role="supervisor")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["clientDocument"] == "***.444.777-**"
    assert [(c["campaignName"], c["debtAmount"]) for c in body["cases"]] == [
        ("Março", "179.80"),
        ("Abril", "50.00"),
    ]
    assert [i["invoiceNumber"] for i in body["cases"][1]["invoices"]] == ["FAT-101"]
    assert all(c["clientDocument"] == "***.444.777-**" for c in body["cases"])
    assert [p["id"] for p in body["promises"]] == [promise.id]
    assert [c["id"] for c in body["conversations"]] == [talk.id]
    assert [(o["kind"], o["value"], o["reason"]) for o in body["optOuts"]] == [
        ("document", "***.444.777-**", "pediu no WhatsApp")
    ]
    kinds = [event["kind"] for event in body["events"]]
    assert kinds == [
        "case_opened",  # Março
        "case_opened",  # Abril, a day later
        "conversation_started",
        "case_updated",  # the conversation attached to the Março case
        "promise_registered",
        "opted_out",
    ]
    assert [event["at"] for event in body["events"]] == sorted(event["at"] for event in body["events"])
    assert body["events"][0]["description"] == "Caso aberto na campanha Março: 1 fatura(s), R$ 179,80"
    assert "11144477735" not in response.text  # the whole document never leaves in the story

    [entry] = access_log.of_day(date(2025, 3, 11))
    assert (entry.subject, entry.role, entry.action, entry.document) == (
        "token:supervisor",
        "supervisor",
        "customer_story",
        "***.444.777-**",
    )
    assert entry.at == clock_module.now()


def test_unknown_invalid_and_unauthorised_lookups(api: Api) -> None:
    assert api.get("/api/voice/customers/529.982.247-25", role="supervisor").status_code == 404
    assert [e.document for e in access_log.of_day(date(2025, 3, 10))] == ["***.982.247-**"]  # still logged
    bad = api.get("/api/voice/customers/123", role="admin")
    assert bad.status_code in (400, 422) and bad.json()
    assert api.get("/api/voice/customers/529.982.247-25", role="viewer").status_code == 403
    assert len(access_log.of_day(date(2025, 3, 10))) == 1
