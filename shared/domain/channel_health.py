"""The WhatsApp channel's circuit breaker: why it opens and when repeated refusals trip it (pure rules).

The breaker is per Evolution instance. It opens when the instance reports `close` (`connection.update`),
when a send fails because the instance is disconnected, or after `REFUSALS_TO_TRIP` of WhatsApp's 463
refusals ("reach-out timelocked") within `REFUSAL_WINDOW`. While open, WhatsApp outreach pauses; it closes
when the instance reports `open` again and Evolution's connection state confirms it (after
`REFUSAL_COOLDOWN` when refusals opened it: the number is connected, only locked).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, NamedTuple

REFUSALS_TO_TRIP: Final = 3
REFUSAL_WINDOW: Final = timedelta(minutes=30)
# WhatsApp's reach-out timelock lasts hours: a breaker opened by refusals is not probed before this.
REFUSAL_COOLDOWN: Final = timedelta(hours=6)


class BreakReason(StrEnum):
    DISCONNECTED = "disconnected"  # connection.update state close
    SEND_DISCONNECTED = "send_disconnected"  # a send failed: the instance is not connected
    REACH_OUT_REFUSED = "reach_out_refused"  # repeated 463 refusals


_REASON_TEXTS: Final = {
    BreakReason.DISCONNECTED: "O WhatsApp desconectou a instância; os envios por WhatsApp estão pausados",
    BreakReason.SEND_DISCONNECTED: (
        "Um envio falhou porque a instância do WhatsApp está desconectada; os envios estão pausados"
    ),
    BreakReason.REACH_OUT_REFUSED: (
        "O WhatsApp recusou mensagens a novos contatos (erro 463) repetidas vezes; os envios estão pausados"
    ),
}


class ChannelHealth(NamedTuple):
    """The breaker of one instance: open (`blocked`) with its reason and since when, or closed."""

    instance: str
    blocked: bool = False
    reason: BreakReason | None = None
    since: datetime | None = None

    @property
    def message(self) -> str | None:
        """The dashboard's banner text (pt-BR), None while the channel works."""
        return _REASON_TEXTS[self.reason] if self.blocked and self.reason is not None else None


def recent_refusals(refusals: Iterable[datetime], now: datetime) -> list[datetime]:
    """The refusals still inside the window that ends at `now`, oldest first."""
    return sorted(at for at in refusals if now - at <= REFUSAL_WINDOW)


def refusals_trip(refusals: Iterable[datetime], now: datetime) -> bool:
    """Whether the refusals within the window are enough to open the breaker."""
    return len(recent_refusals(refusals, now)) >= REFUSALS_TO_TRIP


def may_probe(health: ChannelHealth, now: datetime) -> bool:
    """Whether an open breaker may be closed by a successful probe now."""
    if health.reason is not BreakReason.REACH_OUT_REFUSED or health.since is None:
        return True
    return now - health.since >= REFUSAL_COOLDOWN
