"""The WhatsApp channel's circuit breaker (SPEC: a channel that notices it is blocked).

Per Evolution instance (the deployment's `EVOLUTION_API_INSTANCE`), stored by `shared.data.channel_health`,
its rules in `shared.domain.channel_health`. What opens it:

- Evolution's `connection.update` webhook with `state: close` (`on_connection_update`);
- a send that fails because the instance is disconnected (`trip(SEND_DISCONNECTED)`, by outreach);
- `REFUSALS_TO_TRIP` of WhatsApp's 463 refusals within `REFUSAL_WINDOW` (`record_refusal`).

Opening it fires the alarm once (metric `WhatsAppChannelBlocked`, an error log line: the sandbox's alarm).
While it is open, outreach gives WhatsApp jobs back untouched (`pending`, no attempt used) and the sweep
sends the campaign's next allowed channel instead, or leaves WhatsApp targets pending.

It closes when the instance reports `open` and a probe — Evolution's `connectionState`, which messages
nobody — confirms it: a probe *send* would need a recipient, and a customer must not be one. Refusals
keep it open for `REFUSAL_COOLDOWN` first (WhatsApp's timelock outlasts a reconnect). Each sweep probes
a blocked channel too, so a lost `open` webhook does not leave outreach paused.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters import clients
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger, metrics
from shared.data import channel_health as breakers
from shared.domain.channel_health import (
    BreakReason,
    ChannelHealth,
    may_probe,
    recent_refusals,
    refusals_trip,
)
from shared.domain.errors import ConfigError, ServiceUnavailable

_UNNAMED_INSTANCE = "whatsapp"


def instance() -> str:
    """The Evolution instance this deployment sends through."""
    return get_settings().evolution_api_instance or _UNNAMED_INSTANCE


def health() -> ChannelHealth:
    """The breaker of the deployment's instance."""
    return breakers.read(instance())


def is_blocked() -> bool:
    """Whether WhatsApp outreach is paused right now."""
    return health().blocked


def trip(reason: BreakReason) -> bool:
    """Open the breaker; True (and the alarm fired) when it was closed until now."""
    name = instance()
    opened = breakers.open_breaker(name, reason, clock.now())
    if opened:
        metrics.add_metric(name="WhatsAppChannelBlocked", unit=MetricUnit.Count, value=1)
        logger.error("ALARM whatsapp channel blocked: outreach paused", instance=name, reason=reason.value)
    return opened


def record_refusal() -> bool:
    """Count one 463 refusal; True when it tripped the breaker."""
    now = clock.now()
    refusals = breakers.add_refusal(instance(), now)
    logger.warning("whatsapp refused to reach out (463)", recent=len(recent_refusals(refusals, now)))
    return refusals_trip(refusals, now) and trip(BreakReason.REACH_OUT_REFUSED)


def on_connection_update(state: str) -> ChannelHealth:
    """Evolution's `connection.update`: `close` opens the breaker, `open` closes it once the probe agrees;
    `connecting` changes nothing."""
    if state == "close":
        trip(BreakReason.DISCONNECTED)
    elif state == "open":
        probe()
    return health()


def probe() -> bool:
    """Ask Evolution for the instance's connection state; close the breaker when it is `open`.

    True when the channel works (the breaker is closed now)."""
    current = health()
    if not current.blocked:
        return True
    if not may_probe(current, clock.now()):
        return False
    try:
        state = clients.whatsapp().connection_state()
    except (ServiceUnavailable, ConfigError) as exc:
        logger.warning("whatsapp probe failed: channel stays paused", reason=exc.message)
        return False
    if state != "open":
        logger.info("whatsapp probe: instance not open yet", state=state)
        return False
    if breakers.close_breaker(current.instance):
        metrics.add_metric(name="WhatsAppChannelResumed", unit=MetricUnit.Count, value=1)
        logger.info("whatsapp channel resumed", instance=current.instance, was=str(current.reason))
    return True
