"""Outreach by phone: the call Twilio places once `shared.engine.outreach` has claimed the target
(`calling`, with the CallSid once placed). What the call says when answered, and Twilio's status
callbacks, are `shared.engine.calls`'s."""

from __future__ import annotations

from shared.adapters import clients
from shared.core.jobs import OutreachJob
from shared.data import targets as targets_data
from shared.domain.models import Campaign, Channel, Target
from shared.engine import outreach
from shared.engine.outreach import Result


def deliver(job: OutreachJob) -> Result:
    """Run one job of the dialer queue (`shared.engine.outreach.deliver`)."""
    return outreach.deliver(job, SENDER)


def _place_call(claimed: Target, before: Target, campaign: Campaign) -> Result:
    call_sid = outreach.attempt(
        claimed,
        before,
        lambda: clients.voice().place_call(
            claimed.id,
            claimed.phone,
            detect_message_end=campaign.voicemail_drop,
            record=campaign.record_calls,
        ),
    )
    if isinstance(call_sid, Result):
        return call_sid
    targets_data.record_contact(claimed, call_sid=call_sid, outcome_details="Chamada iniciada")
    outreach.count_contact(claimed, Channel.VOICE)
    return Result.CALLED


def _never_blocked() -> bool:
    return False


SENDER = outreach.ChannelSender(Channel.VOICE, is_blocked=_never_blocked, send=_place_call)
