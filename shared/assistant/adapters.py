"""The assistant's outside services, created lazily on first use and swappable by tests and the
sandbox: the CRM client and the OpenAI client. Nothing here runs at import time."""

from __future__ import annotations

import threading

from openai import OpenAI

from shared.config import get_settings
from shared.crm import CrmClient, HttpCrmClient

# A WhatsApp turn must stay well inside the inbound queue's visibility timeout; one quick retry of a
# transient failure, then the fallback dialogue answers instead.
OPENAI_TIMEOUT_SECONDS = 20.0
OPENAI_MAX_RETRIES = 1
CRM_TIMEOUT_SECONDS = 8.0

_lock = threading.Lock()
_crm: CrmClient | None = None
_openai: OpenAI | None = None
_openai_resolved = False


def get_crm() -> CrmClient:
    """The CRM client (`ConfigError` naming the missing variables when it is not configured)."""
    global _crm
    with _lock:
        if _crm is None:
            _crm = HttpCrmClient(get_settings().crm(), timeout=CRM_TIMEOUT_SECONDS)
        return _crm


def get_openai() -> OpenAI | None:
    """The chat model's client, honouring OPENAI_BASE_URL; None when OPENAI_API_KEY is not set (the
    assistant then answers with its fallback dialogue)."""
    global _openai, _openai_resolved
    with _lock:
        if not _openai_resolved:
            settings = get_settings()
            if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
                _openai = OpenAI(
                    api_key=settings.openai_api_key.get_secret_value(),
                    base_url=settings.openai_base_url or None,
                    timeout=OPENAI_TIMEOUT_SECONDS,
                    max_retries=OPENAI_MAX_RETRIES,
                )
            _openai_resolved = True
        return _openai


def use(*, crm: CrmClient | None = None, openai: OpenAI | None = None) -> None:
    """Install specific clients (tests: short timeouts; the sandbox: its simulators)."""
    global _crm, _openai, _openai_resolved
    with _lock:
        if crm is not None:
            _crm = crm
        if openai is not None:
            _openai, _openai_resolved = openai, True


def reset() -> None:
    """Forget the clients; the next use builds them again from the settings."""
    global _crm, _openai, _openai_resolved
    with _lock:
        _crm, _openai, _openai_resolved = None, None, False
