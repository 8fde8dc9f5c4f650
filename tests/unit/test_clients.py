"""`shared.adapters.clients`: the process's clients, built from the settings on first use, swapped by
`install`, forgotten by `reset`."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from openai import OpenAI
from pydantic import SecretStr

from shared.adapters import clients
from shared.adapters.crm import Debt
from shared.adapters.erp.generic import GenericBilling
from shared.adapters.erp.ixc import IxcBilling
from shared.adapters.evolution import EvolutionClient, SentMessage
from shared.adapters.twilio_voice import CallState, TwilioVoice
from shared.core.config import IxcConfig, reset_settings
from shared.domain.errors import ConfigError

# Nothing listens on port 9: a request that got that far would fail as "unavailable", not as config.
NOWHERE = "http://127.0.0.1:9"
SETTINGS = {
    "CRM_API_URL": NOWHERE,
    "CRM_API_KEY": "crm-key",
    "EVOLUTION_API_URL": NOWHERE,
    "EVOLUTION_API_KEY": "evolution-key",
    "EVOLUTION_API_INSTANCE": "cobranca",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "twilio-token",
    "TWILIO_PHONE_NUMBER": "+551140028922",
    "TWILIO_API_BASE_URL": NOWHERE,
    "WEBHOOK_BASE_URL": "https://cobranca.example.com",
}
UNSET = (
    "COBRANCA_SECRETS_ARN",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "BILLING_SYSTEM",
    "IXC_API_URL",
    "IXC_API_USER",
    "IXC_API_TOKEN",
)


class FakeCrm:
    def consult(self, document: str) -> Debt | None:
        return None


class FakeWhatsApp:
    def send_text(self, number: str, text: str, *, delay_ms: int | None = None) -> SentMessage:
        return SentMessage(id="fake", remote_jid=None, status="PENDING")

    def connection_state(self) -> str:
        return "open"


class FakeVoice:
    def place_call(
        self, target_id: str, to_e164: str, *, detect_message_end: bool = False, record: bool = False
    ) -> str:
        return "CA-fake"

    def hang_up(self, call_sid: str) -> None:
        return None

    def play_twiml(self, call_sid: str, twiml: str) -> None:
        return None

    def call_state(self, call_sid: str) -> CallState:
        return CallState("completed", 0)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    clients.reset()
    yield
    clients.reset()
    reset_settings()


def use_settings(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> None:
    """Change the environment and read the settings again (the clients are not touched)."""
    for name, value in changes.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    reset_settings()


def test_clients_are_built_from_the_settings_on_first_use_and_then_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crm, whatsapp, voice = clients.crm(), clients.whatsapp(), clients.voice()

    assert isinstance(crm, GenericBilling)  # BILLING_SYSTEM defaults to the SPEC's CRM
    assert isinstance(whatsapp, EvolutionClient)
    assert isinstance(voice, TwilioVoice)
    use_settings(monkeypatch, CRM_API_URL=None)  # already built: the settings are not read again
    assert clients.crm() is crm and clients.whatsapp() is whatsapp and clients.voice() is voice


def test_nothing_is_built_before_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, CRM_API_URL=None, CRM_API_KEY=None)
    clients.reset()  # building nothing, so it cannot fail

    assert isinstance(clients.whatsapp(), EvolutionClient)
    with pytest.raises(ConfigError, match="CRM_API_URL, CRM_API_KEY"):
        clients.crm()


def test_installed_clients_win_over_the_built_ones_and_reset_forgets_both() -> None:
    built = clients.crm()
    whatsapp = clients.whatsapp()
    fake_crm, fake_voice = FakeCrm(), FakeVoice()

    clients.install(crm=fake_crm, voice=fake_voice)

    assert clients.crm() is not built and clients.voice() is fake_voice
    assert clients.whatsapp() is whatsapp  # None leaves a client as it is
    clients.reset()
    rebuilt = clients.crm()
    assert isinstance(rebuilt, GenericBilling) and rebuilt is not built
    assert isinstance(clients.voice(), TwilioVoice)


def test_a_client_installed_before_first_use_is_never_built_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_settings(monkeypatch, EVOLUTION_API_URL=None)
    fake = FakeWhatsApp()

    clients.install(whatsapp=fake)

    assert clients.whatsapp() is fake


def test_the_model_client_is_none_without_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert clients.openai() is None
    use_settings(monkeypatch, OPENAI_API_KEY="")
    clients.reset()
    assert clients.openai() is None


def test_the_model_client_honours_the_base_url_and_is_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL="http://127.0.0.1:9/v1")

    client = clients.openai()

    assert isinstance(client, OpenAI)
    assert str(client.base_url).rstrip("/") == "http://127.0.0.1:9/v1"
    assert client.max_retries == clients.OPENAI_MAX_RETRIES
    assert clients.openai() is client


def test_an_installed_model_client_is_used_even_without_an_api_key() -> None:
    installed = OpenAI(api_key="sk-installed", base_url="http://127.0.0.1:9/v1", max_retries=0)

    clients.install(openai=installed)

    assert clients.openai() is installed
    clients.reset()
    assert clients.openai() is None


def test_voice_builds_without_a_webhook_base_url_but_refuses_to_place_a_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_settings(monkeypatch, WEBHOOK_BASE_URL=None)

    voice = clients.voice()  # post-call and the bridge only hang up: they need no webhook URL

    with pytest.raises(ConfigError, match="WEBHOOK_BASE_URL"):
        voice.place_call("T1", "5511999998888")


def test_clients_built_concurrently_on_first_use_are_one_client() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        built = list(pool.map(lambda _: clients.crm(), range(32)))

    assert len({id(client) for client in built}) == 1


def test_a_bare_crm_client_installed_answers_as_the_generic_billing_system() -> None:
    fake = FakeCrm()
    clients.install(crm=fake)

    billing = clients.crm()

    assert isinstance(billing, GenericBilling) and billing.consult("52998224725") is None
    ixc = IxcBilling(IxcConfig(NOWHERE, "7", SecretStr("token")))
    clients.install(crm=ixc)  # already a billing system: installed as it is
    assert clients.crm() is ixc


def test_billing_system_ixc_builds_the_ixc_adapter_from_its_own_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_settings(monkeypatch, BILLING_SYSTEM="ixc", CRM_API_URL=None, CRM_API_KEY=None)
    with pytest.raises(ConfigError, match="IXC_API_URL, IXC_API_USER, IXC_API_TOKEN"):
        clients.crm()

    use_settings(monkeypatch, IXC_API_URL=NOWHERE, IXC_API_USER="7", IXC_API_TOKEN="token")
    assert isinstance(clients.crm(), IxcBilling)


def test_a_billing_system_without_an_adapter_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(clients.ERP_ADAPTERS, "ixc")  # a build that ships without it
    use_settings(monkeypatch, BILLING_SYSTEM="ixc", IXC_API_URL=NOWHERE, IXC_API_USER="7", IXC_API_TOKEN="t")

    with pytest.raises(ConfigError, match="BILLING_SYSTEM=ixc"):
        clients.crm()
