"""A customer's story across campaigns: every case of a CPF with its invoices, promises, opt-out and
conversations, in time order, masked; each lookup recorded in the access log (LGPD)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from shared.core import clock as clock_module
from shared.data import access_log, conversations, optouts, promises, targets
from shared.domain.masking import mask_phone
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


def test_a_phone_finds_every_customer_whose_cases_carry_it_without_a_scan(
    api: Api, clock: clock_module.VirtualClock
) -> None:
    march = api.create_campaign(name="Março")
    api.import_csv(
        march["id"],
        "nome;telefone;cpf;valor;fatura;vencimento\n"
        "João Silva;(11) 99999-8888;111.444.777-35;R$ 179,80;FAT-001;10/02/2025\n"
        "João Silva;(11) 3333-4444;111.444.777-35;R$ 20,00;FAT-002;10/02/2025\n"  # a second phone
        "Ana Silva;(11) 99999-8888;529.982.247-25;R$ 50,00;FAT-003;10/02/2025\n"  # the family's phone
        "Maria Souza;21 98888-7777;12.ABC.345/01DE-35;89,90;FAT-004;15/02/2025\n",
    )
    [joao] = targets.by_document("11144477735")

    shared = api.get("/api/voice/customers", role="supervisor", params={"phone": "+55 11 99999-8888"})
    landline = api.get("/api/voice/customers", role="supervisor", params={"phone": "1133334444"})
    added = api.post(
        f"/api/voice/targets/{joao.id}/phones", role="supervisor", json={"phoneNumber": "(31) 99876-5432"}
    )
    by_added = api.get("/api/voice/customers", role="supervisor", params={"phone": "31998765432"})

    assert shared.status_code == 200, shared.text
    assert sorted(story["clientDocument"] for story in shared.json()) == ["***.444.777-**", "***.982.247-**"]
    assert [story["clientDocument"] for story in landline.json()] == ["***.444.777-**"]
    assert added.status_code == 200, added.text
    assert [story["clientDocument"] for story in by_added.json()] == ["***.444.777-**"]
    assert "99999-8888" not in shared.text and "11144477735" not in shared.text
    entries = [(e.action, e.document) for e in access_log.of_day(date(2025, 3, 10))]
    assert entries[0] == ("customer_search_phone", mask_phone("5511999998888"))
    assert sorted(entries[1:3]) == [
        ("customer_story", "***.444.777-**"),
        ("customer_story", "***.982.247-**"),
    ]
    assert all("99999" not in document for _, document in entries)


def test_a_phone_no_case_carries_is_404_and_a_bad_one_422_both_recorded_or_refused(api: Api) -> None:
    march = api.create_campaign(name="Março")
    api.import_csv(march["id"], GOOD_CSV)

    unknown = api.get("/api/voice/customers", role="supervisor", params={"phone": "11 91234-5678"})
    bad = api.get("/api/voice/customers", role="supervisor", params={"phone": "12"})
    viewer = api.get("/api/voice/customers", role="viewer", params={"phone": "11 99999-8888"})
    missing = api.get("/api/voice/customers", role="supervisor")

    assert unknown.status_code == 404
    assert bad.status_code == 422 and bad.json()["detail"]
    assert viewer.status_code == 403
    assert missing.status_code == 422
    assert [e.action for e in access_log.of_day(date(2025, 3, 10))] == ["customer_search_phone"]


def test_a_discarded_campaigns_phone_entries_find_nothing(api: Api) -> None:
    draft = api.create_campaign(name="Rascunho")
    api.import_csv(draft["id"], GOOD_CSV)
    assert (
        api.get("/api/voice/customers", role="supervisor", params={"phone": "11999998888"}).status_code == 200
    )

    assert api.delete(f"/api/voice/campaigns/{draft['id']}").status_code == 200

    gone = api.get("/api/voice/customers", role="supervisor", params={"phone": "11999998888"})
    assert gone.status_code == 404
