"""What outreach says to the customer (pt-BR): the WhatsApp message of each step of the cadence
(`shared.domain.cadence.message_step`) — a campaign's own text for the step when it has one, else the
default here —, the goodbye a call gets when it cannot be connected to the assistant, and the
voicemail drop's neutral message.

Every default names the creditor with its CNPJ and says, in general terms, why we write (CDC art.
42-A); none mentions an amount or an invoice before the person confirms the document; every one says
how to stop the messages. The follow-up also goes to a customer who never answered (a retry), so it
claims no conversation, only the contact.
"""

from __future__ import annotations

from typing import Final

from shared.core.config import get_settings
from shared.domain import templates
from shared.domain.cadence import message_step
from shared.domain.documents import DocumentKind, InvalidDocument, document_kind, format_document
from shared.domain.models import Campaign, MessageStep, Target
from shared.domain.phones import InvalidPhone, parse_phone

GOODBYE: Final = "Olá! No momento não conseguimos continuar esta ligação. Obrigado pela atenção e até logo."

# How `outcomeDetails` names each step's message, for supervisors.
STEP_LABELS: Final = {
    MessageStep.FIRST_CONTACT: "Mensagem inicial",
    MessageStep.FOLLOW_UP: "Mensagem de retomada",
    MessageStep.AFTER_BROKEN_PROMISE: "Mensagem após promessa não cumprida",
    MessageStep.LAST_NOTICE: "Último aviso",
}
_STOP: Final = "Se preferir não receber mais nossas mensagens, é só responder PARAR."


def default_templates(*, assistant: str, document: str, with_cnpj: bool) -> dict[MessageStep, str]:
    """The default text of each step, as templates (`shared.domain.templates`): `assistant` signs
    them, `document` is what the holder confirms ("CPF" or "CNPJ"); the creditor is named with its
    CNPJ whenever one is configured (`with_cnpj`)."""
    creditor = "{empresa} (CNPJ {cnpj})" if with_cnpj else "{empresa}"
    identity = f"Para sua segurança, só passo os detalhes depois que você confirmar o {document} do titular."
    return {
        MessageStep.FIRST_CONTACT: (
            f"Olá! 👋 Aqui é a {assistant}, assistente virtual da {creditor}.\n\n"
            "Estou entrando em contato para tratar de um assunto financeiro da sua conta conosco. "
            "Falo com {nome}?\n\n"
            f"{identity} Estou aqui para ajudar a encontrar a melhor forma de resolver, no seu tempo. 💙\n\n"
            f"{_STOP}"
        ),
        MessageStep.FOLLOW_UP: (
            f"Olá, {{nome}}! Aqui é novamente a {assistant}, assistente virtual da {creditor}.\n\n"
            "Entramos em contato recentemente sobre um assunto financeiro da sua conta, que segue em "
            "aberto. Podemos conversar? Se quiser, encontro com você uma data ou forma de pagamento que caiba "
            f"no seu momento.\n\n{identity}\n\n{_STOP}"
        ),
        MessageStep.AFTER_BROKEN_PROMISE: (
            f"Olá, {{nome}}! Aqui é a {assistant}, assistente virtual da {creditor}.\n\n"
            "Não identificamos o pagamento combinado na nossa última conversa. Imprevistos acontecem: "
            "posso ajudar a combinar uma nova data?\n\n"
            f"{identity}\n\n{_STOP}"
        ),
        MessageStep.LAST_NOTICE: (
            f"Olá, {{nome}}. Aqui é a {assistant}, assistente virtual da {creditor}.\n\n"
            "Este é o nosso último contato por este canal sobre um assunto financeiro da sua conta. "
            "Se quiser resolver, é só responder esta mensagem que eu ajudo.\n\n"
            f"{identity}\n\n{_STOP}"
        ),
    }


def outreach_message(target: Target, campaign: Campaign) -> tuple[MessageStep, str]:
    """The step of the target's next contact and its WhatsApp text (the campaign's or the default)."""
    step = message_step(target, campaign)
    return step, step_text(step, target, campaign)


def step_text(step: MessageStep, target: Target, campaign: Campaign) -> str:
    """One step's text for this customer, placeholders filled in."""
    settings = get_settings()
    cnpj = _written_cnpj(settings.company_cnpj) if settings.company_cnpj else ""
    template = (
        campaign.messages.get(step)
        or default_templates(
            assistant=settings.assistant_name, document=_document_word(target.document), with_cnpj=bool(cnpj)
        )[step]
    )
    return templates.render(template, nome=target.client_name, empresa=settings.company_name, cnpj=cnpj)


def step_parameters(target: Target) -> list[str]:
    """An approved template's body parameters for this customer (`templates.template_parameters`:
    the same name, creditor and written CNPJ as the step's text)."""
    settings = get_settings()
    cnpj = _written_cnpj(settings.company_cnpj) if settings.company_cnpj else ""
    return templates.template_parameters(nome=target.client_name, empresa=settings.company_name, cnpj=cnpj)


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


def _document_word(document: str) -> str:
    try:
        return "CNPJ" if document_kind(document) is DocumentKind.CNPJ else "CPF"
    except InvalidDocument:
        return "CPF"


def _written_cnpj(value: str) -> str:
    try:
        return format_document(value)
    except InvalidDocument:
        return value.strip()
