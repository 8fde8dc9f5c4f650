"""What outreach says to the customer: the campaign's first WhatsApp message, the goodbye a call
gets when it cannot be connected to the assistant, and the voicemail drop (pt-BR)."""

from __future__ import annotations

from typing import Final

from shared.core.config import get_settings
from shared.domain.documents import DocumentKind, InvalidDocument, document_kind, format_document
from shared.domain.models import Target
from shared.domain.phones import InvalidPhone, parse_phone

GOODBYE: Final = "Olá! No momento não conseguimos continuar esta ligação. Obrigado pela atenção e até logo."


def first_message(target: Target) -> str:
    """The campaign's first WhatsApp message (CDC art. 42-A): names the creditor and, in general
    terms, the reason; no amount or invoice before the person confirms the document; how to stop."""
    settings = get_settings()
    creditor = settings.company_name
    if settings.company_cnpj:
        creditor += f" (CNPJ {_written_cnpj(settings.company_cnpj)})"
    document = "CPF" if _is_cpf(target.document) else "CNPJ"
    return (
        f"Olá! 👋 Aqui é a {settings.assistant_name}, assistente virtual da {creditor}.\n\n"
        "Estou entrando em contato para tratar de um assunto financeiro da sua conta conosco. "
        f"Falo com {target.client_name}?\n\n"
        f"Para sua segurança, só passo os detalhes depois que você confirmar o {document} do titular. "
        "Estou aqui para ajudar a encontrar a melhor forma de resolver, no seu tempo. 💙\n\n"
        "Se preferir não receber mais nossas mensagens, é só responder PARAR."
    )


def voicemail_message() -> str:
    """What an answering machine hears after its beep. Anyone may play it back (CDC art. 42, LGPD):
    who is calling and how to reach us — never a debt, an amount or the customer's name."""
    settings = get_settings()
    number = _spoken_phone(settings.twilio_phone_number) if settings.twilio_phone_number else None
    call_back = f"Por favor, retorne no número {number}, ou responda" if number else "Por favor, responda"
    return (
        f"Olá! Aqui é a {settings.assistant_name}, da {settings.company_name}. "
        f"{call_back} nossa mensagem no WhatsApp. Obrigada e até logo."
    )


def _spoken_phone(raw: str) -> str:
    """A phone number read out digit by digit in its groups: "1 1, 3 0 0 0, 1 2 3 4" (a voice
    reads "3000" as "três mil")."""
    try:
        phone = parse_phone(raw)
    except InvalidPhone:
        return " ".join(char for char in raw if char.isdigit())  # a foreign number: its digits
    half = len(phone.subscriber) - 4
    groups = (phone.ddd, phone.subscriber[:half], phone.subscriber[half:])
    return ", ".join(" ".join(group) for group in groups)


def _is_cpf(document: str) -> bool:
    try:
        return document_kind(document) is DocumentKind.CPF
    except InvalidDocument:
        return True


def _written_cnpj(value: str) -> str:
    try:
        return format_document(value)
    except InvalidDocument:
        return value.strip()
