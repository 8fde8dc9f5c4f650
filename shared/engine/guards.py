"""The pre-send guards (SPEC §4): one function for every channel, run on a target the scheduler took.

`check` runs them in SPEC order — opted out → outside the contact window → frequency cap → CRM (nothing
open: paid; unknown customer; unreachable: retry later, no contact) → an active promise — after making
sure the campaign is still running. The first guard that objects decides: the decision is written on
the target (one conditional transition from `scheduled`, with `outcomeDetails` for supervisors in
Portuguese) and counted in the campaign's counters as `skip:<reason>`. Otherwise the answer is
`Proceed`, carrying the CRM's `Debt`.

`reserve` then takes the day's contact slot (an atomic write in the contact log) right before the send;
if another send took the last slot meanwhile, the target is deferred exactly as the frequency cap does.
`release` gives the slot back when the contact did not happen after all.

Deferrals put the target back to `pending` with `nextAttemptAt` inside the contact window, so the
scheduler takes it again at the right moment; nothing is contacted on a guess (the CRM fails closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.crm import CrmClient, CrmUnavailable, Debt
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger, metrics
from shared.data import contact_log, counters
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain.contact_policy import ContactWindow, FrequencyCap, WindowNeverOpens
from shared.domain.models import Campaign, CampaignStatus, Channel, Outcome, Target, TargetState
from shared.engine import optouts

CRM_RETRY: Final = timedelta(minutes=30)
# A campaign whose hours never meet the customer's legal window (e.g. 19:00–20:00 for RJ) may be
# edited: look again tomorrow rather than give the target up.
NEVER_OPENS_RETRY: Final = timedelta(days=1)
WEEK: Final = timedelta(days=7)
GUARDED_STATES: Final = (TargetState.SCHEDULED,)
_CAMPAIGN_LABELS: Final = {
    CampaignStatus.DRAFT: "em rascunho",
    CampaignStatus.PAUSED: "pausada",
    CampaignStatus.COMPLETED: "encerrada",
}


class SkipReason(StrEnum):
    """Why a send did not happen; each has a campaign counter `skip:<value>`."""

    CAMPAIGN_INACTIVE = "campaign_inactive"
    OPTED_OUT = "opted_out"
    WINDOW = "window"
    FREQUENCY_CAP = "frequency_cap"
    PAID = "paid"
    TIME_BARRED = "time_barred"  # only invoices older than 5 years are open: never collected
    UNKNOWN_CUSTOMER = "unknown_customer"
    CRM_UNAVAILABLE = "crm_unavailable"
    ACTIVE_PROMISE = "active_promise"


def skip_counter(reason: SkipReason) -> str:
    """The campaign counter of a skip reason, e.g. `skip:window`."""
    return f"skip:{SkipReason(reason).value}"


@dataclass(frozen=True)
class Proceed:
    """Every guard passed: contact the customer."""

    target: Target
    debt: Debt
    window: ContactWindow
    at: datetime  # when the guards ran

    @property
    def tz(self) -> ZoneInfo:
        return self.window.tz


@dataclass(frozen=True)
class Skipped:
    """A guard objected; `target` is the target as recorded with the decision."""

    reason: SkipReason
    target: Target
    details: str


Decision = Proceed | Skipped


@dataclass(frozen=True)
class Reservation:
    """A contact slot taken in the contact log (see `reserve` / `release`)."""

    document: str
    at: datetime
    local_day: date
    target_id: str


def check(
    target: Target, campaign: Campaign, channel: Channel, crm: CrmClient, *, now: datetime | None = None
) -> Decision:
    """Run the guards on a `scheduled` target, in SPEC order; record and count the first objection.

    Raises `TransitionConflict` when the target left `scheduled` meanwhile (another worker has it).
    """
    decision = _check(target, campaign, crm, now or clock.now())
    if isinstance(decision, Skipped):
        recorded = decision.target
        logger.info(
            "outreach skipped",
            target_id=recorded.id,
            campaign_id=recorded.campaign_id,
            channel=Channel(channel).value,
            reason=decision.reason.value,
            state=recorded.state.value,
            next_attempt_at=recorded.next_attempt_at.isoformat()
            if recorded.state is TargetState.PENDING
            else None,
        )
    return decision


def _check(target: Target, campaign: Campaign, crm: CrmClient, now: datetime) -> Decision:
    window = contact_window(campaign, target.phone)
    if campaign.status is not CampaignStatus.ACTIVE:
        label = _CAMPAIGN_LABELS.get(campaign.status, campaign.status.value)
        return _defer(target, SkipReason.CAMPAIGN_INACTIVE, now, f"Campanha {label}: aguardando reativação")
    if _opted_out(target):
        return _finish(
            target,
            SkipReason.OPTED_OUT,
            TargetState.COMPLETED,
            Outcome.OPTED_OUT,
            "Cliente pediu para não ser mais contatado (opt-out)",
        )
    if not window.is_open(now):
        at, details = _opening(window, now)
        return _defer(target, SkipReason.WINDOW, at, f"Fora da janela de contato; {details}")
    cap = _frequency_cap(target.document, now, window.tz)
    if cap is not None:
        at, details = _opening(window, cap)
        return _defer(target, SkipReason.FREQUENCY_CAP, at, f"Limite de contatos atingido; {details}")
    try:
        debt = crm.consult(target.document)
    except CrmUnavailable as exc:
        logger.warning("CRM unavailable: no contact, retry later", target_id=target.id, reason=exc.message)
        at, details = _opening(window, now + CRM_RETRY)
        return _defer(
            target, SkipReason.CRM_UNAVAILABLE, at, f"CRM indisponível, nenhum contato feito; {details}"
        )
    checked = f"verificado no CRM em {_local(now, window.tz)}"
    if debt is None:
        return _finish(
            target,
            SkipReason.UNKNOWN_CUSTOMER,
            TargetState.COMPLETED,
            Outcome.FAILED,
            f"Cliente não encontrado no CRM ({checked})",
        )
    if not debt.invoices:
        return _finish(
            target,
            SkipReason.PAID,
            TargetState.COMPLETED,
            Outcome.PAID,
            f"Nenhuma fatura em aberto ({checked})",
        )
    if not debt.has_open(now.astimezone(window.tz).date()):
        return _finish(
            target,
            SkipReason.TIME_BARRED,
            TargetState.COMPLETED,
            Outcome.FAILED,
            f"Só há faturas prescritas (mais de 5 anos), que não são cobradas ({checked})",
        )
    active = promises_data.active_for_document(target.document, now)
    if active:
        promise = active[0]
        return _finish(
            target,
            SkipReason.ACTIVE_PROMISE,
            TargetState.CONTACTED,
            Outcome.PROMISE_MADE,
            f"Promessa de pagamento válida até {promise.due_date:%d/%m/%Y}: nenhum contato até lá",
        )
    return Proceed(target=target, debt=debt, window=window, at=now)


def reserve(decision: Proceed, channel: Channel) -> Reservation | Skipped:
    """Take the day's contact slot for the customer right before the send (atomic, across campaigns
    and channels). When the slot is gone, the target is deferred like the frequency cap does."""
    settings = get_settings()
    target, now = decision.target, decision.at
    local_day = now.astimezone(decision.tz).date()
    taken = contact_log.reserve_contact(
        target.document,
        now,
        local_day,
        settings.max_contacts_per_day,
        channel,
        target.campaign_id,
        target.id,
    )
    if taken:
        return Reservation(target.document, now, local_day, target.id)
    retry = _frequency_cap(target.document, now, decision.tz) or _next_local_midnight(now, decision.tz)
    at, details = _opening(decision.window, retry)
    logger.info(
        "outreach skipped: the day's contact slot was just taken", target_id=target.id, channel=channel.value
    )
    return _defer(target, SkipReason.FREQUENCY_CAP, at, f"Limite de contatos atingido; {details}")


def release(reservation: Reservation) -> None:
    """Give back a slot whose contact did not happen (idempotent)."""
    contact_log.release_contact(
        reservation.document, reservation.at, reservation.local_day, reservation.target_id
    )


def contact_window(campaign: Campaign, phone: str) -> ContactWindow:
    """The customer's contact window for a campaign: campaign hours ∩ the state's legal window ∩ no
    Sundays or holidays, in the customer's zone (state and zone from the phone's DDD)."""
    return ContactWindow.for_phone(
        campaign.schedule_start, campaign.schedule_end, campaign.weekdays, phone, get_settings().default_zone
    )


def next_opening(window: ContactWindow, after: datetime) -> datetime:
    """The first instant at or after `after` the window is open; a window that never opens (campaign
    hours outside the state's legal hours) is looked at again `NEVER_OPENS_RETRY` later."""
    return _opening(window, after)[0]


# --- internals ---------------------------------------------------------------------------------------


def _opted_out(target: Target) -> bool:
    # Opt-outs and targets both hold canonical numbers (`normalize_phone` restores a dropped ninth
    # digit), so one lookup of the phone and the document covers every form WhatsApp may use.
    return optouts.is_opted_out(target.phone, target.document)


def _frequency_cap(document: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the cap allows the next contact, or None if it allows one now."""
    settings = get_settings()
    cap = FrequencyCap(settings.max_contacts_per_day, settings.max_contacts_per_week)
    previous = contact_log.contacts_since(document, now - WEEK)
    decision = cap.check(previous, now, tz)
    return None if decision.allowed else decision.retry_at


def _opening(window: ContactWindow, after: datetime) -> tuple[datetime, str]:
    try:
        at = window.next_opening(after)
    except WindowNeverOpens:
        at = after + NEVER_OPENS_RETRY
        return (
            at,
            f"o horário da campanha nunca cruza o horário legal do estado; revisão em {_local(at, window.tz)}",
        )
    return at, f"próxima tentativa em {_local(at, window.tz)}"


def _next_local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(tomorrow, datetime.min.time(), tzinfo=tz)


def _local(at: datetime, tz: ZoneInfo) -> str:
    return f"{at.astimezone(tz):%d/%m/%Y %H:%M}"


def _defer(target: Target, reason: SkipReason, at: datetime, details: str) -> Skipped:
    recorded = targets_data.transition(
        target.id, GUARDED_STATES, TargetState.PENDING, next_attempt_at=at, outcome_details=details
    )
    return _count(recorded, reason, details)


def _finish(
    target: Target, reason: SkipReason, to_state: TargetState, outcome: Outcome, details: str
) -> Skipped:
    recorded = targets_data.transition(
        target.id, GUARDED_STATES, to_state, outcome=outcome, outcome_details=details
    )
    return _count(recorded, reason, details)


def _count(target: Target, reason: SkipReason, details: str) -> Skipped:
    counters.increment(counters.campaign_scope(target.campaign_id), skip_counter(reason))
    metrics.add_metric(name="OutreachSkipped", unit=MetricUnit.Count, value=1)
    return Skipped(reason=reason, target=target, details=details)
