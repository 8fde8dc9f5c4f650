"""Outreach on WhatsApp: the campaign's message of the cadence's step (`shared.engine.outreach_texts`),
sent by Evolution (`shared.engine.whatsapp_out`) once `shared.engine.outreach` has claimed the target.

- accepted → the conversation and the message record; target `contacted`, awaiting delivery until
  its attempt's deadline (`WHATSAPP_DELIVERY_HOURS` after its slot); the contact counted;
- not on WhatsApp → outcome `not_on_whatsapp`, then the campaign's next allowed channel (scheduled and
  dispatched at once) or `completed`;
- the channel blocked (the breaker of `shared.engine.whatsapp_channel` open, or the send found the
  instance disconnected or met WhatsApp's 463 refusal) → the target given back `pending`, its attempt
  unused (`Result.PAUSED`); the disconnect opens the breaker, the 463 counts toward it.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.evolution import InstanceDisconnected, NotOnWhatsApp, ReachOutRefused, SentMessage
from shared.core.jobs import OutreachJob
from shared.core.observability import logger, metrics
from shared.data import messages
from shared.data import targets as targets_data
from shared.data.targets import Due
from shared.domain.channel_health import BreakReason
from shared.domain.channels import channel_label
from shared.domain.models import (
    Campaign,
    CampaignStatus,
    Channel,
    DeliveryStatus,
    MessageStep,
    Outcome,
    Sender,
    Target,
    TargetState,
)
from shared.engine import cadence, outreach, whatsapp_channel, whatsapp_out
from shared.engine.conversations import open_conversation
from shared.engine.outreach import ChannelPaused, Result
from shared.engine.outreach_texts import STEP_LABELS, outreach_message


def deliver(job: OutreachJob) -> Result:
    """Run one job of the whatsapp queue (`shared.engine.outreach.deliver`)."""
    return outreach.deliver(job, SENDER)


def _send(claimed: Target, before: Target, campaign: Campaign) -> Result:
    step, text = outreach_message(claimed, campaign)

    def send() -> tuple[SentMessage, str] | Result:
        try:
            return whatsapp_out.business_message(claimed, campaign, step, text)
        except NotOnWhatsApp:
            return _not_on_whatsapp(claimed, campaign)
        except (InstanceDisconnected, ReachOutRefused) as exc:
            outreach.give_back(claimed, [claimed.state], before)
            if isinstance(exc, InstanceDisconnected):
                whatsapp_channel.trip(BreakReason.SEND_DISCONNECTED)
            else:
                whatsapp_channel.record_refusal()
            raise ChannelPaused(exc.message) from None

    answer = outreach.attempt(claimed, before, send)
    if isinstance(answer, Result):
        return answer
    sent, shown = answer  # the thread shows the text, or the approved template and its parameters
    _record(claimed, step, shown, sent)
    return Result.SENT


def _record(target: Target, step: MessageStep, text: str, sent: SentMessage) -> None:
    conversation = open_conversation(Channel.WHATSAPP, target.phone, target=target, link=False)
    messages.record(
        conversation.id,
        Sender.ASSISTANT,
        text,
        external_id=sent.id,
        delivery_status=DeliveryStatus.PENDING,
        is_from_campaign=True,
    )
    targets_data.record_contact(
        target,
        awaiting=Due.DELIVERY,  # by the deadline the sweep set when it scheduled the attempt
        outcome_details=f"{STEP_LABELS[step]} enviada por WhatsApp",
        conversation_id=conversation.id,  # the case's link to its conversation, in the same write
    )
    outreach.count_contact(target, Channel.WHATSAPP)


def _not_on_whatsapp(claimed: Target, campaign: Campaign) -> Result:
    # Rare after the first contact: the routing and the sweep's scheduling load with the first such number.
    from shared.engine import routing, sweep

    following = routing.next_allowed_channel(campaign, Channel.WHATSAPP, claimed.phone)
    if following is not None and campaign.status is CampaignStatus.ACTIVE:
        sweep.schedule(
            claimed,
            [TargetState.CONTACTED],
            following,
            outcome=Outcome.NOT_ON_WHATSAPP,
            outcome_details=f"Número sem WhatsApp; próximo canal: {channel_label(following)}",
            channel_attempts=0,
        )
    else:
        targets_data.transition(
            claimed.id,
            [TargetState.CONTACTED],
            TargetState.COMPLETED,
            outcome=Outcome.NOT_ON_WHATSAPP,
            outcome_details="Número sem WhatsApp; a campanha não tem outro canal",
            late_check=cadence.late_check_at(claimed, Outcome.NOT_ON_WHATSAPP),
        )
    metrics.add_metric(name="NotOnWhatsApp", unit=MetricUnit.Count, value=1)
    logger.info("not on WhatsApp", target_id=claimed.id, next_channel=following.value if following else None)
    return Result.NOT_ON_WHATSAPP


SENDER = outreach.ChannelSender(Channel.WHATSAPP, is_blocked=whatsapp_channel.is_blocked, send=_send)
