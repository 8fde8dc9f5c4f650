"""Outreach: a campaign's contact on one channel — the first WhatsApp message, or a call.

`deliver(job, channel)` is what the WhatsApp and dialer workers run for each queued `OutreachJob`:

1. The job must be the target's current one: `scheduled` on this channel, `attempt_count + 1 ==
   job.attempt`. Anything else is a duplicate or an outdated job and does nothing.
2. The pre-send guards (`shared.engine.guards.check`), which record and count their own skips.
3. The day's contact slot (`guards.reserve`).
4. The send, exactly once: `_send_once` runs under Powertools idempotency (key: target, channel,
   attempt) and claims the target with a conditional transition *before* sending (`scheduled →
   contacted` for WhatsApp, `→ calling` for voice, with the attempt number and the sending marker),
   waits for the channel's send slot (`shared.engine.ratelimit`), sends, then records. Once claimed, the
   target is no longer `scheduled`, so no redelivery can send again. If a worker died between the
   send and the record, the redelivered job finds the claim still marked and records "delivery
   unknown" instead of sending: at most once, as a collection message must be.

What the send's answer leads to:
- WhatsApp accepted → the conversation (`whatsapp_<phone>`, created or reused) and the message record;
  target `contacted`; outreach counted, milestone CONTACTED.
- not on WhatsApp → outcome `not_on_whatsapp`, then the campaign's next allowed channel (scheduled and
  dispatched at once) or `completed`.
- Evolution or Twilio unavailable (429, 5xx, timeout), or no send slot in time → the claim is undone
  and the error raised: SQS retries with backoff, then the DLQ — nothing is lost, nothing sent twice.
- Evolution refused the request, or Twilio the call → outcome `failed`, concluded like a failed call
  (`shared.engine.postcall.conclude_attempt`: later retry, next channel, or completed).
- call placed → target `calling` with the CallSid; Twilio's status callbacks take it from there.

Also here: the first message's text, the TwiML a call gets when answered, and the hand-off of Twilio
status callbacks to the post-call queue.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError
from twilio.twiml.voice_response import VoiceResponse

from shared.adapters import clients, queues, stream_tokens
from shared.adapters.aws import client as aws_client
from shared.adapters.evolution import EvolutionRejected, NotOnWhatsApp, SentMessage
from shared.adapters.twilio_voice import CallRejected, connect_stream_twiml
from shared.core import clock
from shared.core.config import get_settings
from shared.core.jobs import CallStatusEvent, OutreachJob
from shared.core.observability import logger, metrics
from shared.data import TransitionConflict, conversations, messages
from shared.data import campaigns as campaigns_data
from shared.data import targets as targets_data
from shared.data.idempotency import idempotency_table_name
from shared.domain.documents import DocumentKind, InvalidDocument, document_kind, format_document
from shared.domain.errors import ConfigError, Conflict, InvalidInput, NotFound, ServiceUnavailable
from shared.domain.ids import new_id
from shared.domain.models import (
    Campaign,
    CampaignStatus,
    Channel,
    Conversation,
    ConversationSource,
    DeliveryStatus,
    Outcome,
    Sender,
    Target,
    TargetState,
)
from shared.engine import guards, postcall, ratelimit, stats, sweep
from shared.engine.stats import Milestone

# A send keeps its idempotency record long enough for any redelivery or redrive from the DLQ to meet
# it; past that, the target's own state still refuses a second send.
IDEMPOTENCY_SECONDS: Final = 3 * 24 * 3600
CLAIMED_STATE: Final = {Channel.WHATSAPP: TargetState.CONTACTED, Channel.VOICE: TargetState.CALLING}
ASSISTANT: Final = "cobranca"
GOODBYE: Final = "Olá! No momento não conseguimos continuar esta ligação. Obrigado pela atenção e até logo."
_CHANNEL_LABELS: Final = {Channel.WHATSAPP: "WhatsApp", Channel.VOICE: "voz"}
_TARGET_ID: Final = re.compile(r"[0-9A-Za-z]{1,64}")


class Result(StrEnum):
    SENT = "sent"  # the WhatsApp message was accepted
    CALLED = "called"  # the call was placed
    SKIPPED = "skipped"  # a guard objected; the decision is on the target
    STALE = "stale"  # duplicate, outdated or lost-race job: nothing done
    NOT_ON_WHATSAPP = "not_on_whatsapp"
    FAILED = "failed"  # the provider refused for good
    DELIVERY_UNKNOWN = "delivery_unknown"  # claimed by an earlier delivery that never recorded the result


# The contact did not happen: the day's slot goes back.
NOT_CONTACTED: Final = frozenset({Result.STALE, Result.NOT_ON_WHATSAPP, Result.FAILED})


class WrongQueue(InvalidInput):
    """A job for one channel arrived on another channel's queue."""

    code = "wrong_queue"


class ClaimLost(Conflict):
    """The target was no longer this job's to send (another delivery has it or it moved on)."""

    code = "claim_lost"


# --------------------------------------------------------------------------------------------------
# Delivering a job
# --------------------------------------------------------------------------------------------------

SEND_IDEMPOTENCY = IdempotencyConfig(
    expires_after_seconds=IDEMPOTENCY_SECONDS, raise_on_no_idempotency_key=True
)


def register_lambda_context(context: LambdaContext) -> None:
    """Let idempotency expire an in-progress send when this invocation would have timed out."""
    SEND_IDEMPOTENCY.register_lambda_context(context)


def deliver(job: OutreachJob, channel: Channel) -> Result:
    """Run one outreach job taken from `channel`'s queue (see the module docstring).

    Raises a `ServiceUnavailable` (provider down, no send slot in time) for SQS to retry the job;
    `WrongQueue` for a job that belongs to the other channel's queue.
    """
    if job.channel is not channel:
        raise WrongQueue(f"a {job.channel.value} job arrived on the {channel.value} queue")
    try:
        target = targets_data.get(job.target_id)
        if _claimed_unrecorded(target, job):
            return Result(_send_once_idempotent()(key=_key(job), job=job, campaign=None, known=None))
        if not _is_current(target, job):
            logger.info("outdated or duplicate job ignored", target_id=job.target_id, attempt=job.attempt)
            return _stale()
        campaign = campaigns_data.get(target.campaign_id)
        decision = guards.check(target, campaign, channel, clients.crm())
        if isinstance(decision, guards.Skipped):
            return Result.SKIPPED
        reservation = guards.reserve(decision, channel)
    except (NotFound, TransitionConflict) as exc:
        logger.info("job no longer applies", target_id=job.target_id, reason=exc.message)
        return _stale()
    if isinstance(reservation, guards.Skipped):
        return Result.SKIPPED
    contacted = False
    try:
        result = Result(_send_once_idempotent()(key=_key(job), job=job, campaign=campaign, known=target))
        contacted = result not in NOT_CONTACTED
        return result
    except ClaimLost:
        logger.info("another delivery claimed the target", target_id=job.target_id, attempt=job.attempt)
        return _stale()
    except (ServiceUnavailable, IdempotencyAlreadyInProgressError) as exc:
        # Nothing was sent: the slot goes back and SQS retries the job after its visibility timeout.
        metrics.add_metric(name="OutreachRetried", unit=MetricUnit.Count, value=1)
        logger.warning(
            "outreach not sent: will be retried", target_id=job.target_id, error=type(exc).__name__
        )
        raise
    except Exception:
        contacted = True  # the send may have happened: keep the slot (fail closed)
        raise
    finally:
        if not contacted:
            guards.release(reservation)


def _stale() -> Result:
    metrics.add_metric(name="OutreachStaleJob", unit=MetricUnit.Count, value=1)
    return Result.STALE


def _key(job: OutreachJob) -> dict[str, Any]:
    return {"targetId": job.target_id, "channel": job.channel.value, "attempt": job.attempt}


def reset_idempotency() -> None:
    """Forget the cached idempotency store and the send wrapped around it (tests and the sandbox change
    the environment: the table's name, the AWS endpoint)."""
    idempotency_store.cache_clear()
    _send_once_idempotent.cache_clear()


@lru_cache(maxsize=1)
def idempotency_store() -> DynamoDBPersistenceLayer:
    """The Powertools persistence layer of the sends (the idempotency table)."""
    return DynamoDBPersistenceLayer(table_name=idempotency_table_name(), boto3_client=aws_client("dynamodb"))


@lru_cache(maxsize=1)
def _send_once_idempotent() -> Callable[..., str]:
    decorated: Callable[..., str] = idempotent_function(
        _send_once,
        data_keyword_argument="key",
        persistence_store=idempotency_store(),
        config=SEND_IDEMPOTENCY,
        key_prefix="outreach-send",
    )
    return decorated


def _send_once(
    *, key: dict[str, Any], job: OutreachJob, campaign: Campaign | None, known: Target | None
) -> str:
    """Claim, send, record — at most once per (target, channel, attempt). `key` is the idempotency key;
    `known` the target as the caller just read it (the claim is conditional, so it cannot be stale)."""
    target = known or targets_data.get(job.target_id)
    if _claimed_unrecorded(target, job):
        _record_delivery_unknown(target, job.channel)
        return Result.DELIVERY_UNKNOWN.value
    if campaign is None or not _is_current(target, job):
        raise ClaimLost(f"target {job.target_id} is {target.state.value}, not scheduled for this job")
    claimed = _claim(target, job)
    try:
        # The send slot last, so the request leaves as close to its slot as possible.
        ratelimit.acquire(job.channel)
    except ServiceUnavailable:
        _undo_claim(claimed, target)
        raise
    if job.channel is Channel.WHATSAPP:
        return _send_whatsapp(claimed, target, campaign).value
    return _place_call(claimed, target).value


def _is_current(target: Target, job: OutreachJob) -> bool:
    return (
        target.state is TargetState.SCHEDULED
        and target.channel is job.channel
        and target.attempt_count + 1 == job.attempt
    )


def _claimed_unrecorded(target: Target, job: OutreachJob) -> bool:
    """The target was claimed for this very job and its send result never recorded."""
    return (
        target.state is CLAIMED_STATE[job.channel]
        and target.channel is job.channel
        and target.attempt_count == job.attempt
        and target.outcome_details == sending_marker(job.channel, job.attempt)
    )


def sending_marker(channel: Channel, attempt: int) -> str:
    """`outcomeDetails` of a claimed target while its send is in flight."""
    return f"Envio por {_CHANNEL_LABELS[channel]} em andamento (tentativa {attempt})"


def _claim(target: Target, job: OutreachJob) -> Target:
    changes: dict[str, Any] = {
        "attempt_count": job.attempt,
        "last_attempt_at": clock.now(),
        "outcome_details": sending_marker(job.channel, job.attempt),
    }
    if job.channel is Channel.VOICE:
        changes["call_sid"] = None
    try:
        return targets_data.transition(
            target.id, [TargetState.SCHEDULED], CLAIMED_STATE[job.channel], **changes
        )
    except TransitionConflict as exc:
        raise ClaimLost(exc.message) from exc


def _undo_claim(claimed: Target, before: Target) -> None:
    """Give the target back to its job (the send surely did not happen): SQS will retry it."""
    try:
        targets_data.transition(
            claimed.id,
            [claimed.state],
            TargetState.SCHEDULED,
            attempt_count=before.attempt_count,
            last_attempt_at=before.last_attempt_at,
            outcome_details=before.outcome_details,
            call_sid=before.call_sid,
        )
    except TransitionConflict as exc:
        logger.warning("claim not undone: the target moved on", target_id=claimed.id, reason=exc.message)


def _record_delivery_unknown(target: Target, channel: Channel) -> None:
    details = (
        f"Entrega desconhecida: o envio por {_CHANNEL_LABELS[channel]} pode ter ocorrido sem ser "
        "registrado; não foi repetido"
    )
    if channel is Channel.VOICE:
        # No CallSid to follow: leave `calling`, or the target would wait there for callbacks forever.
        targets_data.transition(
            target.id, [TargetState.CALLING], TargetState.CONTACTED, outcome_details=details
        )
    else:
        targets_data.update(target.id, outcome_details=details)
    metrics.add_metric(name="OutreachDeliveryUnknown", unit=MetricUnit.Count, value=1)
    logger.warning("delivery unknown: not sent again", target_id=target.id, channel=channel.value)


# --- WhatsApp -------------------------------------------------------------------------------------------


def _send_whatsapp(claimed: Target, before: Target, campaign: Campaign) -> Result:
    text = first_message(claimed)
    try:
        sent = clients.whatsapp().send_text(claimed.phone, text)
    except NotOnWhatsApp:
        return _not_on_whatsapp(claimed, campaign)
    except EvolutionRejected as exc:
        postcall.conclude_attempt(
            claimed,
            Outcome.FAILED,
            details=f"WhatsApp recusou a mensagem ({exc.message})",
            from_states=(TargetState.CONTACTED,),
        )
        return Result.FAILED
    except (ServiceUnavailable, ConfigError):  # not sent: the job is retried, then dead-lettered
        _undo_claim(claimed, before)
        raise
    _record_whatsapp(claimed, text, sent)
    return Result.SENT


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


def _record_whatsapp(target: Target, text: str, sent: SentMessage) -> None:
    conversation = _open_conversation(target)
    messages.record(
        conversation.id,
        Sender.ASSISTANT,
        text,
        external_id=sent.id,
        delivery_status=DeliveryStatus.PENDING,
        is_from_campaign=True,
    )
    targets_data.record_contact(
        target.id, conversation_id=conversation.id, outcome_details="Mensagem inicial enviada por WhatsApp"
    )
    _count_contact(target, Channel.WHATSAPP)


def _open_conversation(target: Target) -> Conversation:
    """The chat's conversation, created for this campaign or reused (pointed at this target)."""
    now = clock.now()
    chat_id = f"whatsapp_{target.phone}"
    existing = conversations.by_chat_id(chat_id)
    if existing is None:
        try:
            return conversations.create(
                Conversation(
                    id=new_id(),
                    chat_id=chat_id,
                    phone=target.phone,
                    source=ConversationSource.WHATSAPP_CAMPAIGN,
                    assigned_assistant=ASSISTANT,
                    client_name=target.client_name,
                    document=target.document,
                    target_id=target.id,
                    campaign_id=target.campaign_id,
                    last_activity_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        except Conflict as exc:
            if exc.code != "chat_taken":
                raise
            existing = conversations.by_chat_id(chat_id)
            if existing is None:
                raise
    changes: dict[str, Any] = {
        "target_id": target.id,
        "campaign_id": target.campaign_id,
        "document": target.document,
        "client_name": target.client_name,
        "assigned_assistant": ASSISTANT,
        "last_activity_at": now,
    }
    if existing.document != target.document:
        changes["identity_confirmed"] = False  # another debtor: identity is confirmed again
    return conversations.update(existing.id, **changes)


def _not_on_whatsapp(claimed: Target, campaign: Campaign) -> Result:
    following = postcall.next_allowed_channel(campaign, Channel.WHATSAPP, claimed.phone)
    if following is not None and campaign.status is CampaignStatus.ACTIVE:
        sweep.schedule(
            claimed,
            [TargetState.CONTACTED],
            following,
            outcome=Outcome.NOT_ON_WHATSAPP,
            outcome_details=f"Número sem WhatsApp; próximo canal: {_CHANNEL_LABELS[following]}",
            channel_attempts=0,
        )
    else:
        targets_data.transition(
            claimed.id,
            [TargetState.CONTACTED],
            TargetState.COMPLETED,
            outcome=Outcome.NOT_ON_WHATSAPP,
            outcome_details="Número sem WhatsApp; a campanha não tem outro canal",
        )
    metrics.add_metric(name="NotOnWhatsApp", unit=MetricUnit.Count, value=1)
    logger.info("not on WhatsApp", target_id=claimed.id, next_channel=following.value if following else None)
    return Result.NOT_ON_WHATSAPP


# --- Voice ----------------------------------------------------------------------------------------------


def _place_call(claimed: Target, before: Target) -> Result:
    try:
        call_sid = clients.voice().place_call(claimed.id, claimed.phone)
    except CallRejected as exc:
        postcall.conclude_attempt(
            claimed,
            Outcome.FAILED,
            details=f"Twilio recusou a chamada ({exc.message})",
            from_states=(TargetState.CALLING,),
        )
        return Result.FAILED
    except (ServiceUnavailable, ConfigError):  # not dialled: the job is retried, then dead-lettered
        _undo_claim(claimed, before)
        raise
    targets_data.record_contact(claimed.id, call_sid=call_sid, outcome_details="Chamada iniciada")
    _count_contact(claimed, Channel.VOICE)
    return Result.CALLED


def call_twiml(target_id: str, call_sid: str | None) -> str:
    """What Twilio plays when the customer answers: our Media Stream (the voice bridge) with the
    target id, the CallSid and a short-lived token the bridge verifies; a short goodbye in Portuguese
    for an unknown target or a deployment without a bridge — never an error."""
    settings = get_settings()
    target = _find_target(target_id)
    if target is None:
        logger.warning("TwiML asked for an unknown target", target_id=target_id[:64], call_sid=call_sid)
        return goodbye_twiml()
    if not settings.voice_bridge_ws_url:
        logger.error("VOICE_BRIDGE_WS_URL is not set: the call cannot be connected", target_id=target.id)
        return goodbye_twiml()
    if settings.twilio_auth_token is None:
        logger.error("TWILIO_AUTH_TOKEN is not set: no stream token can be signed", target_id=target.id)
        return goodbye_twiml()
    secret = settings.twilio_auth_token.get_secret_value()
    sid = call_sid or ""
    parameters = {"targetId": target.id, "callSid": sid, "token": stream_tokens.sign(target.id, sid, secret)}
    return connect_stream_twiml(settings.voice_bridge_ws_url, parameters)


def goodbye_twiml() -> str:
    """`<Say language="pt-BR">…</Say><Hangup/>`."""
    response = VoiceResponse()
    response.say(GOODBYE, language="pt-BR")
    response.hangup()
    return str(response)


def enqueue_call_status(params: Mapping[str, str]) -> CallStatusEvent:
    """Put a (signature-checked) Twilio status callback on the post-call queue; `InvalidInput` for a
    form that is not one."""
    try:
        event = CallStatusEvent.model_validate(dict(params))
    except ValidationError as exc:
        fields = ", ".join(str(error["loc"][0]) for error in exc.errors())
        raise InvalidInput(f"not a Twilio call status callback (bad or missing: {fields})") from None
    queues.send("post_call", event.model_dump(by_alias=True, exclude_none=True, mode="json"))
    return event


def _find_target(target_id: str) -> Target | None:
    if not _TARGET_ID.fullmatch(target_id):
        return None
    try:
        return targets_data.get(target_id)
    except NotFound:
        return None


# --- shared -----------------------------------------------------------------------------------------


def _count_contact(target: Target, channel: Channel) -> None:
    stats.count_outreach(target.campaign_id, channel, phone=target.phone)
    stats.record_milestone(target.id, target.campaign_id, Milestone.CONTACTED)
    metrics.add_metric(name=f"Outreach_{channel.value}", unit=MetricUnit.Count, value=1)
    logger.info("outreach sent", target_id=target.id, campaign_id=target.campaign_id, channel=channel.value)


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
