"""What the team reads for the values the API gives as codes (pt-BR), where the server writes the
text itself: a case's `outcomeDetails`, the events of a customer's story, the CSV exports. The
dashboard's own labels (`functions/api/static/monitor/labels.js`) say the same; a test keeps them so.
States and promise statuses are lowercase, as a sentence says them; `cell` capitalizes them."""

from __future__ import annotations

from typing import Final

from shared.domain.models import (
    Channel,
    ConversationSource,
    Outcome,
    PaymentMethod,
    PromiseStatus,
    TargetState,
)

# A case's state, as a sentence says it ("estado concluído").
STATE: Final = {
    TargetState.PENDING: "pendente",
    TargetState.SCHEDULED: "agendado",
    TargetState.CALLING: "em chamada",
    TargetState.CONTACTED: "contatado",
    TargetState.COMPLETED: "concluído",
}
OUTCOME: Final = {
    Outcome.ANSWERED: "Atendeu",
    Outcome.NO_ANSWER: "Não atendeu",
    Outcome.BUSY: "Ocupado",
    Outcome.FAILED: "Falha",
    Outcome.VOICEMAIL: "Caixa postal",
    Outcome.VOICEMAIL_LEFT: "Recado na caixa postal",
    Outcome.NOT_ON_WHATSAPP: "Sem WhatsApp",
    Outcome.NOT_DELIVERED: "Mensagem não entregue",
    Outcome.PROMISE_MADE: "Promessa registrada",
    Outcome.PAID: "Pago",
    Outcome.PAYMENT_CLAIMED: "Pagamento informado",
    Outcome.PROMISE_BROKEN: "Promessa quebrada",
    Outcome.OPTED_OUT: "Pediu para não ser contatado",
    Outcome.TRANSFERRED: "Transferido",
    Outcome.WRONG_NUMBER: "Número errado",
    Outcome.CONTACT_REQUESTED: "Contato pedido de outro número",
    Outcome.UNKNOWN_CUSTOMER: "Cliente não encontrado no CRM",
    Outcome.TIME_BARRED: "Dívida prescrita",
    Outcome.EXHAUSTED: "Contatos esgotados",
}
CHANNEL: Final = {Channel.WHATSAPP: "WhatsApp", Channel.VOICE: "Voz"}
SOURCE: Final = {
    ConversationSource.INBOUND: "Entrada",
    ConversationSource.WHATSAPP_CAMPAIGN: "Campanha WhatsApp",
    ConversationSource.VOICE_CAMPAIGN: "Campanha Voz",
}
# A promise's status, as a sentence says it ("promessa marcada como cumprida").
PROMISE_STATUS: Final = {
    PromiseStatus.PENDING: "pendente",
    PromiseStatus.FULFILLED: "cumprida",
    PromiseStatus.BROKEN: "quebrada",
    PromiseStatus.RENEGOTIATED: "renegociada",
}
PAYMENT_METHOD: Final = {
    PaymentMethod.PIX: "Pix",
    PaymentMethod.BOLETO: "Boleto",
    PaymentMethod.CARTAO_CREDITO: "Cartão de crédito",
    PaymentMethod.DEBITO_AUTOMATICO: "Débito automático",
    PaymentMethod.OUTROS: "Outros",
}


def cell(label: str) -> str:
    """A label as a spreadsheet cell shows it: its first letter capitalized ("em chamada" → "Em chamada")."""
    return label[:1].upper() + label[1:]
