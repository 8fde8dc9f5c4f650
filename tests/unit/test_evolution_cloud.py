"""The Evolution client's Cloud-API requests against the simulator (in-process, no socket): the
template send and Meta's 400s for an unknown template or a wrong parameter count, documents, read
marks, the template list, and the typing delay."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from infra.local.simulators.evolution import EvolutionSimulator
from shared.adapters.evolution import EvolutionClient, EvolutionRejected, NotOnWhatsApp
from shared.core.config import EvolutionConfig
from shared.engine.whatsapp_out import TYPING_MAX_MS, TYPING_MIN_MS, is_pdf_link, typing_delay_ms

BODY = "Olá, {{1}}! Aqui é a {{2}} (CNPJ {{3}}). Responda PARAR para sair."
NUMBER = "5511999998888"


@pytest.fixture
def simulator() -> EvolutionSimulator:
    sim = EvolutionSimulator(api_key="k", instance="cobranca")
    sim.approve_template("cobranca_inicio", "pt_BR", BODY)
    return sim


@pytest.fixture
def client(simulator: EvolutionSimulator) -> EvolutionClient:
    config = EvolutionConfig("http://testserver", SecretStr("k"), "cobranca")
    return EvolutionClient(config, client=TestClient(simulator.app))


def test_a_template_goes_with_its_body_parameters_in_order(client, simulator) -> None:
    sent = client.send_template(
        NUMBER, "cobranca_inicio", "pt_BR", ["Maria", "TR Telecom", "11.222.333/0001-81"]
    )

    assert sent.id and sent.id.startswith("wamid.")
    [template] = simulator.sent_templates
    assert (template.name, template.language, template.number) == ("cobranca_inicio", "pt_BR", NUMBER)
    assert (
        template.text
        == "Olá, Maria! Aqui é a TR Telecom (CNPJ 11.222.333/0001-81). Responda PARAR para sair."
    )


@pytest.mark.parametrize(
    ("name", "language", "parameters"),
    [
        ("cobranca_desconhecida", "pt_BR", ["Maria", "TR", "CNPJ"]),  # not approved
        ("cobranca_inicio", "en_US", ["Maria", "TR", "CNPJ"]),  # approved in another language
        ("cobranca_inicio", "pt_BR", ["Maria", "TR"]),  # a parameter short
    ],
)
def test_meta_refuses_an_unknown_template_or_a_wrong_parameter_count(
    client, simulator, name: str, language: str, parameters: list[str]
) -> None:
    with pytest.raises(EvolutionRejected):
        client.send_template(NUMBER, name, language, parameters)
    assert simulator.sent_templates == []


def test_a_template_to_a_number_without_whatsapp_is_not_on_whatsapp(client, simulator) -> None:
    simulator.not_on_whatsapp.add(NUMBER)
    with pytest.raises(NotOnWhatsApp):
        client.send_template(NUMBER, "cobranca_inicio", "pt_BR", ["Maria", "TR", "CNPJ"])


def test_a_document_carries_its_file_name_mimetype_and_caption(client, simulator) -> None:
    client.send_media(
        NUMBER,
        media_url="https://boletos.example/F-1.pdf",
        file_name="boleto-F-1.pdf",
        mimetype="application/pdf",
        caption="Boleto da fatura F-1",
    )

    [media] = simulator.sent_media
    assert (media.mediatype, media.mimetype, media.file_name) == (
        "document",
        "application/pdf",
        "boleto-F-1.pdf",
    )
    assert (media.media, media.caption) == ("https://boletos.example/F-1.pdf", "Boleto da fatura F-1")


def test_a_read_mark_names_the_customers_message_key(client, simulator) -> None:
    client.mark_read(f"{NUMBER}@s.whatsapp.net", "ABC123")

    assert simulator.read == [{"remoteJid": f"{NUMBER}@s.whatsapp.net", "fromMe": False, "id": "ABC123"}]


def test_the_template_list_is_read_from_metas_rows(client) -> None:
    [template] = client.templates()

    assert (template.name, template.language, template.status, template.body) == (
        "cobranca_inicio",
        "pt_BR",
        "APPROVED",
        BODY,
    )


def test_a_text_keeps_its_typing_delay(client, simulator) -> None:
    client.send_text(NUMBER, "Oi!", delay_ms=1200)

    assert simulator.sent[0].delay == 1200


@pytest.mark.parametrize(
    ("length", "delay"), [(1, TYPING_MIN_MS), (80, 2000), (160, TYPING_MAX_MS), (5000, TYPING_MAX_MS)]
)
def test_typing_lasts_with_the_length_never_past_four_seconds(length: int, delay: int) -> None:
    assert typing_delay_ms("x" * length) == delay


@pytest.mark.parametrize(
    ("url", "pdf"),
    [
        ("https://boletos.example/2via/F-1.pdf", True),
        ("https://boletos.example/2via/F-1.PDF?token=x", True),
        ("https://pague.example/fatura/F-1", False),
        ("https://pague.example/pdf?f=1", False),
    ],
)
def test_only_a_link_to_a_pdf_is_sent_as_the_boleto_document(url: str, pdf: bool) -> None:
    assert is_pdf_link(url) is pdf
