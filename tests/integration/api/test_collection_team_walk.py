"""The collection team's week through the API, as the dashboard and the team's scripts call it: a
supervisor sets up a campaign with its own texts, imports the spreadsheet, starts, pauses, resumes and
retunes the cadence while the engine works the cases (the cron's ticks and the outreach workers on the
virtual clock, the CRM and Evolution simulators on loopback), registers an opt-out, looks a customer
up and stops the campaign, while a viewer (an agent of the desk) reads and is refused the rest. At each
step: the cases, the messages sent, and what `/stats`, `/targets` and `/api/voice/metrics` show."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import typing
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from infra.local.simulators.crm import SimInvoice
from shared.domain import labels as text_labels
from shared.domain import models
from shared.engine import campaigns as campaign_rules
from shared.engine.desk import ReplyBlocked
from shared.imports.spreadsheets import SpreadsheetErrorCode
from tests.integration.api.conftest import Api
from tests.integration.engine.conftest import engine, simulator_servers  # noqa: F401 - the engine's world
from tests.integration.engine.engine_world import Engine, cpf, mobile
from tests.integration.engine.journeys import (
    MARIA,
    MARIA_INVOICES,
    MARIA_PHONE,
    MARIA_ROWS,
    MONDAY,
    Chat,
    at,
    business_day,
)
from tests.unit.import_corpus import xlsx_bytes

HEADER = ("nome", "celular", "cpf", "valor", "fatura", "vencimento")
FIRST = (
    "Oi {nome}, aqui é a {empresa} (CNPJ {cnpj}). Podemos falar sobre sua conta? Responda PARAR para sair."
)
FOLLOW_UP = "{nome}, a {empresa} de novo: seguimos à disposição. Responda PARAR para sair."
JOAO = cpf(601)
JOAO_PHONE = mobile("11", 601)
ANA = cpf(602)
ANA_PHONE = mobile("11", 602)


@pytest.fixture
def team(engine: Engine, api: Api) -> tuple[Engine, Api]:  # noqa: F811 - the engine fixture imported above
    """The engine's world (its queues, simulators and clock) with the API on top, Monday 09:00 in
    Manaus; Maria, João and Ana known to the CRM."""
    engine.clock.set(at(MONDAY, 9))
    engine.crm.add_customer(MARIA, "Maria Souza", list(MARIA_INVOICES))
    engine.crm.add_customer(JOAO, "João Lima", [MARIA_INVOICES[0]])
    engine.crm.add_customer(ANA, "Ana Reis", [MARIA_INVOICES[1]])
    return engine, api


def sheet(*rows: tuple[str, ...]) -> str:
    return "".join(";".join(row) + "\n" for row in (HEADER, *rows))


def import_xlsx(api: Api, campaign_id: str, rows: list[tuple[str, ...]]) -> Any:
    data = xlsx_bytes([HEADER, *rows])
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    files = {"file": ("clientes.xlsx", io.BytesIO(data), media)}
    return api.post(f"/api/voice/campaigns/{campaign_id}/targets/import", files=files)


def cases(api: Api, campaign_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every case of the campaign as the dashboard pages through them (10 a page)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = api.get(
            f"/api/voice/campaigns/{campaign_id}/targets",
            params={"limit": 10, **params, **({"cursor": cursor} if cursor else {})},
        )
        assert page.status_code == 200, page.text
        found += page.json()
        cursor = page.headers.get("X-Next-Cursor")
        if not cursor:
            return found


def stats_agree_with_the_cases(api: Api, campaign_id: str) -> dict[str, Any]:
    """`/stats` says what the listed cases are: total, states, outcomes, customers reached."""
    listed = cases(api, campaign_id)
    stats = api.get(f"/api/voice/campaigns/{campaign_id}/stats").json()
    assert stats["totalTargets"] == len(listed)
    for state in models.TargetState:
        assert stats["states"][state.value] == sum(c["state"] == state.value for c in listed), state
        assert stats[state.value] == stats["states"][state.value]
    for outcome in models.Outcome:
        assert stats["outcomes"][outcome.value] == sum(c["outcome"] == outcome.value for c in listed), outcome
    assert stats["reached"] == sum(c["contactCount"] > 0 for c in listed)
    return dict(stats)


def case_of(api: Api, campaign_id: str, name: str) -> dict[str, Any]:
    [case] = [c for c in cases(api, campaign_id) if c["clientName"] == name]
    return case


# --- 1. the spreadsheet: good rows kept, each bad one reported, the customers counted --------------------


def test_the_supervisor_imports_a_csv_and_an_xlsx_with_bad_rows_and_a_reimport_adds_nothing(
    team: tuple[Engine, Api],
) -> None:
    _, api = team
    campaign = api.create_campaign(messages={"first_contact": FIRST})

    csv = api.import_csv(
        campaign["id"],
        sheet(
            *MARIA_ROWS,
            ("João Lima", JOAO_PHONE, JOAO, "100,10", "J-1", "10/01/2025"),
            ("CPF Errado", ANA_PHONE, "111.444.777-36", "10,00", "X-1", "10/01/2025"),
            ("Telefone Errado", "1234", ANA, "10,00", "X-2", "10/01/2025"),
            ("Valor Errado", ANA_PHONE, ANA, "1.234,5x", "X-3", "10/01/2025"),
            ("Ana Reis", ANA_PHONE, ANA, "10,00", "A-0", ""),  # no due date: the CRM's is the truth
            MARIA_ROWS[0],
        ),
    )

    assert csv.status_code == 200, csv.text
    body = csv.json()
    assert (body["imported"], body["customersCreated"], body["customersUpdated"], body["duplicates"]) == (
        5,
        3,
        0,
        1,
    )
    errors = {(e["line"], e["field"], e["code"]) for e in body["errors"]}
    assert errors == {
        (6, "document", "invalid_document"),
        (7, "phone", "invalid_phone"),
        (8, "debt_amount", "invalid_amount"),
        (10, "document", "duplicate"),
    }
    assert all(e["message"] for e in body["errors"])

    # The XLSX from the ERP: a new invoice of Ana's and of João's, and Maria's first invoice again.
    xlsx = import_xlsx(
        api,
        campaign["id"],
        [
            ("Ana Reis", ANA_PHONE, ANA, "80,20", "A-1", "10/02/2025"),
            ("João Lima", JOAO_PHONE, JOAO, "50,00", "J-2", "10/02/2025"),
            MARIA_ROWS[0],
        ],
    )
    assert xlsx.status_code == 200, xlsx.text
    body = xlsx.json()
    assert (body["imported"], body["customersCreated"], body["customersUpdated"], body["duplicates"]) == (
        2,
        0,
        2,
        1,
    )

    listed = {c["clientName"]: c for c in cases(api, campaign["id"])}
    assert set(listed) == {"Maria Souza", "João Lima", "Ana Reis"}
    assert [i["invoiceNumber"] for i in listed["Maria Souza"]["invoices"]] == ["F-101", "F-102", "F-103"]
    assert listed["Maria Souza"]["debtAmount"] == "270.05"
    assert listed["João Lima"]["debtAmount"] == "150.10"
    assert [(i["invoiceNumber"], i["dueDate"]) for i in listed["Ana Reis"]["invoices"]] == [
        ("A-0", None),
        ("A-1", "2025-02-10"),
    ]
    assert all(c["state"] == "pending" and c["contactCount"] == 0 for c in listed.values())

    again = api.import_csv(campaign["id"], sheet(*MARIA_ROWS)).json()
    assert (again["imported"], again["customersCreated"], again["customersUpdated"], again["duplicates"]) == (
        0,
        0,
        0,
        3,
    )
    assert len(cases(api, campaign["id"])) == 3
    stats_agree_with_the_cases(api, campaign["id"])


# --- 2. the week: start, pause across a tick, resume; the campaign's own texts; stats agreeing ----------


def test_started_paused_across_a_tick_and_resumed_the_campaign_sends_its_own_texts_and_the_stats_agree(
    team: tuple[Engine, Api],
) -> None:
    world, api = team
    campaign = api.create_campaign(
        messages={"first_contact": FIRST, "follow_up": FOLLOW_UP}, followUpAfterDays=3, maxContacts=4
    )
    api.import_csv(
        campaign["id"],
        sheet(*MARIA_ROWS, ("João Lima", JOAO_PHONE, JOAO, "100,10", "F-101", "10/01/2025")),
    )

    # Monday 09:00 in Manaus: the supervisor starts it, and pauses it at once (a wrong list?): the
    # activation's kick and the next tick send nothing.
    started = api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    assert started.status_code == 200, started.text
    paused = api.post(f"/api/voice/campaigns/{campaign['id']}/pause", role="supervisor")
    assert paused.json()["campaign"]["status"] == "paused"
    world.drain("scheduler")
    business_day(world, at(MONDAY, 10))
    assert world.evolution.sent == []
    assert all(c["state"] == "pending" for c in cases(api, campaign["id"]))
    stats_agree_with_the_cases(api, campaign["id"])

    # Resumed at 11:00: one first message to each customer, with the campaign's text.
    world.clock.set(at(MONDAY, 11))
    resumed = api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    assert resumed.json()["campaign"]["status"] == "active"
    world.drain("scheduler")
    world.drain("whatsapp")
    world.delivered()
    [to_maria] = world.evolution.texts_to(MARIA_PHONE)
    assert to_maria == (
        "Oi Maria Souza, aqui é a TR Telecom (CNPJ 11.222.333/0001-81). Podemos falar sobre sua conta? "
        "Responda PARAR para sair."
    )
    assert len(world.evolution.texts_to(JOAO_PHONE)) == 1
    stats = stats_agree_with_the_cases(api, campaign["id"])
    assert (stats["contacted"], stats["reached"], stats["channels"].get("whatsapp")) == (2, 2, 2)
    metrics = api.get("/api/voice/metrics").json()
    assert (metrics["totalWhatsAppMessages"], metrics["totalContacts"], metrics["totalCalls"]) == (2, 2, 0)

    # Paused again with the jobs already on the WhatsApp queue: nothing goes out until it resumes.
    world.clock.set(at(MONDAY, 19, 50))
    Chat(MARIA_PHONE, "Maria").says("vou ver")
    maria = case_of(api, campaign["id"], "Maria Souza")
    assert (maria["state"], maria["outcome"], maria["contactCount"]) == ("pending", "answered", 1)
    stats = stats_agree_with_the_cases(api, campaign["id"])
    assert stats["responded"] == 1
    sent, to_maria_before = len(world.evolution.sent), len(world.evolution.texts_to(MARIA_PHONE))
    thursday = MONDAY + timedelta(days=3)
    world.clock.set(at(thursday + timedelta(days=1), 8))
    world.tick()  # the follow-up is scheduled onto the WhatsApp queue ...
    api.post(f"/api/voice/campaigns/{campaign['id']}/pause", role="supervisor")
    world.drain("whatsapp")  # ... and the supervisor pauses before the worker sends it
    business_day(world, at(thursday + timedelta(days=1), 10))
    assert len(world.evolution.sent) == sent
    stats_agree_with_the_cases(api, campaign["id"])

    world.clock.set(at(thursday + timedelta(days=1), 11))
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    world.drain("scheduler")
    world.drain("whatsapp")
    texts = world.evolution.texts_to(MARIA_PHONE)
    assert texts[-1] == "Maria Souza, a TR Telecom de novo: seguimos à disposição. Responda PARAR para sair."
    assert len(texts) == to_maria_before + 1
    maria = case_of(api, campaign["id"], "Maria Souza")
    assert (maria["state"], maria["contactCount"]) == ("contacted", 2)
    stats_agree_with_the_cases(api, campaign["id"])
    metrics = api.get("/api/voice/metrics").json()
    contacts = sum(c["contactCount"] for c in cases(api, campaign["id"]))  # João's retry included
    assert metrics["totalWhatsAppMessages"] == metrics["totalContacts"] == contacts == 4


# --- 3. the cadence retuned mid-run: the follow-ups waiting follow the new one --------------------------


def test_a_cadence_patched_mid_run_applies_to_the_follow_ups_already_waiting(
    team: tuple[Engine, Api],
) -> None:
    world, api = team
    campaign = api.create_campaign(followUpAfterDays=5, maxContacts=6)
    api.import_csv(campaign["id"], sheet(*MARIA_ROWS))
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    world.drain("scheduler")
    world.drain("whatsapp")
    world.delivered()
    world.clock.set(at(MONDAY, 10))
    Chat(MARIA_PHONE, "Maria").says("vou ver")
    maria = case_of(api, campaign["id"], "Maria Souza")
    assert maria["nextAttemptAt"] == at(MONDAY + timedelta(days=5), 10).isoformat().replace("+00:00", "Z")

    # Tuesday: five days is too slow, says the supervisor; two it is. Maria, who answered on Monday,
    # hears from us on Wednesday, not on Saturday. The API answers at once; a scheduler job retimes the
    # follow-ups waiting (a campaign of tens of thousands would outlive the request).
    world.clock.set(at(MONDAY + timedelta(days=1), 9))
    patched = api.patch(f"/api/voice/campaigns/{campaign['id']}", json={"followUpAfterDays": 2})
    assert (patched.status_code, patched.json()["followUpAfterDays"]) == (200, 2), patched.text
    assert world.drain("scheduler").results == [{"batchItemFailures": []}]
    maria = case_of(api, campaign["id"], "Maria Souza")
    assert maria["nextAttemptAt"] == at(MONDAY + timedelta(days=2), 10).isoformat().replace("+00:00", "Z")
    assert "novo contato a partir de 12/03" in maria["outcomeDetails"]  # what the case page says
    sent = len(world.evolution.texts_to(MARIA_PHONE))
    business_day(world, at(MONDAY + timedelta(days=2), 10, 5))
    assert len(world.evolution.texts_to(MARIA_PHONE)) == sent + 1
    assert world.evolution.texts_to(MARIA_PHONE)[-1].startswith("Olá, Maria Souza! Aqui é novamente")

    # She answers again; the supervisor lengthens the cadence to a week: her follow-up moves with it.
    world.clock.set(at(MONDAY + timedelta(days=2), 11))
    Chat(MARIA_PHONE, "Maria").says("vou ver")
    api.patch(f"/api/voice/campaigns/{campaign['id']}", json={"followUpAfterDays": 7})
    world.drain("scheduler")
    maria = case_of(api, campaign["id"], "Maria Souza")
    assert maria["nextAttemptAt"] == at(MONDAY + timedelta(days=9), 11).isoformat().replace("+00:00", "Z")
    stats_agree_with_the_cases(api, campaign["id"])

    # Then the budget is cut to the two contacts she has had: when her follow-up comes due, her case
    # ends exhausted and nothing more is sent.
    api.patch(f"/api/voice/campaigns/{campaign['id']}", json={"maxContacts": 2})
    sent = len(world.evolution.texts_to(MARIA_PHONE))
    business_day(world, at(MONDAY + timedelta(days=9), 11, 5))
    maria = case_of(api, campaign["id"], "Maria Souza")
    assert (maria["state"], maria["outcome"], maria["contactCount"]) == ("completed", "exhausted", 2)
    assert len(world.evolution.texts_to(MARIA_PHONE)) == sent
    world.tick()  # the next tick finds every case closed
    assert api.get(f"/api/voice/campaigns/{campaign['id']}").json()["status"] == "completed"
    stats_agree_with_the_cases(api, campaign["id"])


# --- 4. who may do what: an agent of the desk (viewer) reads; the rest is the supervisor's --------------

SUPERVISOR_ONLY = [
    ("post", "/api/voice/campaigns/{campaign}/activate", None),
    ("post", "/api/voice/campaigns/{campaign}/pause", None),
    ("post", "/api/voice/campaigns/{campaign}/complete", None),
    ("patch", "/api/voice/campaigns/{campaign}", {"followUpAfterDays": 1}),
    ("delete", "/api/voice/campaigns/{campaign}", None),
    ("post", "/api/voice/campaigns", {"name": "Outra", "contactMethod": "whatsapp_primary"}),
    ("post", "/api/voice/optouts", {"clientDocument": MARIA}),
    ("get", "/api/voice/customers/{document}", None),
    ("get", "/api/voice/customers?phone={phone}", None),
    ("get", "/api/voice/campaigns/{campaign}/export.csv", None),
    ("patch", "/api/voice/targets/{target}", {"clientName": "Outra Pessoa"}),
    ("post", "/api/voice/targets/{target}/phones", {"phoneNumber": "92 98888-7777"}),
]


def test_an_agent_reads_but_is_refused_the_supervisors_actions_and_a_stranger_everything(
    team: tuple[Engine, Api],
) -> None:
    world, api = team
    campaign = api.create_campaign()
    api.import_csv(campaign["id"], sheet(*MARIA_ROWS))
    [maria] = cases(api, campaign["id"])
    ids = {"campaign": campaign["id"], "document": MARIA, "phone": MARIA_PHONE, "target": maria["id"]}

    for method, path, body in SUPERVISOR_ONLY:
        url = path.format(**ids)
        kwargs = {"json": body} if body is not None else {}
        refused = getattr(api, method)(url, role="viewer", **kwargs)
        assert refused.status_code == 403, (url, refused.text)
        assert refused.json()["detail"].startswith("this action needs the ")
        stranger = getattr(api.client, method)(url, **kwargs)
        assert stranger.status_code == 401, (url, stranger.text)
        assert stranger.headers["www-authenticate"] == "Bearer"
    assert cases(api, campaign["id"]) == [maria]  # nothing changed
    assert api.get(f"/api/voice/campaigns/{campaign['id']}").json()["status"] == "draft"
    assert api.get("/api/voice/optouts").json() == []

    # What the agent reads: the campaign, its cases (masked), the stats and the metrics.
    for url in (
        f"/api/voice/campaigns/{campaign['id']}",
        f"/api/voice/campaigns/{campaign['id']}/targets",
        f"/api/voice/campaigns/{campaign['id']}/stats",
        "/api/voice/metrics",
    ):
        read = api.get(url, role="viewer")
        assert read.status_code == 200, (url, read.text)
        assert MARIA not in read.text and MARIA_PHONE not in read.text
        assert api.client.get(url).status_code == 401


# --- 5. LGPD: the team registers an opt-out; a lookup shows one person's cases, and only theirs ----------


def test_an_opt_out_the_team_registers_stops_the_customer_in_every_campaign_and_the_lookup_shows_only_hers(
    team: tuple[Engine, Api],
) -> None:
    world, api = team
    march = api.create_campaign(name="Cobrança Março")
    api.import_csv(
        march["id"], sheet(*MARIA_ROWS, ("João Lima", JOAO_PHONE, JOAO, "100,10", "J-1", "10/01/2025"))
    )
    api.post(f"/api/voice/campaigns/{march['id']}/activate", role="supervisor")
    world.drain("scheduler")
    world.drain("whatsapp")
    world.delivered()
    april = api.create_campaign(name="Cobrança Abril")
    api.import_csv(april["id"], sheet(MARIA_ROWS[2]))

    # Maria calls the ISP's office: she does not want to be contacted any more.
    world.clock.set(at(MONDAY, 11))
    registered = api.post(
        "/api/voice/optouts",
        role="supervisor",
        json={
            "clientDocument": f"{MARIA[:3]}.{MARIA[3:6]}.{MARIA[6:9]}-{MARIA[9:]}",
            "reason": "ligou na loja",
        },
    )
    assert registered.status_code == 201, registered.text
    assert [o["key"] for o in registered.json()] == ["document"]
    maria = case_of(api, march["id"], "Maria Souza")
    assert (maria["state"], maria["outcome"]) == ("completed", "opted_out")
    [in_april] = cases(api, april["id"])
    assert (in_april["state"], in_april["outcome"]) == ("completed", "opted_out")
    assert case_of(api, march["id"], "João Lima")["outcome"] != "opted_out"

    api.post(f"/api/voice/campaigns/{april['id']}/activate", role="supervisor")
    to_maria = len(world.evolution.texts_to(MARIA_PHONE))
    for offset in range(1, 6):
        business_day(world, at(MONDAY + timedelta(days=offset), 10))
        world.delivered()
    assert len(world.evolution.texts_to(MARIA_PHONE)) == to_maria
    stats_agree_with_the_cases(api, march["id"])
    april_stats = stats_agree_with_the_cases(api, april["id"])
    assert april_stats["outcomes"]["opted_out"] == 1 and april_stats["reached"] == 0

    # The supervisor looks her up: both campaigns' cases, masked, and her opt-out; nobody else's.
    story = api.get(f"/api/voice/customers/{MARIA}", role="supervisor")
    assert story.status_code == 200, story.text
    body = story.json()
    assert sorted(c["campaignName"] for c in body["cases"]) == ["Cobrança Abril", "Cobrança Março"]
    assert {c["clientName"] for c in body["cases"]} == {"Maria Souza"}
    assert [(o["kind"], o["reason"]) for o in body["optOuts"]] == [("document", "ligou na loja")]
    assert MARIA not in story.text and MARIA_PHONE not in story.text
    timeline = " | ".join(event["description"] for event in body["events"])
    assert "estado concluído, resultado Pediu para não ser contatado" in timeline
    assert "Última tentativa (WhatsApp)" in timeline
    for code in (*models.TargetState, *models.Outcome, *models.Channel, *models.ConversationSource):
        assert not re.search(rf"\b{code}\b", timeline), (code, timeline)  # the team reads pt-BR
    assert JOAO[-4:] not in story.text and "João" not in story.text and "J-1" not in story.text
    by_phone = api.get("/api/voice/customers", role="supervisor", params={"phone": MARIA_PHONE})
    assert [s["clientDocument"] for s in by_phone.json()] == [body["clientDocument"]]
    nobody = api.get(f"/api/voice/customers/{cpf(999)}", role="supervisor")
    assert nobody.status_code == 404 and "Maria" not in nobody.text
    assert api.get("/api/voice/customers/123", role="supervisor").status_code == 422


# --- 6. the campaign stopped with cases in flight -----------------------------------------------------


def test_a_campaign_completed_with_messages_on_the_queue_sends_nothing_more_and_its_cases_close(
    team: tuple[Engine, Api],
) -> None:
    world, api = team
    campaign = api.create_campaign()
    api.import_csv(
        campaign["id"],
        sheet(*MARIA_ROWS, ("João Lima", JOAO_PHONE, JOAO, "100,10", "J-1", "10/01/2025")),
    )
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    world.drain("scheduler")  # both first messages are on the WhatsApp queue
    assert {c["state"] for c in cases(api, campaign["id"])} == {"scheduled"}

    refused = api.delete(f"/api/voice/campaigns/{campaign['id']}")
    assert refused.status_code == 409 and "only draft campaigns can be deleted" in refused.json()["detail"]
    done = api.post(f"/api/voice/campaigns/{campaign['id']}/complete", role="supervisor")
    assert (done.status_code, done.json()["campaign"]["status"]) == (200, "completed"), done.text
    assert {c["state"] for c in cases(api, campaign["id"])} == {"scheduled"}  # closed by the scheduler's job
    world.drain("whatsapp")  # the messages queued before the closing job ran: sent to nobody
    assert world.evolution.sent == []
    world.drain("scheduler")
    for offset in range(0, 4):
        business_day(world, at(MONDAY + timedelta(days=offset), 12))
    assert world.evolution.sent == []

    listed = cases(api, campaign["id"])
    assert {(c["state"], c["outcome"], c["contactCount"]) for c in listed} == {("completed", None, 0)}
    assert all(c["outcomeDetails"].startswith("Campanha encerrada pela equipe") for c in listed)
    stats = stats_agree_with_the_cases(api, campaign["id"])
    assert stats["completed"] == stats["totalTargets"] == 2
    assert api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor").status_code == 409
    assert api.import_csv(campaign["id"], sheet(MARIA_ROWS[0])).status_code == 409


def test_a_campaign_of_hundreds_of_open_cases_completed_answers_at_once_and_scheduler_jobs_close_them_all(
    team: tuple[Engine, Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tens of thousands of cases would outlive the request: the closing runs on the scheduler queue,
    # 50 cases a job here (5 pages of 10), each job handing the rest to its continuation.
    monkeypatch.setattr(campaign_rules, "CASES_PAGE_SIZE", 10)
    monkeypatch.setattr(campaign_rules, "CASE_PAGES_PER_JOB", 5)
    world, api = team
    campaign = api.create_campaign()
    rows = [
        (f"Cliente {n}", mobile("11", 700 + n), cpf(700 + n), "50,00", f"C-{n}", "10/01/2025")
        for n in range(250)
    ]
    assert api.import_csv(campaign["id"], sheet(*rows)).json()["imported"] == 250
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")

    done = api.post(f"/api/voice/campaigns/{campaign['id']}/complete", role="supervisor")
    assert (done.status_code, done.json()["campaign"]["status"]) == (200, "completed"), done.text
    closed_after_each_job = [0]
    while world.drain("scheduler", max_rounds=1, batch=1).invocations:
        closed_after_each_job.append(
            api.get(f"/api/voice/campaigns/{campaign['id']}/stats").json()["completed"]
        )
        if closed_after_each_job[-1] == 100:  # SQS delivers the next continuation twice
            [continuation] = world.bodies("scheduler")
            world.sqs.send_message(QueueUrl=world.urls["scheduler"], MessageBody=json.dumps(continuation))
    assert {50, 100, 150, 200, 250} <= set(closed_after_each_job)
    assert all(a <= b for a, b in itertools.pairwise(closed_after_each_job))

    listed = cases(api, campaign["id"])
    assert {(c["state"], c["outcome"]) for c in listed} == {("completed", None)}
    assert all(c["outcomeDetails"].startswith("Campanha encerrada pela equipe") for c in listed)
    stats = stats_agree_with_the_cases(api, campaign["id"])  # each case counted closed once
    assert stats["completed"] == stats["totalTargets"] == 250
    for offset in range(0, 2):
        business_day(world, at(MONDAY + timedelta(days=offset), 12))
    assert world.evolution.sent == []


def test_a_draft_deleted_takes_its_cases_and_a_lookup_finds_none_of_them(team: tuple[Engine, Api]) -> None:
    world, api = team
    draft = api.create_campaign()
    api.import_csv(draft["id"], sheet(*MARIA_ROWS))
    assert api.delete(f"/api/voice/campaigns/{draft['id']}").status_code == 200
    assert api.get(f"/api/voice/campaigns/{draft['id']}/targets").status_code == 404
    assert api.get(f"/api/voice/customers/{MARIA}", role="supervisor").status_code == 404
    assert api.get("/api/voice/metrics").json()["amountInCollection"] == "0.00"


def test_a_call_ringing_when_the_campaign_is_completed_ends_without_reopening_the_case(
    team: tuple[Engine, Api],
) -> None:
    world, api = team
    campaign = api.create_campaign(contactMethod="voice")
    api.import_csv(campaign["id"], sheet(("João Lima", JOAO_PHONE, JOAO, "100,10", "J-1", "10/01/2025")))
    world.clock.set(at(MONDAY, 10))
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    world.drain("scheduler")
    world.drain("dialer")
    [call] = world.twilio.calls.values()
    assert case_of(api, campaign["id"], "João Lima")["state"] == "calling"

    api.post(f"/api/voice/campaigns/{campaign['id']}/complete", role="supervisor")
    world.drain("scheduler")  # the campaign's open cases closed
    params = world.twilio.status_params(call, "no-answer")  # Twilio's callback, after the end
    world.sqs.send_message(QueueUrl=world.urls["post_call"], MessageBody=json.dumps(params))
    assert world.drain("post_call").failed == 0
    joao = case_of(api, campaign["id"], "João Lima")
    assert (joao["state"], joao["contactCount"]) == ("completed", 1)
    assert world.dead_letters("post_call") == []
    for offset in range(1, 3):
        business_day(world, at(MONDAY + timedelta(days=offset), 10))
    assert len(world.twilio.calls) == 1
    stats_agree_with_the_cases(api, campaign["id"])


# --- 7. a supervisor's correction of a case still being collected ------------------------------------


def test_an_outcome_set_by_hand_on_a_case_still_open_is_refused_and_the_customer_is_not_left_half_closed(
    team: tuple[Engine, Api],
) -> None:
    world, api = team
    campaign = api.create_campaign()
    api.import_csv(campaign["id"], sheet(("João Lima", JOAO_PHONE, JOAO, "100,10", "J-1", "10/01/2025")))
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    [joao] = cases(api, campaign["id"])

    # João says at the store he paid; the supervisor would mark the case paid (or opted out) by hand:
    # the case would show "Pago" while still pending, and the next tick would write to him again.
    for outcome in ("paid", "opted_out", "exhausted"):
        refused = api.patch(f"/api/voice/targets/{joao['id']}", role="supervisor", json={"outcome": outcome})
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "case_open"
        assert "/api/voice/optouts" in refused.json()["detail"]
    assert case_of(api, campaign["id"], "João Lima")["outcome"] is None
    world.drain("scheduler")
    world.drain("whatsapp")
    assert len(world.evolution.texts_to(JOAO_PHONE)) == 1
    stats_agree_with_the_cases(api, campaign["id"])

    # A closed case's outcome may be corrected (the record of how it ended).
    api.post(f"/api/voice/campaigns/{campaign['id']}/complete", role="supervisor")
    world.drain("scheduler")  # the campaign's open cases closed
    fixed = api.patch(
        f"/api/voice/targets/{joao['id']}",
        role="supervisor",
        json={"outcome": "paid", "outcomeDetails": "pagou na loja"},
    )
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["state"], fixed.json()["outcome"]) == ("completed", "paid")
    stats_agree_with_the_cases(api, campaign["id"])


# --- 8. what the dashboard calls each value the API gives it: pt-BR, none missing ---------------------

LABELS = (Path(__file__).parents[3] / "functions/api/static/monitor/labels.js").read_text(encoding="utf-8")
# Why an import row is rejected: the codes of `shared.imports` (rows, pipeline, spreadsheets).
ROW_ERRORS = (
    "missing_value",
    "invalid_name",
    "invalid_phone",
    "invalid_document",
    "invalid_amount",
    "invalid_date",
    "time_barred",
    "duplicate",
    "too_many_invoices",
    "case_closed",
    "unreadable_row",
)


def labels(name: str) -> dict[str, str]:
    """The keys and texts of `export const <name> = {...}` in labels.js."""
    found = re.search(rf"export const {name} = \{{(.*?)\}};", LABELS, re.S)
    assert found, name
    return dict(re.findall(r'(\w+): "([^"]*)"', found.group(1)))


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("OUTCOME", models.Outcome),
        ("TARGET_STATE", models.TargetState),
        ("CAMPAIGN_STATUS", models.CampaignStatus),
        ("CONTACT_METHOD", models.ContactMethod),
        ("CHANNEL", models.Channel),
        ("MESSAGE_STEP", models.MessageStep),
        ("PROMISE_STATUS", models.PromiseStatus),
        ("PAYMENT_METHOD", models.PaymentMethod),
        ("UNLOCK_STATUS", models.UnlockStatus),
        ("SOURCE_LABEL", models.ConversationSource),
        ("CONVERSATION_STATUS", models.ConversationStatus),
        ("CALL_DISPOSITION", models.CallDisposition),
        ("SENDER", models.Sender),
        ("DELIVERY", models.DeliveryStatus),
        ("REPLY_BLOCKED", ReplyBlocked),
        ("REPLY_BLOCKED_TAG", ReplyBlocked),
        ("API_ERROR", ReplyBlocked),  # the desk's 409 carries the reason as its code
        ("IMPORT_ERROR", ROW_ERRORS),
        ("API_ERROR", typing.get_args(SpreadsheetErrorCode)),
    ],
)
def test_the_dashboard_names_every_value_the_api_gives_in_portuguese(
    name: str, values: type[StrEnum] | tuple[str, ...]
) -> None:
    known = labels(name)
    missing = [str(value) for value in values if str(value) not in known]
    assert missing == [], f"{name} has no label for {missing}"
    for value in values:
        text = known[str(value)]
        assert text and text != str(value) and "_" not in text, (name, value, text)


@pytest.mark.parametrize(
    ("name", "server"),
    [
        ("OUTCOME", text_labels.OUTCOME),
        ("CHANNEL", text_labels.CHANNEL),
        ("SOURCE_LABEL", text_labels.SOURCE),
        ("PAYMENT_METHOD", text_labels.PAYMENT_METHOD),
    ],
)
def test_the_servers_texts_name_each_value_as_the_dashboard_does(
    name: str, server: dict[StrEnum, str]
) -> None:
    assert {str(value): text for value, text in server.items()} == labels(name)


# --- 9. Friday: every way a case ends, as the lists, the stats, the metrics and the export show it ------


def test_by_friday_every_ending_shows_the_same_in_the_list_its_filters_the_stats_the_metrics_and_the_export(
    team: tuple[Engine, Api],
) -> None:
    world, api = team
    old = SimInvoice("V-1", Decimal("300.00"), date(2019, 1, 10))  # over five years: time-barred
    world.crm.add_customer(cpf(610), "Paulo Prescrito", [old])
    world.crm.add_customer(cpf(611), "Rita Quitada", [])  # paid before anyone wrote to her
    crowd = [(f"Cliente {seed}", mobile("11", seed), cpf(seed)) for seed in range(620, 632)]
    for name, _, document in crowd:
        world.crm.add_customer(document, name, [MARIA_INVOICES[0]])
    campaign = api.create_campaign(followUpAfterDays=1, maxContacts=1)
    rows = [
        *MARIA_ROWS,
        ("Paulo Prescrito", mobile("11", 610), cpf(610), "300,00", "P-1", "10/01/2025"),
        ("Rita Quitada", mobile("11", 611), cpf(611), "50,00", "R-1", "10/01/2025"),
        ("Ivo Desconhecido", mobile("11", 612), cpf(612), "70,00", "I-1", "10/01/2025"),  # not in the CRM
        *((name, phone, document, "100,10", "F-101", "10/01/2025") for name, phone, document in crowd),
    ]
    assert api.import_csv(campaign["id"], sheet(*rows)).json()["customersCreated"] == 16
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    world.drain("scheduler")
    world.drain("whatsapp")
    world.delivered()
    world.clock.set(at(MONDAY, 10))
    Chat(MARIA_PHONE, "Maria").says("vou ver")  # her one contact spent, and nothing agreed
    for offset in range(1, 5):
        business_day(world, at(MONDAY + timedelta(days=offset), 10))
        world.delivered()

    listed = cases(api, campaign["id"])
    ending = {c["clientName"]: (c["state"], c["outcome"]) for c in listed}
    assert ending["Maria Souza"] == ("completed", "exhausted")
    assert ending["Paulo Prescrito"] == ("completed", "time_barred")
    assert ending["Rita Quitada"] == ("completed", "paid")
    assert ending["Ivo Desconhecido"] == ("completed", "unknown_customer")
    stats = stats_agree_with_the_cases(api, campaign["id"])
    assert stats["paid"] == 1 and stats["selfCured"] == 1  # Rita, never contacted: not a conversion
    metrics = api.get("/api/voice/metrics").json()
    assert metrics["selfCured"] == 1 and Decimal(metrics["conversionRate"]) == 0
    assert metrics["totalContacts"] == sum(c["contactCount"] for c in listed)

    # The dashboard's filters, page by page, give the same cases as the whole list.
    for state, outcome in (("completed", None), (None, "exhausted"), ("completed", "unknown_customer")):
        params = {k: v for k, v in (("state", state), ("outcome", outcome)) if v}
        for sort in ("amount", "age"):
            filtered = cases(api, campaign["id"], sort=sort, **params)
            expected = [
                c
                for c in listed
                if (state is None or c["state"] == state) and (outcome is None or c["outcome"] == outcome)
            ]
            assert sorted(c["id"] for c in filtered) == sorted(c["id"] for c in expected), (params, sort)
    by_amount = [c["debtAmount"] for c in cases(api, campaign["id"], sort="amount")]
    assert by_amount == sorted(by_amount, key=Decimal, reverse=True)

    # The export the supervisor downloads: one row per case, the same endings.
    export = api.get(f"/api/voice/campaigns/{campaign['id']}/export.csv", role="supervisor")
    assert export.status_code == 200, export.text
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    exported = {row[1]: (row[3], row[2]) for row in table[1:]}
    assert exported == {
        "Maria Souza": ("Concluído", "Contatos esgotados"),
        "Paulo Prescrito": ("Concluído", "Dívida prescrita"),
        "Rita Quitada": ("Concluído", "Pago"),
        "Ivo Desconhecido": ("Concluído", "Cliente não encontrado no CRM"),
        **{name: ("Concluído", text_labels.OUTCOME[models.Outcome(ending[name][1])]) for name, _, _ in crowd},
    }
