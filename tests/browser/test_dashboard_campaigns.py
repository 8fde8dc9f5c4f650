"""Campaigns in the browser: create (with the API's validation messages), activate/pause, the funnel,
and importing a spreadsheet with its per-row errors and the rejected-rows report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pydantic import SecretStr

from infra.local.simulators.evolution import EvolutionSimulator
from infra.local.simulators.server import serve_in_thread
from shared.adapters import clients
from shared.adapters.evolution import EvolutionClient
from shared.core.config import EvolutionConfig
from shared.data import counters
from shared.data.targets import CaseMoney
from shared.domain.models import Channel, ContactMethod
from shared.engine import campaigns as campaign_rules
from shared.engine import stats
from tests.browser.conftest import Dashboard, shot, sign_in

pytestmark = pytest.mark.browser

SPREADSHEET = (
    "nome;telefone;cpf;valor;fatura;vencimento\n"
    "João Silva;(11) 99999-8888;111.444.777-35;R$ 179,80;FAT-001;10/02/2025\n"
    "Maria Souza;21 98888-7777;12.ABC.345/01DE-35;89,90;FAT-002;15/02/2025\n"
    "Pedro Lima;11 3333;529.982.247-25;50,00;FAT-003;10/02/2025\n"
    "Ana Costa;(11) 97777-6666;123.456.789-00;50,00;FAT-004;10/02/2025\n"
    "João Silva;(11) 99999-8888;111.444.777-35;R$ 179,80;FAT-001;10/02/2025\n"
)


def open_new_campaign_form(page: Any, dashboard: Dashboard) -> Any:
    sign_in(page, dashboard, "admin")
    page.get_by_role("link", name="Campanhas").click()
    page.get_by_role("button", name="Nova campanha").click()
    return page.locator("#campaign-form")


def test_a_bad_campaign_shows_the_api_message_beside_the_field_it_concerns(
    page: Any, dashboard: Dashboard
) -> None:
    form = open_new_campaign_form(page, dashboard)
    form.get_by_label("Nome").fill("Cobrança Abril")
    form.get_by_label("Método de contato").select_option("whatsapp_primary")
    form.get_by_label("Ordem de fallback").select_option("voice,whatsapp")
    form.get_by_role("button", name="Criar campanha").click()

    message = "contactMethod whatsapp_primary starts with whatsapp, but fallbackOrder starts with voice"
    expect(form.locator("[data-form-error]")).to_have_text(f"A campanha não foi criada: {message}")
    expect(form.locator('[data-error-for="fallbackOrder"]')).to_have_text(message)
    expect(form.get_by_label("Ordem de fallback")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Ordem de fallback")).to_be_focused()
    shot(page, "campanha-erro")

    # Request validation (pydantic) lands on each field it concerns: a blank name, a time like "8h".
    form.get_by_label("Nome").fill("   ")
    form.get_by_label("Ordem de fallback").select_option("")
    form.get_by_label("Início do horário").fill("8h")
    form.get_by_role("button", name="Criar campanha").click()
    expect(form.locator('[data-error-for="name"]')).to_contain_text("at least 1 character")
    expect(form.locator('[data-error-for="scheduleStart"]')).to_contain_text("should match pattern")
    expect(form.get_by_label("Nome")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Início do horário")).to_have_attribute("aria-invalid", "true")
    expect(form.locator('[data-error-for="fallbackOrder"]')).to_have_text("")

    # An end before the start is the domain's rule, shown at the end time.
    form.get_by_label("Nome").fill("Cobrança Abril")
    form.get_by_label("Início do horário").fill("20:00")
    form.get_by_label("Fim do horário").fill("08:00")
    form.get_by_role("button", name="Criar campanha").click()
    expect(form.locator('[data-error-for="scheduleEnd"]')).to_have_text(
        "campaign hours start at 20:00, not before their end 08:00"
    )
    expect(form.get_by_label("Fim do horário")).to_have_attribute("aria-invalid", "true")
    assert dashboard.get("/api/voice/campaigns").json() == []


def test_an_admin_creates_a_campaign_with_the_seed_fields_and_a_supervisor_control_activates_it(
    page: Any, dashboard: Dashboard
) -> None:
    form = open_new_campaign_form(page, dashboard)
    form.get_by_label("Nome").fill("Cobrança Janeiro 2025")
    form.get_by_label("Método de contato").select_option("whatsapp_fallback")
    form.get_by_label("Ordem de fallback").select_option("voice,whatsapp")
    form.get_by_label("Início do horário").fill("09:00")
    form.get_by_label("Fim do horário").fill("18:00")
    form.get_by_label("Sáb").uncheck()
    form.get_by_label("Tentativas por canal").fill("2")
    form.get_by_label("Gravar chamadas").check()
    form.get_by_role("button", name="Criar campanha").click()

    expect(page.get_by_role("heading", name="Cobrança Janeiro 2025")).to_be_visible()
    [created] = dashboard.get("/api/voice/campaigns").json()
    assert created["name"] == "Cobrança Janeiro 2025" and created["status"] == "draft"
    assert created["contactMethod"] == "whatsapp_fallback"
    assert created["fallbackOrder"] == ["voice", "whatsapp"]
    assert (created["scheduleStart"], created["scheduleEnd"]) == ("09:00", "18:00")
    assert created["weekdays"] == [1, 2, 3, 4, 5] and created["maxAttemptsPerChannel"] == 2
    assert (created["recordCalls"], created["voicemailDrop"]) == (True, False)
    facts = page.locator("[data-facts]")
    expect(facts).to_contain_text("Rascunho")
    expect(facts).to_contain_text("Gravar chamadasSim")
    expect(facts).to_contain_text("09:00–18:00 · Seg, Ter, Qua, Qui, Sex")
    expect(facts).to_contain_text("Voz → WhatsApp")

    page.get_by_role("button", name="Ativar a campanha Cobrança Janeiro 2025").click()
    expect(facts).to_contain_text("Ativa")
    assert dashboard.get(f"/api/voice/campaigns/{created['id']}").json()["status"] == "active"
    assert [json.loads(body)["campaignId"] for body in dashboard.scheduler_messages()] == [created["id"]]

    page.get_by_role("button", name="Pausar a campanha Cobrança Janeiro 2025").click()
    expect(facts).to_contain_text("Pausada")
    page.get_by_role("link", name="← Voltar às campanhas").click()
    row = page.get_by_role("row", name="Cobrança Janeiro 2025")
    expect(row.locator(".badge")).to_have_text("Pausada")
    expect(row.get_by_role("button", name="Ativar a campanha Cobrança Janeiro 2025")).to_be_visible()
    shot(page, "campanhas")


def test_the_form_offers_the_instances_approved_whatsapp_templates_for_each_step(
    page: Any, dashboard: Dashboard
) -> None:
    evolution = EvolutionSimulator(api_key="evo-key", instance="cobranca")
    evolution.approve_template("cobranca_inicio", "pt_BR", "Olá, {{1}}! Aqui é a {{2}}. PARAR para sair.")
    evolution.approve_template("cobranca_retomada", "pt_BR", "Olá de novo, {{1}}. PARAR para sair.")
    server = serve_in_thread(evolution.app)
    clients.install(whatsapp=EvolutionClient(EvolutionConfig(server.url, SecretStr("evo-key"), "cobranca")))
    try:
        form = open_new_campaign_form(page, dashboard)
        form.get_by_label("Nome").fill("Cobrança Oficial")
        first = form.locator("#f-wa-first")
        expect(first.locator("option")).to_have_count(3)
        first.select_option(label="cobranca_inicio (pt_BR)")
        form.locator("#f-wa-follow").select_option(label="cobranca_retomada (pt_BR)")
        form.get_by_role("button", name="Criar campanha").click()

        expect(page.get_by_role("heading", name="Cobrança Oficial")).to_be_visible()
        [created] = dashboard.get("/api/voice/campaigns").json()
        assert created["whatsappTemplates"] == {
            "first_contact": {"name": "cobranca_inicio", "language": "pt_BR"},
            "follow_up": {"name": "cobranca_retomada", "language": "pt_BR"},
        }
        expect(page.locator("[data-facts]")).to_contain_text("Primeira mensagem: cobranca_inicio")
    finally:
        clients.reset()
        server.stop()


def test_the_campaign_page_draws_the_funnel_kpis_outcomes_and_channels_from_stats(
    page: Any, dashboard: Dashboard
) -> None:
    campaign = campaign_rules.create(name="Fevereiro", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    counters.increment_many(
        counters.campaign_scope(campaign.id),
        {
            "total": 200,
            "state:completed": 120,
            "state:pending": 80,
            "contacted": 180,
            "responded": 100,
            "promised": 70,
            "promises:total": 70,
            "promises:fulfilled": 55,
            "outcome:paid": 90,
            "self_cured": 9,  # paid before any contact
            CaseMoney.PAID_AFTER_CONTACT.value: 81,  # the others: conversion is 81 / 180 contacted
            "outcome:no_answer": 30,
            "outcome:promise_made": 15,
            stats.contacts_counter(Channel.WHATSAPP): 240,
            stats.contacts_counter(Channel.VOICE): 60,
        },
    )
    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.monitor}#/campanhas/{campaign.id}")

    api = dashboard.get(f"/api/voice/campaigns/{campaign.id}/stats").json()
    steps = page.locator(".funnel-step")
    expect(steps).to_have_count(5)
    assert steps.all_inner_texts() == [
        f"Contatados\n{api['reached']} (90,0%)",
        f"Responderam\n{api['responded']} (50,0%)",
        f"Prometeram\n{api['promised']} (35,0%)",
        f"Cumpriram\n{api['fulfilled']} (27,5%)",
        f"Pagaram\n{api['paid']} (45,0%)",
    ]
    widths = [
        steps.nth(i).locator(".funnel-bar").evaluate("e => e.getBoundingClientRect().width") for i in range(5)
    ]
    assert widths[0] > widths[1] > widths[2] > widths[3] and widths[4] > widths[2]

    kpis = {
        row.locator("th").inner_text(): row.locator("td").all_inner_texts()
        for row in page.locator("[data-kpis] tr").all()
    }
    assert kpis["Taxa de Contato"] == ["90,0%", "> 80,0%", "Meta atingida"]
    assert kpis["Taxa de Resposta"] == ["55,6%", "> 50,0%", "Meta atingida"]
    assert kpis["Taxa de Promessa"] == ["70,0%", "> 60,0%", "Meta atingida"]
    assert kpis["Taxa de Cumprimento"] == ["78,6%", "> 70,0%", "Meta atingida"]
    assert kpis["Taxa de Conversão"] == ["45,0%", "> 40,0%", "Meta atingida"]
    assert [k["met"] for k in api["kpis"]] == [True] * 5

    outcomes = page.locator("[data-outcomes] tr")
    assert outcomes.all_inner_texts() == ["Pago\t90", "Não atendeu\t30", "Promessa registrada\t15"]
    expect(page.locator("[data-channels]")).to_contain_text("WhatsApp240Voz60")
    expect(page.locator("[data-min-role='admin']")).to_be_hidden()  # a viewer does not import
    shot(page, "campanha-funil", full_page=True)


def test_an_import_uploads_with_progress_and_shows_each_rejected_row_and_the_report(
    page: Any, dashboard: Dashboard, tmp_path: Path
) -> None:
    campaign = campaign_rules.create(name="Março", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    sheet = tmp_path / "clientes-marco.csv"
    sheet.write_text(SPREADSHEET, encoding="utf-8")
    sign_in(page, dashboard, "admin")
    page.goto(f"{dashboard.monitor}#/campanhas/{campaign.id}")

    page.get_by_label("Arquivo CSV ou XLSX").set_input_files(str(sheet))
    page.get_by_role("button", name="Importar").click()

    expect(page.locator("[data-import-summary]")).to_have_text(
        "2 faturas importadas · 2 clientes novos · 0 clientes atualizados · 1 duplicado · 2 linhas rejeitadas"
    )
    expect(page.get_by_label("Envio")).to_have_attribute("value", "100")
    rows = page.locator("[data-import-errors] tbody tr")
    expect(rows).to_have_count(3)
    lines = [row.locator("td").all_inner_texts() for row in rows.all()]
    assert [(line, field) for line, field, _ in lines] == [
        ("4", "Telefone"),
        ("5", "CPF/CNPJ"),
        ("6", "CPF/CNPJ"),
    ]
    reasons = [
        reason.split("\n") for _, _, reason in lines
    ]  # the reason in Portuguese, then the API's detail
    assert [reason[0] for reason in reasons] == [
        "Telefone inválido",
        "CPF/CNPJ inválido",
        "Linha duplicada (mesmo CPF/CNPJ e fatura)",
    ]
    assert "duplicate of line 2" in reasons[2][1]
    # The funnel now counts the imported customers.
    expect(page.locator(".funnel-total")).to_have_text("Clientes na campanha: 2")
    shot(page, "importacao", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("button", name="Baixar relatório de linhas rejeitadas").click()
    report = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert download.value.suggested_filename.startswith("linhas-rejeitadas-")
    assert [line.split(";")[:3] for line in report.splitlines()[1:]] == [
        ["4", "phone", "invalid_phone"],
        ["5", "document", "invalid_document"],
        ["6", "document", "duplicate"],
    ]


def test_a_file_refused_as_a_whole_says_why(page: Any, dashboard: Dashboard, tmp_path: Path) -> None:
    campaign = campaign_rules.create(name="Abril", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    notes = tmp_path / "notas.txt"
    notes.write_text("isto não é uma planilha", encoding="utf-8")
    sign_in(page, dashboard, "admin")
    page.goto(f"{dashboard.monitor}#/campanhas/{campaign.id}")

    page.get_by_label("Arquivo CSV ou XLSX").set_input_files(str(notes))
    page.get_by_role("button", name="Importar").click()

    expect(page.locator("[data-import-error]")).to_contain_text("A planilha não foi importada:")
    expect(page.locator("[data-import-result]")).to_be_hidden()
