"""The voicemail drop's text: who is calling and how to reach us, the return number read digit by
digit in its groups — and nothing about a debt (anyone may play a recording back)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.core.config import reset_settings
from shared.engine.outreach_texts import voicemail_message


@pytest.fixture
def company(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("COMPANY_NAME", "Rede Norte Fibra")
    monkeypatch.setenv("ASSISTANT_NAME", "Lia")
    reset_settings()
    yield monkeypatch
    reset_settings()


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        ("+551140028922", "1 1, 4 0 0 2, 8 9 2 2"),
        ("+5592999998888", "9 2, 9 9 9 9 9, 8 8 8 8"),
        ("+15005550006", "1 5 0 0 5 5 5 0 0 0 6"),  # a foreign caller id: its digits
    ],
)
def test_voicemail_names_the_creditor_and_reads_the_return_number_out(
    company: pytest.MonkeyPatch, number: str, spoken: str
) -> None:
    company.setenv("TWILIO_PHONE_NUMBER", number)
    reset_settings()

    text = voicemail_message()

    assert text.startswith("Olá! Aqui é a Lia, da Rede Norte Fibra. ")
    assert f"retorne no número {spoken}, ou responda nossa mensagem no WhatsApp." in text
    for word in ("débito", "dívida", "fatura", "pagamento", "valor", "cpf", "cobrança"):
        assert word not in text.lower()


def test_voicemail_without_a_caller_number_only_asks_for_a_whatsapp_reply(
    company: pytest.MonkeyPatch,
) -> None:
    company.delenv("TWILIO_PHONE_NUMBER", raising=False)
    reset_settings()

    assert voicemail_message() == (
        "Olá! Aqui é a Lia, da Rede Norte Fibra. Por favor, responda nossa mensagem no WhatsApp. "
        "Obrigada e até logo."
    )
