"""The deterministic dialogue that answers when the model cannot (no OPENAI_API_KEY, timeout, 5xx,
rate limit, malformed response): the customer always gets an answer.

It follows the same flow as the model — ask for the CPF/CNPJ, check it, quote the open invoices, agree
on a day, register the promise — through the very same tools (`tools.invoke`), so every guard holds.
It also verifies "já paguei", honours opt-outs, records a wrong number ("não sou eu") and otherwise
offers a human. From a phone not on file for the document it says only `texts.NOT_ON_FILE`, whether
or not the document is a customer's (the tools contact the registered number instead). Its state is the
conversation itself: the question it asked last is read back from its last message (`texts.last_ask`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from shared.assistant import amounts, dates, intents, texts
from shared.assistant.texts import ASKS, Ask
from shared.assistant.tools import ToolContext, ToolOutcome, invoke
from shared.core.config import get_settings
from shared.domain.models import Message, Sender, UnlockStatus

_CHOOSE_DATE: Final = re.compile(r"\b(?:data|combinar|prazo|promessa|parcel)")
_PROMISE_CODES: Final = frozenset(
    {"invalid_date", "date_in_past", "date_too_far", "invalid_amount", "amount_above_total"}
)
# How the dialogue runs a tool: `tools.invoke` itself, or a caller's stand-in with its signature (the
# sandbox's Realtime simulator asks the voice bridge over the wire, which then runs `tools.invoke`).
Act = Callable[[str, Mapping[str, Any], ToolContext], ToolOutcome]

PIX_UNAVAILABLE: Final = (
    "Não consegui gerar o código de pagamento agora. Você pode pagar pelo boleto no aplicativo, ou "
    'escrever "atendente" que alguém da nossa equipe te ajuda.'
)


def respond(ctx: ToolContext, history: Sequence[Message], *, act: Act = invoke) -> str:
    """The answer to the customer's latest message in `history` (the conversation, oldest first);
    tools run through `act`."""
    said = _last_customer_text(history)
    ask = texts.last_ask(m.content for m in history if m.sender is Sender.ASSISTANT)
    if intents.says_wrong_number(said):
        act("numero_errado", {"motivo": "a pessoa disse que o número não é do cliente"}, ctx)
        return texts.WRONG_NUMBER
    if intents.wants_opt_out(said):
        act("registrar_opt_out", {"motivo": "pediu para não receber mais mensagens"}, ctx)
        return texts.opt_out_confirmation()
    if intents.wants_human(said):
        handed = act("transferir_para_humano", {"motivo": "cliente pediu um atendente"}, ctx)
        # On a call nobody takes live, the callback's own words (the call's tool says them); else
        # when a person answers (`aviso`: now, or when the desk opens).
        return str(handed.data.get("retorno") or handed.data.get("aviso") or texts.TRANSFERRED)
    if not ctx.identity_confirmed:
        return _confirm_identity(ctx, said, history, act)
    return _negotiate(ctx, said, ask, history, act)


def _confirm_identity(ctx: ToolContext, said: str, history: Sequence[Message], act: Act) -> str:
    typed = intents.documents_in(said)
    if not typed:
        if intents.looks_like_a_document(said):
            return texts.INVALID_DOCUMENT
        if not any(m.sender is Sender.ASSISTANT for m in history):
            return texts.greeting(ctx.conversation.client_name)
        if intents.claims_paid(said):
            return texts.ask_document_again("Obrigado por avisar, vou verificar o seu pagamento. ")
        if intents.in_hardship(said):
            return texts.ask_document_again("Entendo, e sinto muito. Vamos encontrar uma solução juntos. ")
        return texts.ask_document_again("Obrigado por responder! ")
    document = ctx.document if ctx.document in typed else typed[0]
    outcome = act("consultar_faturas_cpf", {"cpf_cnpj": document}, ctx)
    if not outcome.ok:
        return _failure_text(outcome)
    if any(intents.claims_paid(text) for text in _recent_customer_texts(history)):
        return _verify_claim(ctx, act)
    promised = dates.find_date(said, ctx.today())  # "52998224725, pago dia 20"
    if promised is not None and outcome.data["faturas_em_aberto"]:
        return _register(ctx, said, promised, act)
    return _quote(ctx, outcome)


def _negotiate(ctx: ToolContext, said: str, ask: Ask | None, history: Sequence[Message], act: Act) -> str:
    if intents.claims_paid(said):
        return _verify_claim(ctx, act)
    promised = dates.find_date(said, ctx.today())
    if promised is not None:
        return _register(ctx, said, promised, act)
    if intents.in_hardship(said):
        return texts.hardship(_latest_day(ctx))
    if intents.wants_payment_code(said):
        return _payment_code(ctx, act)
    if ask is Ask.CHOICE and _CHOOSE_DATE.search(intents.normalize(said)):
        return f"Claro! Podemos combinar uma data que funcione para você, até {texts.day(_latest_day(ctx))}. {ASKS[Ask.DATE]}"
    typed = intents.documents_in(said)
    if typed:  # a document again: only the conversation's own is consulted (the tool refuses others)
        document = ctx.document if ctx.document in typed else typed[0]
        return _quote(ctx, act("consultar_faturas_cpf", {"cpf_cnpj": document}, ctx))
    if intents.asks_about_invoices(said):
        return _quote(ctx, _consult(ctx, act))
    if intents.is_closing(said):
        return texts.CLOSING
    if ask is Ask.DATE:
        return texts.DATE_NOT_UNDERSTOOD
    return texts.OFFER_CHOICES


def _register(ctx: ToolContext, said: str, promised: date, act: Act) -> str:
    consulted = _consult(ctx, act)
    if not consulted.ok:
        return _failure_text(consulted)
    total = Decimal(consulted.data["total_devido"])
    if total <= 0:
        return texts.NOTHING_OPEN
    said_amount = amounts.find_amount(said, total)
    amount = said_amount if said_amount is not None and said_amount > 0 else total
    outcome = act(
        "registrar_promessa_pagamento",
        {
            "cpf_cnpj": ctx.document,
            "data_prevista_pagamento": texts.day(promised),
            "valor_prometido": str(amount),
            "metodo_pagamento": None,
            "observacoes": "registrada pelo atendimento automático",
        },
        ctx,
    )
    if outcome.ok:
        return texts.promise_registered(amount, promised, _unlock(outcome))
    if outcome.error in _PROMISE_CODES:
        return texts.promise_rejected(outcome.error or "", latest=_latest_day(ctx))
    return _failure_text(outcome)


def _unlock(outcome: ToolOutcome) -> tuple[UnlockStatus, date | None, str | None] | None:
    unlock = outcome.data.get("desbloqueio")
    if not unlock:
        return None
    until = date.fromisoformat(unlock["ate"]) if unlock["ate"] else None
    return UnlockStatus(unlock["status"]), until, unlock["motivo"]


def _verify_claim(ctx: ToolContext, act: Act) -> str:
    outcome = act(
        "atualizar_status_cobranca",
        {"cpf_cnpj": ctx.document, "novo_status": "paid", "observacoes": "cliente informou que já pagou"},
        ctx,
    )
    if not outcome.ok:
        return _failure_text(outcome)
    return texts.PAYMENT_CONFIRMED if outcome.data["status"] == "paid" else texts.PAYMENT_NOT_YET_VISIBLE


def _payment_code(ctx: ToolContext, act: Act) -> str:
    outcome = act("gerar_pagamento_pix", {"cpf_cnpj": ctx.document, "numero_fatura": None}, ctx)
    if not outcome.ok:
        return texts.NOTHING_OPEN if outcome.error == "nothing_open" else PIX_UNAVAILABLE
    if outcome.data["whatsapp"] == "enviado":
        return texts.PAYMENT_SENT_HERE
    return texts.payment_codes(outcome.data["codigos"])


def _consult(ctx: ToolContext, act: Act) -> ToolOutcome:
    return act("consultar_faturas_cpf", {"cpf_cnpj": ctx.document or ""}, ctx)


def _quote(ctx: ToolContext, outcome: ToolOutcome) -> str:
    if not outcome.ok:
        return _failure_text(outcome)
    if not outcome.data["faturas_em_aberto"]:
        return texts.NOTHING_OPEN
    name = outcome.data.get("cliente") or ctx.conversation.client_name
    return texts.invoices_quote(name, outcome.data["detalhes_faturas"], Decimal(outcome.data["total_devido"]))


def _failure_text(outcome: ToolOutcome) -> str:
    return {
        "other_document": texts.OTHER_DOCUMENT,
        "invalid_document": texts.INVALID_DOCUMENT,
        "identity_not_confirmed": texts.ask_document_again(),
        "phone_not_on_file": texts.NOT_ON_FILE,
        "crm_unavailable": texts.CRM_DOWN,
        "customer_not_found": texts.CUSTOMER_NOT_FOUND,
        "nothing_open": texts.NOTHING_OPEN,
    }.get(outcome.error or "", texts.OFFER_CHOICES)


def _latest_day(ctx: ToolContext) -> date:
    return ctx.today() + timedelta(days=get_settings().promise_max_days)


def _last_customer_text(history: Sequence[Message]) -> str:
    for message in reversed(history):
        if message.sender is Sender.CUSTOMER:
            return message.content
    return ""


def _recent_customer_texts(history: Sequence[Message], count: int = 3) -> list[str]:
    return [m.content for m in history if m.sender is Sender.CUSTOMER][-count:]
