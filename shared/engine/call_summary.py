"""What a recorded call agreed: a short summary and a disposition on its conversation.

Campaigns with `record_calls` get both once Twilio reports the call `completed` (the post-call worker,
`shared.engine.postcall`). They are read from what the call's tools stored, never from the model's
words: the promises registered in the conversation, its handoff to a human, an opt-out or a wrong
number recorded since it began. Nothing stored → `no_agreement`. Writing them again from the same
records gives the same text, so a redelivered callback changes nothing. A tool still running when
Twilio's `completed` is handled (the caller hung up mid-promise) is not in the summary.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from shared.core.observability import logger
from shared.data import campaigns as campaigns_data
from shared.data import conversations, optouts
from shared.data import promises as promises_data
from shared.domain.chat_ids import voice_chat_id
from shared.domain.errors import NotFound
from shared.domain.models import CallDisposition, Conversation, Promise, PromiseStatus, Target
from shared.domain.money import format_brl

_PAYMENT_METHODS: Final = {
    "pix": "Pix",
    "boleto": "boleto",
    "cartao_credito": "cartão de crédito",
    "debito_automatico": "débito automático",
    "outros": "outro meio",
}


class CallFacts(NamedTuple):
    """What the call's tools stored, read once the call ended."""

    promises: tuple[Promise, ...] = ()  # registered in the call and still standing, oldest first
    transferred: bool = False
    handoff_reason: str | None = None
    opted_out: bool = False
    wrong_number: bool = False
    seconds: int | None = None  # the call's duration, from Twilio's `completed`


def disposition(facts: CallFacts) -> CallDisposition:
    """The call's main result: a promise first (it holds whatever followed), then a handoff, an
    opt-out, a wrong number; `no_agreement` when the call stored none of them."""
    if facts.promises:
        return CallDisposition.PROMISE_MADE
    if facts.transferred:
        return CallDisposition.TRANSFERRED
    if facts.opted_out:
        return CallDisposition.OPTED_OUT
    if facts.wrong_number:
        return CallDisposition.WRONG_NUMBER
    return CallDisposition.NO_AGREEMENT


def summary(facts: CallFacts) -> str:
    """A few sentences in Portuguese for the supervisor, one per fact, in a fixed order."""
    lines: list[str] = []
    if facts.seconds is not None:
        minutes, seconds = divmod(facts.seconds, 60)
        lines.append(f"Chamada de {minutes} min {seconds:02d} s." if minutes else f"Chamada de {seconds} s.")
    for promise in facts.promises:
        how = f" via {_PAYMENT_METHODS[promise.payment_method.value]}" if promise.payment_method else ""
        lines.append(
            f"Promessa de pagamento: {format_brl(promise.amount)} até {promise.due_date:%d/%m/%Y}{how}."
        )
    if facts.transferred:
        why = f" ({facts.handoff_reason})" if facts.handoff_reason else ""
        lines.append(f"Transferida para um atendente humano{why}.")
    if facts.opted_out:
        lines.append("O cliente pediu para não receber mais contatos de cobrança.")
    if facts.wrong_number:
        lines.append("Número errado: quem atendeu não é o titular.")
    if disposition(facts) is CallDisposition.NO_AGREEMENT:
        lines.append("Sem acordo nesta chamada.")
    return " ".join(lines)


def summarize_call(call_sid: str, target: Target, seconds: int | None) -> Conversation | None:
    """Store the summary and disposition of an answered call on its conversation, when its campaign
    records calls; None when it does not, or when the call never reached the assistant (no
    conversation)."""
    try:
        campaign = campaigns_data.get(target.campaign_id)
    except NotFound:
        return None
    if not campaign.record_calls:
        return None
    conversation = conversations.by_chat_id(voice_chat_id(call_sid))
    if conversation is None:
        logger.info(
            "answered call without a conversation: no summary", call_sid=call_sid, target_id=target.id
        )
        return None
    facts = _facts(conversation, target, seconds)
    result = disposition(facts)
    logger.info("call summarized", conversation_id=conversation.id, disposition=result.value)
    return conversations.update(conversation.id, call_summary=summary(facts), call_disposition=result)


def _facts(conversation: Conversation, target: Target, seconds: int | None) -> CallFacts:
    document = conversation.document or target.document
    promises = tuple(
        promise
        for promise in promises_data.for_conversation(document, conversation.id)
        if promise.status is not PromiseStatus.RENEGOTIATED
    )
    # A voice conversation is one call (`voice_<CallSid>`): an opt-out recorded since it began, or a
    # handoff of it, happened in this call. A number already known to be wrong is never dialed (the
    # pre-send guards), so a wrong-number record for it was made by this call.
    opted_out = any(
        optout.created_at >= conversation.created_at
        for optout in optouts.find([conversation.phone], document)
    )
    return CallFacts(
        promises=promises,
        transferred=conversation.transferred_at is not None,
        handoff_reason=conversation.handoff_reason,
        opted_out=opted_out,
        wrong_number=conversation.phone in optouts.wrong_numbers(document, [conversation.phone]),
        seconds=seconds,
    )
