"""`/api/voice/metrics` (dashboard cards, with the WhatsApp channel's state), `/api/voice/channels/whatsapp`
(is WhatsApp outreach paused, and why) and `/api/debug/queues` (queue depths)."""

from __future__ import annotations

from fastapi import APIRouter

from functions.api.deps import AuthenticateFirst, Viewer
from functions.api.schemas import ChannelShare, MetricsPublic, MoneyPublic, WhatsAppChannelPublic
from shared.adapters import queues
from shared.core import clock
from shared.engine import reporting, whatsapp_channel

router = APIRouter(tags=["metrics"], route_class=AuthenticateFirst)

QUEUES = ("scheduler", "whatsapp", "dialer", "post_call", "inbound", "promise_monitor")


@router.get("/api/voice/metrics", response_model=MetricsPublic, response_model_by_alias=True)
def metrics(_: Viewer) -> MetricsPublic:
    result = reporting.global_metrics()
    contacts = result.total_contacts
    short = reporting.short_calls_today(clock.now())
    return MetricsPublic(
        total_calls=result.total_calls,
        total_whats_app_messages=result.total_whatsapp_messages,
        total_contacts=contacts,
        pending_promises=result.pending_promises,
        fulfilled_promises=result.fulfilled_promises,
        broken_promises=result.broken_promises,
        self_cured=result.self_cured,
        conversion_rate=result.conversion_rate,
        **MoneyPublic.fields(result.money),
        short_calls_today=short.short,
        short_call_share_today=short.share,
        dialing_slowed=short.slowed,
        breakdown={
            "voice": ChannelShare(
                count=result.total_calls, percentage=reporting.percent(result.total_calls, contacts)
            ),
            "whatsapp": ChannelShare(
                count=result.total_whatsapp_messages,
                percentage=reporting.percent(result.total_whatsapp_messages, contacts),
            ),
        },
        whatsapp_channel=_whatsapp_channel(),
    )


@router.get(
    "/api/voice/channels/whatsapp", response_model=WhatsAppChannelPublic, response_model_by_alias=True
)
def whatsapp_channel_health(_: Viewer) -> WhatsAppChannelPublic:
    """Whether WhatsApp outreach is paused (the instance disconnected or refused) and why."""
    return _whatsapp_channel()


def _whatsapp_channel() -> WhatsAppChannelPublic:
    health = whatsapp_channel.health()
    return WhatsAppChannelPublic(
        instance=health.instance,
        blocked=health.blocked,
        reason=health.reason.value if health.reason else None,
        message=health.message,
        since=health.since,
    )


@router.get("/api/debug/queues")
def queue_depths(_: Viewer) -> dict[str, dict[str, int]]:
    """Messages visible, in flight and delayed on each of the deployment's queues."""
    return {name: queues.depth(name) for name in QUEUES}
