"""Which channel contacts a target next, and putting the job on that channel's queue."""

from __future__ import annotations

from shared.adapters import queues
from shared.core.jobs import OutreachJob
from shared.domain.channels import can_reach
from shared.domain.models import Campaign, Channel, Target

QUEUE_OF: dict[Channel, str] = {Channel.WHATSAPP: "whatsapp", Channel.VOICE: "dialer"}


def first_channel(campaign: Campaign) -> Channel:
    """The channel a target is contacted on first (the head of `fallbackOrder`)."""
    return campaign.fallback_order[0]


def next_channel(campaign: Campaign, current: Channel) -> Channel | None:
    """The channel after `current` in `fallbackOrder`, or None when it was the last."""
    order = list(campaign.fallback_order)
    if current not in order:
        return None
    position = order.index(current)
    return order[position + 1] if position + 1 < len(order) else None


def next_allowed_channel(campaign: Campaign, current: Channel, phone: str) -> Channel | None:
    """The channel after `current` in `fallbackOrder` that the campaign allows and the phone can use
    (WhatsApp needs a mobile); None when there is none."""
    candidate = next_channel(campaign, current)
    while candidate is not None:
        if candidate in campaign.allowed_methods and can_reach(candidate, phone):
            return candidate
        candidate = next_channel(campaign, candidate)
    return None


def dispatch(target: Target, channel: Channel, attempt: int, *, delay_seconds: int = 0) -> None:
    """Enqueue one outreach job for `target` on `channel`'s queue."""
    job = OutreachJob(target_id=target.id, campaign_id=target.campaign_id, channel=channel, attempt=attempt)
    queues.send(QUEUE_OF[channel], job.model_dump(by_alias=True, mode="json"), delay_seconds=delay_seconds)
