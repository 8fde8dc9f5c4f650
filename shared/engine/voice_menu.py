"""The keypad menu a call falls back to when the model is down (the Realtime session cannot open, or
drops in its first seconds): the voice bridge redirects the live call to `start`'s TwiML and the call goes
on in `<Say>` (Polly pt-BR) and `<Gather input="dtmf">`, each keypress posted to the menu's webhook
(`answer`).

1. the creditor named, and the CPF/CNPJ asked on the keypad (check digits read by
   `shared.domain.keypad`); the keyed document is stored as the caller's words, exactly as the bridge
   stores one, and confirmed by `consultar_faturas_cpf` — the same identity rule (the phone on file and
   the document given), the same disclosure log;
2. the menu: **1** the payment code on WhatsApp (`gerar_pagamento_pix`, sent to the customer's WhatsApp
   conversation), **2** a person (the call's `transferir_para_humano`: the warm transfer's `<Dial>`, or a
   callback offered), **3** a payment date keyed as DDMM (`registrar_promessa_pagamento` for the open
   total), **4** no more collection contacts (`registrar_opt_out`).

Every action is the assistant's own tool (`shared.engine.warm_transfer.CALL_TOOLS`, through `invoke`):
same guards, same records. What the caller hears is stored as the assistant's lines of the call.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from shared.adapters.twilio_voice import MENU_PATH, gather_twiml, say_and_hang_up_twiml
from shared.assistant import texts
from shared.assistant.tools import ToolContext, ToolOutcome, invoke
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.data import conversations, messages
from shared.domain.errors import ConfigError
from shared.domain.keypad import KeyedDate, KeyedDocument, KeyedInvalid, MenuStep, keyed_words, read_entry
from shared.domain.models import Channel, Conversation, Sender
from shared.engine import warm_transfer

MAX_TRIES: Final = 3  # the same question, then a goodbye


class Option(StrEnum):
    PAYMENT_CODE = "1"
    HUMAN = "2"
    PROMISE = "3"
    OPT_OUT = "4"


ASK_DOCUMENT: Final = "Digite o CPF ou o CNPJ do titular, só os números, e depois a tecla jogo da velha."
MENU: Final = (
    "Para receber o código de pagamento no seu WhatsApp, digite 1. "
    "Para falar com uma pessoa da nossa equipe, digite 2. "
    "Para informar a data em que vai pagar, digite 3. "
    "Para não receber mais ligações e mensagens de cobrança, digite 4."
)
ASK_DATE: Final = (
    "Digite o dia e o mês em que vai pagar, com dois números cada. Por exemplo: 1 5 0 3 para 15 de março."
)
NO_KEYS: Final = "Não recebi nenhuma tecla."
NOT_CONFIRMED: Final = "Não consegui confirmar esse documento no nosso cadastro."
UNAVAILABLE: Final = (
    "Não consegui consultar o nosso sistema agora. Por favor, tente mais tarde ou responda a nossa "
    "mensagem no WhatsApp. Até logo."
)
GOODBYE: Final = "Obrigada pela atenção. Até logo."
_ASKS: Final = {MenuStep.DOCUMENT: ASK_DOCUMENT, MenuStep.MENU: MENU, MenuStep.DATE: ASK_DATE}
_DIGITS: Final = {MenuStep.MENU: 1, MenuStep.DATE: 4}  # the document ends with # (11 or 14 digits)
_RETRY_CODES: Final = frozenset(
    {"invalid_document", "other_document", "identity_not_confirmed", "customer_not_found"}
)


def start(conversation: Conversation) -> str:
    """The fallback's first TwiML: who calls (the creditor named, CDC art. 42-A) and the document asked."""
    settings = get_settings()
    hello = (
        f"Olá! Aqui é a {settings.assistant_name}, assistente virtual da {texts.creditor()}, com uma "
        f"mensagem sobre a sua conta com a {settings.company_name}."
    )
    logger.info("call continues in the keypad menu", conversation_id=conversation.id)
    return _ask(conversation, MenuStep.DOCUMENT, f"{hello} {ASK_DOCUMENT}")


def answer(conversation_id: str, step: MenuStep, digits: str, tries: int = 0) -> str:
    """The TwiML after the caller keyed `digits` (possibly none) at `step`."""
    conversation = conversations.get(conversation_id)
    ctx = ToolContext.for_conversation(conversation, Channel.VOICE)
    digits = digits.strip()
    if not digits:
        return _again(ctx, step, tries, NO_KEYS)
    if step is MenuStep.DOCUMENT:
        return _document(ctx, digits, tries)
    if not (ctx.document and ctx.identity_confirmed):
        return _ask(ctx.conversation, MenuStep.DOCUMENT, ASK_DOCUMENT)
    if step is MenuStep.DATE:
        return _promise(ctx, digits, tries)
    return _option(ctx, digits, tries)


def _document(ctx: ToolContext, digits: str, tries: int) -> str:
    entry = read_entry(digits)
    said, _ = keyed_words(entry)
    _said(ctx, said)
    if not isinstance(entry, KeyedDocument):
        why = entry.reason if isinstance(entry, KeyedInvalid) else "isso não é um CPF nem um CNPJ"
        return _again(ctx, MenuStep.DOCUMENT, tries, f"Desculpe: {why}.")
    outcome = invoke("consultar_faturas_cpf", {"cpf_cnpj": entry.document}, ctx, warm_transfer.CALL_TOOLS)
    if not outcome.ok:
        if outcome.error == "phone_not_on_file":
            return _goodbye(ctx.conversation, texts.NOT_ON_FILE)
        if outcome.error in _RETRY_CODES:
            return _again(ctx, MenuStep.DOCUMENT, tries, NOT_CONFIRMED)
        return _goodbye(ctx.conversation, UNAVAILABLE)
    count = int(outcome.data["faturas_em_aberto"])
    if not count:
        return _goodbye(ctx.conversation, f"Obrigada. Não há faturas em aberto. {GOODBYE}")
    plural = "fatura em aberto" if count == 1 else "faturas em aberto"
    found = f"Obrigada. Encontrei {count} {plural}, no total de {outcome.data['total_formatado']}."
    return _ask(ctx.conversation, MenuStep.MENU, f"{found} {MENU}")


def _option(ctx: ToolContext, digits: str, tries: int) -> str:
    try:
        option = Option(digits[:1])
    except ValueError:
        return _again(ctx, MenuStep.MENU, tries, "Opção inválida.")
    _said(ctx, f"Opção {option.value} digitada no teclado")
    if option is Option.PAYMENT_CODE:
        return _payment_code(ctx)
    if option is Option.HUMAN:
        return _human(ctx)
    if option is Option.PROMISE:
        return _ask(ctx.conversation, MenuStep.DATE, ASK_DATE)
    outcome = invoke(
        "registrar_opt_out", {"motivo": "pediu pelo teclado da ligação"}, ctx, warm_transfer.CALL_TOOLS
    )
    if not outcome.ok:
        return _goodbye(ctx.conversation, UNAVAILABLE)
    return _goodbye(
        ctx.conversation,
        f"Pronto: você não vai mais receber ligações nem mensagens de cobrança da "
        f"{get_settings().company_name}. {GOODBYE}",
    )


def _payment_code(ctx: ToolContext) -> str:
    outcome = invoke(
        "gerar_pagamento_pix",
        {"cpf_cnpj": ctx.document, "numero_fatura": None},
        ctx,
        warm_transfer.CALL_TOOLS,
    )
    if not outcome.ok:
        told = texts.NOTHING_OPEN if outcome.error == "nothing_open" else "Não consegui gerar o código agora."
        return _ask(ctx.conversation, MenuStep.MENU, f"{told} {MENU}")
    # The tool itself sends the codes to the customer's WhatsApp (a call's `gerar_pagamento_pix`).
    if outcome.data["whatsapp"] != "enviado":
        return _ask(ctx.conversation, MenuStep.MENU, f"Não consegui enviar para o seu WhatsApp agora. {MENU}")
    return _ask(
        ctx.conversation, MenuStep.MENU, f"Pronto: enviei o código de pagamento para o seu WhatsApp. {MENU}"
    )


def _human(ctx: ToolContext) -> str:
    outcome = invoke(
        warm_transfer.CALL_TRANSFER, {"motivo": "cliente pediu pelo teclado"}, ctx, warm_transfer.CALL_TOOLS
    )
    if outcome.ok and outcome.data.get("transferencia") == warm_transfer.Route.DIAL:
        _spoke(ctx.conversation, warm_transfer.ANNOUNCEMENT)
        return warm_transfer.dial_twiml(ctx.conversation)
    words = warm_transfer.callback(ctx.conversation, "pedido pelo teclado").words
    return _goodbye(
        ctx.conversation, f"Agora não há ninguém da equipe disponível por telefone. {words} {GOODBYE}"
    )


def _promise(ctx: ToolContext, digits: str, tries: int) -> str:
    entry = read_entry(digits)
    said, _ = keyed_words(entry)
    _said(ctx, said)
    if not isinstance(entry, KeyedDate):
        return _again(ctx, MenuStep.DATE, tries, "Essa data não é válida.")
    consulted = _consult(ctx)
    if consulted is None or not consulted.ok:
        return _goodbye(ctx.conversation, UNAVAILABLE)
    outcome = invoke(
        "registrar_promessa_pagamento",
        {
            "cpf_cnpj": ctx.document,
            "data_prevista_pagamento": f"{entry.day:02d}/{entry.month:02d}",
            "valor_prometido": consulted.data["total_devido"],
            "metodo_pagamento": None,
            "observacoes": "data digitada no teclado (menu sem assistente)",
        },
        ctx,
        warm_transfer.CALL_TOOLS,
    )
    if not outcome.ok:
        return _again(ctx, MenuStep.DATE, tries, "Não foi possível registrar essa data.")
    registered = (
        f"Anotado: {outcome.data['valor_prometido']} até {outcome.data['data_prometida']}. "
        "Você não receberá cobranças até essa data."
    )
    return _ask(ctx.conversation, MenuStep.MENU, f"{registered} {MENU}")


def _consult(ctx: ToolContext) -> ToolOutcome | None:
    if ctx.document is None:
        return None
    return invoke("consultar_faturas_cpf", {"cpf_cnpj": ctx.document}, ctx, warm_transfer.CALL_TOOLS)


def _again(ctx: ToolContext, step: MenuStep, tries: int, why: str) -> str:
    if tries + 1 >= MAX_TRIES:
        return _goodbye(ctx.conversation, f"{why} {GOODBYE}")
    return _ask(ctx.conversation, step, f"{why} {_ASKS[step]}", tries + 1)


def _ask(conversation: Conversation, step: MenuStep, text: str, tries: int = 0) -> str:
    settings = get_settings()
    if not settings.webhook_base_url:
        raise ConfigError("missing required environment variable(s): WEBHOOK_BASE_URL")
    url = settings.webhook_base_url.rstrip("/") + MENU_PATH.format(
        conversation_id=conversation.id, step=step.value
    )
    if tries:
        url += f"?tentativa={tries}"
    _spoke(conversation, text)
    return gather_twiml(text, url, num_digits=_DIGITS.get(step))


def _goodbye(conversation: Conversation, text: str) -> str:
    _spoke(conversation, text)
    return say_and_hang_up_twiml(text)


def _spoke(conversation: Conversation, text: str) -> None:
    messages.record(conversation.id, Sender.ASSISTANT, text, channel=Channel.VOICE)


def _said(ctx: ToolContext, text: str) -> None:
    """The caller's keys, stored as their words (the identity check reads them, as a spoken document)."""
    messages.record(ctx.conversation.id, Sender.CUSTOMER, text, channel=Channel.VOICE)
    ctx.customer_words = None  # read again from storage, with this line
