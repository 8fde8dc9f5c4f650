"""The warm transfer of a call (SPEC §4): when the assistant hands a call over, a person answers it.

The call's `transferir_para_humano` (`CALL_TOOLS`, the voice bridge's and the keypad menu's) first hands
over as on WhatsApp (`shared.assistant.tools.hand_over`: the conversation `transferred`, waiting in the
desk's queue with the call's transcript, the customer held), then decides how the person is reached:

- **dial** — HUMAN_AGENT_NUMBER is set and the desk is open (HUMAN_AGENT_HOURS, weekdays, the customer's
  zone): the live call is redirected (`dial_twiml`) to `<Dial callerId=TWILIO_PHONE_NUMBER>` the desk's
  number; the agent first hears a whisper of who calls and why (`whisper_twiml`). Twilio posts the dial's
  outcome to the `<Dial action>` (`dial_finished`): answered, the case leaves the queue (a person has
  it); busy, unanswered or failed, the caller hears a polite goodbye and the case waits in the queue.
- **callback** — no number, or the desk is closed: Lia offers a callback on WhatsApp and the case waits
  in the queue (an agent answers from the desk; `shared.engine.desk` writes on the customer's WhatsApp).
  When the desk may not write first (`desk.reply_blocked`: on `cloud` no 24 h window open on the
  customer's WhatsApp, or the customer opted out and has not written since) the caller is asked to send
  any message to the company's WhatsApp and the team answers there (`Handover.words`: the one wording of
  the promise, for Lia, the keypad menu and a failed dial; the desk's note says why it waits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from shared.adapters import twilio_voice
from shared.adapters.twilio_voice import hang_up_twiml, say_and_hang_up_twiml, say_twiml
from shared.assistant.tools import TOOLS, ReasonArgs, Tool, ToolContext, hand_over
from shared.core import clock
from shared.core.config import Settings, get_settings
from shared.core.observability import logger
from shared.data import conversations, messages
from shared.domain.agent_hours import parse_agent_hours
from shared.domain.errors import ConfigError, Conflict, InvalidInput
from shared.domain.models import Conversation, ConversationStatus, Sender
from shared.domain.phones import spoken_phone, timezone_for_phone
from shared.engine import desk, handoff

CALL_TRANSFER: Final = "transferir_para_humano"
ASSISTANT: Final = "assistant"
ANSWERED: Final = "completed"  # DialCallStatus of a dial the agent picked up
FAILED_DIALS: Final = {
    "busy": "ocupado",
    "no-answer": "sem resposta",
    "failed": "falhou",
    "canceled": "cancelada",
}

ANNOUNCEMENT: Final = "Um momento, por favor: estou transferindo a ligação para uma pessoa da nossa equipe."
DIAL_FAILED: Final = "Infelizmente ninguém da nossa equipe pôde atender agora."
GOODBYE: Final = "Obrigada e até logo."
CALLBACK: Final = (
    "Registramos o seu pedido: uma pessoa da equipe vai retornar o contato pelo WhatsApp deste número "
    "assim que possível."
)
# When the desk may not write first (`desk.reply_blocked`): only the customer's message lets it answer.
_WRITE_FIRST_TO: Final = (
    "Registramos o seu pedido. Para a nossa equipe te responder, mande qualquer mensagem para o nosso "
    "WhatsApp, {where}: assim que você escrever, uma pessoa responde por lá."
)
WRITE_FIRST: Final = _WRITE_FIRST_TO.format(where="neste mesmo número")  # no WHATSAPP_BUSINESS_NUMBER
_WAITING: Final = "o retorno espera o cliente escrever no WhatsApp"
_WAITING_NOTES: Final = {
    desk.ReplyBlocked.OPTED_OUT: f"{_WAITING} (pediu para não ser contatado)",
    desk.ReplyBlocked.WINDOW_CLOSED: f"{_WAITING} (janela de 24 h fechada)",
}


class Route(StrEnum):
    DIAL = "ligacao"  # the call is redirected to the desk's number
    CALLBACK = "retorno"  # no number or the desk is closed: a callback is offered


@dataclass(frozen=True)
class Handover:
    route: Route
    why: str  # pt-BR, for the thread: why a callback (or "ligação para a equipe")
    # Why the desk can answer a callback only once the customer writes (None: the desk writes first).
    blocked: desk.ReplyBlocked | None = None
    whatsapp_number: str | None = None  # WHATSAPP_BUSINESS_NUMBER, said when the customer writes first

    @property
    def customer_writes_first(self) -> bool:
        """Whether the callback waits for the customer to write on WhatsApp."""
        return self.blocked is not None

    @property
    def words(self) -> str:
        """What the caller is promised for a callback (pt-BR, for the voice)."""
        if not self.customer_writes_first:
            return CALLBACK
        if not self.whatsapp_number:
            return WRITE_FIRST
        return _WRITE_FIRST_TO.format(where=f"no número {spoken_phone(self.whatsapp_number)}")

    def note(self, what: str) -> str:
        """The desk's thread note `what`, saying when the callback waits for the customer to write."""
        return f"{what}; {_WAITING_NOTES[self.blocked]}" if self.blocked is not None else what


def decide(
    conversation: Conversation, settings: Settings, at: datetime, *, blocked: desk.ReplyBlocked | None
) -> Handover:
    """How a call's handoff reaches a person (pure: the settings, the moment and why the desk may not
    write to the customer's WhatsApp now, `desk.reply_blocked`, are read up front)."""
    if not settings.human_agent_number:
        why = "nenhum número de atendimento configurado"
    elif not parse_agent_hours(settings.human_agent_hours).is_open(
        at, timezone_for_phone(conversation.phone)
    ):
        why = f"fora do horário de atendimento ({settings.human_agent_hours}, dias úteis)"
    elif not settings.webhook_base_url or not conversation.call_sid:
        why = "a ligação não pode ser redirecionada (WEBHOOK_BASE_URL ausente)"
    else:
        return Handover(Route.DIAL, "ligação transferida para a equipe")
    return _callback(why, settings, blocked=blocked)


def begin(conversation: Conversation) -> Handover:
    """Decide the handover of a transferred call; a callback is noted in the thread for the desk."""
    handover = decide(conversation, get_settings(), clock.now(), blocked=desk.reply_blocked(conversation))
    if handover.route is Route.CALLBACK:
        _note(conversation.id, handover.note(f"Retorno oferecido ao cliente pelo WhatsApp: {handover.why}"))
    logger.info(
        "call handover",
        conversation_id=conversation.id,
        route=handover.route.value,
        customer_writes_first=handover.customer_writes_first,
    )
    return handover


def callback(conversation: Conversation, why: str) -> Handover:
    """A callback for the caller of `conversation` (the keypad menu's, a dial nobody answered): the desk
    writes to them, or (`desk.reply_blocked`) they are asked to write first (`Handover.words`)."""
    return _callback(why, get_settings(), blocked=desk.reply_blocked(conversation))


def _callback(why: str, settings: Settings, *, blocked: desk.ReplyBlocked | None) -> Handover:
    return Handover(Route.CALLBACK, why, blocked, settings.whatsapp_business_number)


def transfer_on_call(ctx: ToolContext, args: ReasonArgs) -> dict[str, Any]:
    """The call's `transferir_para_humano`: the shared handoff, then the handover (`begin`); the model is
    told what to say for each route (`transferencia`: "ligacao" or "retorno"; for a callback, `retorno`
    carries the promise's own words)."""
    hand_over(ctx, args)
    handover = begin(ctx.conversation)
    if handover.route is Route.DIAL:
        told = (
            "Diga ao cliente, numa frase curta, que vai transferir a ligação para uma pessoa da equipe agora "
            "e não diga mais nada: a ligação será transferida quando você terminar de falar."
        )
        return {"sucesso": True, "transferencia": handover.route.value, "mensagem": told}
    told = (
        "Não há atendente disponível por telefone agora. Diga ao cliente o que está em `retorno`, com "
        f"estas palavras ou quase; despeça-se e chame encerrar_chamada. ({handover.why})"
    )
    return {
        "sucesso": True,
        "transferencia": handover.route.value,
        "mensagem": told,
        "retorno": handover.words,
    }


CALL_TRANSFER_TOOL: Final[Tool[ReasonArgs]] = Tool(
    CALL_TRANSFER,
    TOOLS[CALL_TRANSFER].description,
    TOOLS[CALL_TRANSFER].parameters,
    ReasonArgs,
    transfer_on_call,
)
# The assistant's tools on a call: the shared ones, with the handoff that reaches a person by phone.
CALL_TOOLS: Final = {**TOOLS, CALL_TRANSFER: CALL_TRANSFER_TOOL}


def dial_twiml(conversation: Conversation) -> str:
    """The TwiML that redirects the live call to the desk's number (`ConfigError` when the number, the
    caller id or the webhook base URL is missing)."""
    settings = get_settings()
    if not settings.human_agent_number or not settings.webhook_base_url:
        raise ConfigError("missing required environment variable(s): HUMAN_AGENT_NUMBER, WEBHOOK_BASE_URL")
    base = settings.webhook_base_url.rstrip("/")
    return twilio_voice.dial_twiml(
        ANNOUNCEMENT,
        number=settings.human_agent_number,
        caller_id=settings.twilio().phone_number,
        action_url=base + twilio_voice.DIAL_STATUS_PATH.format(conversation_id=conversation.id),
        whisper_url=base + twilio_voice.WHISPER_PATH.format(conversation_id=conversation.id),
    )


def whisper_twiml(conversation_id: str) -> str:
    """What the agent hears on picking up, before the caller is connected: who calls and why."""
    conversation = conversations.get(conversation_id)
    who = conversation.client_name or "cliente não identificado"
    why = conversation.handoff_reason or handoff.SUPERVISOR_REASON
    settings = get_settings()
    return say_twiml(
        f"Ligação de cobrança transferida pela assistente {settings.assistant_name}. "
        f"Cliente: {who}. Motivo: {why}. Conectando agora."
    )


def dial_finished(conversation_id: str, dial_status: str, duration: str | None = None) -> str:
    """The `<Dial action>`: the TwiML that ends the caller's side. Answered: the case leaves the queue
    (a person has it). Busy, no answer, failed: a polite goodbye and the case waits in the queue.
    `InvalidInput` for a status Twilio never sends."""
    if dial_status != ANSWERED and dial_status not in FAILED_DIALS:
        raise InvalidInput(f"unknown DialCallStatus {dial_status[:32]!r}", code="invalid_dial_status")
    conversation = conversations.get(conversation_id)
    if dial_status == ANSWERED:
        _note(conversation.id, f"Ligação atendida pela equipe ({duration or '0'} s)")
        if conversation.status is ConversationStatus.TRANSFERRED:
            try:
                conversations.update_handling(
                    conversation,
                    expect={"status": ConversationStatus.TRANSFERRED},
                    hold=True,
                    waiting_since=None,
                )
            except Conflict:
                logger.info(
                    "answered transfer left as it is: it changed meanwhile", conversation_id=conversation.id
                )
        logger.info("warm transfer answered", conversation_id=conversation.id)
        return hang_up_twiml()
    unanswered = callback(conversation, f"Transferência não atendida ({FAILED_DIALS[dial_status]})")
    _note(conversation.id, unanswered.note(f"{unanswered.why}: o cliente aguarda retorno"))
    queued = handoff.transfer(conversation.id, by=ASSISTANT, reason="transferência não atendida")
    desk.customer_waiting(queued, clock.now())
    logger.info("warm transfer not answered", conversation_id=conversation.id, dial_status=dial_status)
    return say_and_hang_up_twiml(f"{DIAL_FAILED} {unanswered.words} {GOODBYE}")


def _note(conversation_id: str, text: str) -> None:
    messages.record(conversation_id, Sender.SYSTEM, text, author=ASSISTANT)
