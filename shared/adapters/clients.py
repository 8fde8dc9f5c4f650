"""The process's clients to the outside world: the billing system (the generic CRM or the ISP's ERP,
chosen by BILLING_SYSTEM), Evolution (WhatsApp), Twilio (voice) and the chat model. Each is built from the settings on first use and then reused, so a warm Lambda or the
voice bridge keeps its connection pools. Tests and the sandbox `install` their own clients (short
timeouts, simulators) and call `reset` when the environment changes. Nothing runs at import time.

This module imports only `shared.core.config` at import time; each client's module loads with the first
use of its getter (the `openai` SDK, ≈1 s of import, when the model's client is built; an ERP adapter
when it is chosen; Evolution's or Twilio's adapter in a process that sends), so a worker loads the
adapters it uses and no others. None of them imports this module back, so any module can import it
without a cycle.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from shared.core.config import Settings, get_settings
from shared.domain.errors import ConfigError

if TYPE_CHECKING:
    from openai import OpenAI

    from shared.adapters.billing import BillingSystem
    from shared.adapters.crm import CrmClient
    from shared.adapters.evolution import WhatsAppSender
    from shared.adapters.twilio_voice import VoiceCaller

# The ERP adapters by BILLING_SYSTEM: module and class, imported only when chosen. Each is built as
# `Class(settings.<system>(), timeout=CRM_TIMEOUT_SECONDS)`; adding a system is one line here.
ERP_ADAPTERS: Final[dict[str, tuple[str, str]]] = {
    "ixc": ("shared.adapters.erp.ixc", "IxcBilling"),
    "sgp": ("shared.adapters.erp.sgp", "SgpBilling"),
    "hubsoft": ("shared.adapters.erp.hubsoft", "HubsoftBilling"),
}
# The billing system is asked inside an assistant turn as well as by the workers: short enough for a turn.
CRM_TIMEOUT_SECONDS: Final = 8.0
# A WhatsApp turn must stay well inside the inbound queue's visibility timeout; one quick retry of a
# transient failure, then the fallback dialogue answers instead.
OPENAI_TIMEOUT_SECONDS: Final = 20.0
OPENAI_MAX_RETRIES: Final = 1


@dataclass
class _Clients:
    """The clients in use. An installed client takes the same slot as a built one, so it wins over
    it, and `reset` forgets both."""

    crm: BillingSystem | None = None
    whatsapp: WhatsAppSender | None = None
    voice: VoiceCaller | None = None
    openai: OpenAI | None = None
    # No OPENAI_API_KEY resolves to None, which is not "not built yet".
    openai_resolved: bool = False


_lock = threading.Lock()
_clients = _Clients()


def crm() -> BillingSystem:
    """The billing system BILLING_SYSTEM names: the generic CRM (`generic`, the default) or an ERP
    adapter. Raises `ConfigError` naming the missing variables when it is not configured."""
    with _lock:
        client = _clients.crm
        if client is None:
            client = _clients.crm = _build_billing(get_settings())
        return client


def _build_billing(settings: Settings) -> BillingSystem:
    system = settings.billing_system
    if system == "generic":
        from shared.adapters.crm import HttpCrmClient
        from shared.adapters.erp.generic import GenericBilling

        return GenericBilling(HttpCrmClient(settings.crm(), timeout=CRM_TIMEOUT_SECONDS))
    if system not in ERP_ADAPTERS:
        raise ConfigError(f"BILLING_SYSTEM={system} has no adapter in this version")
    module, name = ERP_ADAPTERS[system]
    adapter = getattr(importlib.import_module(module), name)
    return cast("BillingSystem", adapter(getattr(settings, system)(), timeout=CRM_TIMEOUT_SECONDS))


def as_billing(client: CrmClient) -> BillingSystem:
    """`client` as a `BillingSystem`: a bare CRM client (consult only) answers as the generic one."""
    from shared.adapters.billing import BillingSystem
    from shared.adapters.erp.generic import GenericBilling

    return client if isinstance(client, BillingSystem) else GenericBilling(client)


def whatsapp() -> WhatsAppSender:
    """The Evolution client, used for campaign messages and for replies. Raises `ConfigError` when
    Evolution is not configured."""
    with _lock:
        client = _clients.whatsapp
        if client is None:
            from shared.adapters.evolution import EvolutionClient

            client = _clients.whatsapp = EvolutionClient(get_settings().evolution())
        return client


def voice() -> VoiceCaller:
    """Twilio. Raises `ConfigError` naming the missing TWILIO_* variables.

    WEBHOOK_BASE_URL is not needed to build it: post-call and the bridge only hang up, and the upkeep
    only asks for a call's state. `place_call` raises `ConfigError` when it is missing.
    """
    with _lock:
        client = _clients.voice
        if client is None:
            from shared.adapters.twilio_voice import TwilioVoice

            settings = get_settings()
            client = _clients.voice = TwilioVoice(settings.twilio(), settings.webhook_base_url or "")
        return client


def openai() -> OpenAI | None:
    """The chat model's client, honouring OPENAI_BASE_URL. Returns None when OPENAI_API_KEY is not set,
    and the assistant then answers with its fallback dialogue."""
    with _lock:
        if not _clients.openai_resolved:
            settings = get_settings()
            key = settings.openai_api_key
            if key is not None and key.get_secret_value():
                from openai import OpenAI  # ≈1 s of import: paid by the first model call only

                _clients.openai = OpenAI(
                    api_key=key.get_secret_value(),
                    base_url=settings.openai_base_url or None,
                    timeout=OPENAI_TIMEOUT_SECONDS,
                    max_retries=OPENAI_MAX_RETRIES,
                )
            _clients.openai_resolved = True
        return _clients.openai


def install(
    *,
    crm: CrmClient | None = None,
    whatsapp: WhatsAppSender | None = None,
    voice: VoiceCaller | None = None,
    openai: OpenAI | None = None,
) -> None:
    """Use these clients instead of the ones built from the settings. Tests install clients with short
    timeouts and the sandbox installs its simulators; a bare CRM client is served as the generic
    billing system (`as_billing`). None leaves that client as it is."""
    with _lock:
        if crm is not None:
            _clients.crm = as_billing(crm)
        if whatsapp is not None:
            _clients.whatsapp = whatsapp
        if voice is not None:
            _clients.voice = voice
        if openai is not None:
            _clients.openai, _clients.openai_resolved = openai, True


def reset() -> None:
    """Forget installed and built clients, so the next use builds them again from the settings. Tests
    and the sandbox call this after changing the environment."""
    global _clients
    with _lock:
        _clients = _Clients()
