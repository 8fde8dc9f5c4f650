"""`whatsappTemplates` on campaigns and `GET /api/voice/whatsapp/templates` (EVOLUTION_INTEGRATION=cloud):
a campaign that uses WhatsApp on the Cloud API is activated only with an approved template per step."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from infra.local.simulators.evolution import EvolutionSimulator
from infra.local.simulators.server import serve_in_thread
from shared.adapters import clients
from shared.adapters.evolution import EvolutionClient
from shared.core.config import EvolutionConfig, reset_settings
from tests.integration.api.conftest import Api

STEPS = ("first_contact", "follow_up", "after_broken_promise", "last_notice")
TEMPLATES = {step: {"name": f"cobranca_{step}", "language": "pt_BR"} for step in STEPS}


@pytest.fixture
def cloud(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("EVOLUTION_INTEGRATION", "cloud")
    reset_settings()
    return api


def test_campaigns_keep_and_show_their_templates(api: Api) -> None:
    created = api.create_campaign(whatsappTemplates={"first_contact": TEMPLATES["first_contact"]})
    assert created["whatsappTemplates"] == {"first_contact": TEMPLATES["first_contact"]}

    patched = api.patch(f"/api/voice/campaigns/{created['id']}", json={"whatsappTemplates": TEMPLATES})

    assert patched.status_code == 200, patched.text
    assert api.get(f"/api/voice/campaigns/{created['id']}").json()["whatsappTemplates"] == TEMPLATES


@pytest.mark.parametrize(
    ("template", "field"),
    [
        ({"name": "Cobrança Inicial", "language": "pt_BR"}, "name"),
        ({"name": "cobranca", "language": "português"}, "language"),
        ({"name": "cobranca"}, "language"),
    ],
)
def test_a_malformed_template_is_a_422_naming_the_field(
    api: Api, template: dict[str, str], field: str
) -> None:
    response = api.post(
        "/api/voice/campaigns",
        json={
            "name": "X",
            "contactMethod": "whatsapp_primary",
            "whatsappTemplates": {"first_contact": template},
        },
    )
    assert response.status_code == 422
    assert field in response.text


def test_activating_a_cloud_campaign_without_templates_is_a_422_naming_the_missing_steps(cloud: Api) -> None:
    campaign = cloud.create_campaign(
        whatsappTemplates={"first_contact": TEMPLATES["first_contact"], "follow_up": TEMPLATES["follow_up"]}
    )

    response = cloud.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "whatsapp_templates_missing"
    assert "after_broken_promise, last_notice" in response.json()["detail"]
    assert "first_contact" not in response.json()["detail"]
    assert cloud.get(f"/api/voice/campaigns/{campaign['id']}").json()["status"] == "draft"
    via_patch = cloud.patch(f"/api/voice/campaigns/{campaign['id']}", json={"status": "active"})
    assert via_patch.status_code == 422


def test_a_cloud_campaign_with_every_template_activates(cloud: Api) -> None:
    campaign = cloud.create_campaign(whatsappTemplates=TEMPLATES)

    response = cloud.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")

    assert response.status_code == 200, response.text


def test_a_voice_only_campaign_needs_no_template_on_cloud(cloud: Api) -> None:
    campaign = cloud.create_campaign(contactMethod="voice")

    response = cloud.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")

    assert response.status_code == 200, response.text


def test_on_baileys_no_template_is_needed(api: Api) -> None:
    campaign = api.create_campaign()

    response = api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")

    assert response.status_code == 200, response.text


@pytest.fixture
def evolution(monkeypatch: pytest.MonkeyPatch) -> Iterator[EvolutionSimulator]:
    simulator = EvolutionSimulator(api_key="evo-key", instance="cobranca")
    server = serve_in_thread(simulator.app)
    clients.install(whatsapp=EvolutionClient(EvolutionConfig(server.url, SecretStr("evo-key"), "cobranca")))
    yield simulator
    clients.reset()
    server.stop()


def test_the_instances_templates_are_listed_for_supervisors(api: Api, evolution: EvolutionSimulator) -> None:
    evolution.approve_template(
        "cobranca_first_contact", "pt_BR", "Olá, {{1}}! Aqui é a {{2}}. PARAR para sair."
    )

    response = api.get("/api/voice/whatsapp/templates", role="supervisor")

    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "name": "cobranca_first_contact",
            "language": "pt_BR",
            "status": "APPROVED",
            "category": "UTILITY",
            "body": "Olá, {{1}}! Aqui é a {{2}}. PARAR para sair.",
        }
    ]
    assert api.get("/api/voice/whatsapp/templates", role="viewer").status_code == 403
