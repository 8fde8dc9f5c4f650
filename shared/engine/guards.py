"""The pre-send guards (SPEC §4): one chain for every channel — decided first, then acted on.

Deciding is pure: `decide(facts)` looks at what was read about the customer before any write — the
campaign's status, opt-outs, a human's hold on the customer, the contact window, the week's contact
log, an active promise and, only when every earlier guard passed, the CRM's answer — and returns a
verdict, in SPEC order: campaign not running → opted out → held by a person at the desk (looked at
again later; the CRM is read all the same, since reading it contacts nobody: a payment she made
meanwhile closes the case, a partial one is recorded) → a payment claim's quiet period (the customer
said they paid: no case of the document, even one imported after the claim, is contacted before it
ends) → outside the contact window → frequency cap → CRM (unreachable: retry later, no contact; then
its reading, `shared.domain.debts.read_debt`: unknown customer, nothing open: paid, only time-barred
invoices) → an active promise of the customer (any campaign), which defers the case to the
promise's end → the campaign's contact budget spent (e.g. a promise broken after the last contact:
`exhausted`). The CRM is asked only when the verdict says so (`ConsultCrm`), so a closed window never
costs a CRM call.

Acting is one function: `apply` writes a verdict on the target (one conditional transition from the
states the caller holds, with `outcomeDetails` for supervisors in Portuguese and, when the CRM was
read, what it showed open: `openAmount`, `openAmountAt`; a send's claim records it as well) and counts it as
`skip:<reason>`. `check` is the send path's whole trip: read, decide, consult, decide, apply.

`reserve` then takes the day's contact slot (an atomic write in the contact log) right before the send;
if another send took the last slot meanwhile, the target is deferred exactly as the frequency cap does.
`release` gives the slot back when the contact did not happen after all.

The scheduler's sweep asks the questions it can answer without reading anything (`decide_sweep`): a
closed window reschedules the target to its next opening, a phone no allowed channel reaches ends the
case. It does not read opt-outs: recording one ends the cases it covers (`shared.engine.optouts`), and
this chain reads them again right before any contact. Deferrals put the target back to `pending` with
`nextAttemptAt` inside the contact window, so the scheduler takes it again at the right moment; nothing
is contacted on a guess (the CRM fails closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.crm import CrmClient, CrmUnavailable, Debt
from shared.adapters.crm import Invoice as CrmInvoice
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger, metrics
from shared.data import contact_log, conversations, counters
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain import cadence
from shared.domain.contact_policy import ContactWindow, FrequencyCap, WindowNeverOpens
from shared.domain.debts import DebtKind, DebtReading, OpenAmount, read_debt
from shared.domain.models import (
    Campaign,
    CampaignStatus,
    Channel,
    Invoice,
    Outcome,
    Promise,
    Target,
    TargetState,
)
from shared.domain.money import format_brl
from shared.domain.promise_rules import deferred_until
from shared.domain.time_bar import TIME_BAR_YEARS
from shared.engine import optouts, stats
from shared.engine.cadence import late_check_at

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
    UNREACHABLE = "unreachable"  # no channel the campaign allows reaches this phone (a landline, no calls)
    HUMAN_HOLD = "human_hold"  # a person at the desk has a conversation with this customer
    EXHAUSTED = "exhausted"  # the campaign's `max_contacts` are spent (e.g. a promise broken after the last)
    PAYMENT_CLAIMED = "payment_claimed"  # the customer said they paid: quiet until the CRM is asked again


def skip_counter(reason: SkipReason) -> str:
    """The campaign counter of a skip reason, e.g. `skip:window`."""
    return f"skip:{SkipReason(reason).value}"


# --- facts and verdicts --------------------------------------------------------------------------------
# Facts, verdicts and decisions are NamedTuples, like the domain's value records: a frozen dataclass
# execs six generated methods when its class is created, at every cold start of every worker. A
# NamedTuple compares equal to any tuple of the same items, so a verdict is told apart by its type
# (`isinstance`, as every caller does), never by comparing it with a verdict of another kind.


class CrmAnswer(NamedTuple):
    """What the CRM said: the debt (None for a customer it does not know), or that it could not say."""

    debt: Debt | None
    unavailable: str | None = None


class Facts(NamedTuple):
    """Everything the chain decides on, read before deciding. `crm` is None until consulted."""

    now: datetime
    campaign_status: CampaignStatus
    opted_out: bool
    window: ContactWindow
    recent_contacts: Sequence[datetime]  # the customer's contacts of the last 7 days, any campaign
    active_promise: Promise | None
    crm: CrmAnswer | None = None
    held: bool = False  # a human at the desk has a conversation with this phone or document
    budget_spent: bool = False  # the case had every contact its campaign allows (`max_contacts`)
    quiet_until: datetime | None = None  # a payment claim of the document: no contact before this
    invoices: Sequence[Invoice] = ()  # the case's, to say what the CRM shows still open of them


class Go(NamedTuple):
    """Every guard passed: contact the customer (`checked`: what the CRM showed open, when)."""

    debt: Debt
    checked: OpenAmount | None = None


class ConsultCrm:
    """Every guard before the CRM passed: ask it, then decide again. No fields: all are equal."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is ConsultCrm

    def __hash__(self) -> int:
        return hash(ConsultCrm)

    def __repr__(self) -> str:
        return "ConsultCrm()"


class Defer(NamedTuple):
    """Not now: back to `pending`, due at `at`; `checked` when the CRM was read for it."""

    reason: SkipReason
    at: datetime
    details: str
    checked: OpenAmount | None = None


class Finish(NamedTuple):
    """Not this target, for good: to `state` with `outcome`; `checked` when the CRM was read for it."""

    reason: SkipReason
    state: TargetState
    outcome: Outcome
    details: str
    checked: OpenAmount | None = None


Verdict = Go | ConsultCrm | Defer | Finish


def decide(facts: Facts) -> Verdict:
    """The pre-send chain over `facts`, in SPEC order (pure: no reads, no writes)."""
    now, window = facts.now, facts.window
    if facts.campaign_status is not CampaignStatus.ACTIVE:
        label = _CAMPAIGN_LABELS.get(facts.campaign_status, facts.campaign_status.value)
        return Defer(SkipReason.CAMPAIGN_INACTIVE, now, f"Campanha {label}: aguardando reativação")
    if facts.opted_out:
        return _opted_out()
    if facts.held:
        return _held(facts)
    if facts.quiet_until is not None and now < facts.quiet_until:
        at, details = _opening(window, facts.quiet_until)
        return Defer(
            SkipReason.PAYMENT_CLAIMED,
            at,
            f"Cliente informou pagamento ainda não compensado no CRM; nova verificação, {details}",
        )
    if not window.is_open(now):
        at, details = _opening(window, now)
        return Defer(SkipReason.WINDOW, at, f"Fora da janela de contato; {details}")
    capped_until = _capped_until(facts.recent_contacts, now, window.tz)
    if capped_until is not None:
        return _capped(window, capped_until)
    if facts.crm is None:
        return ConsultCrm()
    if facts.crm.unavailable is not None:
        at, details = _opening(window, now + CRM_RETRY)
        return Defer(SkipReason.CRM_UNAVAILABLE, at, f"CRM indisponível, nenhum contato feito; {details}")
    debt = facts.crm.debt
    reading, open_amount, checked = _read(facts)
    if reading.kind is DebtKind.UNKNOWN_CUSTOMER:
        return Finish(
            SkipReason.UNKNOWN_CUSTOMER,
            TargetState.COMPLETED,
            Outcome.UNKNOWN_CUSTOMER,
            f"Cliente não encontrado no CRM ({checked})",
        )
    closed = _nothing_collectible(reading, open_amount, checked)
    if closed is not None:
        return closed
    assert debt is not None  # the customer owes
    if facts.active_promise is not None:
        promise = facts.active_promise
        at, details = _opening(window, deferred_until(promise.due_at))
        return Defer(
            SkipReason.ACTIVE_PROMISE,
            at,
            f"Promessa de pagamento válida até {promise.due_date:%d/%m/%Y}: nenhum contato até lá; {details}",
            open_amount,
        )
    if facts.budget_spent:
        return Finish(
            SkipReason.EXHAUSTED,
            TargetState.COMPLETED,
            Outcome.EXHAUSTED,
            f"Limite de contatos da campanha atingido sem resolução ({checked})",
            open_amount,
        )
    return Go(debt, open_amount)


class Take(NamedTuple):
    """The sweep may take the target on `channel`."""

    channel: Channel


def decide_sweep(*, now: datetime, window: ContactWindow, channel: Channel | None) -> Take | Defer | Finish:
    """The sweep's part of the chain (pure): window closed → the next opening; no channel the campaign
    may use for this phone → completed; otherwise take it on `channel`."""
    if not window.is_open(now):
        at, details = _opening(window, now)
        return Defer(SkipReason.WINDOW, at, f"Fora da janela de contato; {details}")
    if channel is None:
        return Finish(
            SkipReason.UNREACHABLE,
            TargetState.COMPLETED,
            Outcome.NOT_ON_WHATSAPP,
            "Telefone fixo, sem WhatsApp, e a campanha não faz ligações",
        )
    return Take(channel)


# --- the send path: read, decide, act ---------------------------------------------------------------


class Proceed(NamedTuple):
    """The send may go ahead: the target as checked, the CRM's debt, the window and when it ran;
    `checked`, what the CRM showed open, for the claim to record."""

    target: Target
    debt: Debt
    window: ContactWindow
    at: datetime
    checked: OpenAmount | None = None

    @property
    def tz(self) -> ZoneInfo:
        return self.window.tz


class Skipped(NamedTuple):
    """A guard objected; `target` is the target as recorded with the decision."""

    reason: SkipReason
    target: Target
    details: str


Decision = Proceed | Skipped


class Reservation(NamedTuple):
    """A contact slot taken in the contact log (see `reserve` / `release`)."""

    document: str
    at: datetime
    local_day: date
    channel: Channel
    target_id: str


def check(
    target: Target, campaign: Campaign, channel: Channel, crm: CrmClient, *, now: datetime | None = None
) -> Decision:
    """Run the chain on a `scheduled` target and apply its verdict.

    Raises `TransitionConflict` when the target left `scheduled` meanwhile (another worker has it).
    """
    facts = read_facts(target, campaign, now or clock.now())
    verdict = decide(facts)
    if isinstance(verdict, ConsultCrm):
        facts = facts._replace(crm=consult(crm, target))
        verdict = decide(facts)
    if isinstance(verdict, Go):
        return Proceed(target, verdict.debt, facts.window, facts.now, verdict.checked)
    assert not isinstance(verdict, ConsultCrm)  # decided again with the CRM's answer
    skipped = apply(target, verdict, GUARDED_STATES)
    logger.info(
        "outreach skipped",
        target_id=target.id,
        campaign_id=target.campaign_id,
        channel=Channel(channel).value,
        reason=verdict.reason.value,
        state=skipped.target.state.value,
        next_attempt_at=verdict.at.isoformat() if isinstance(verdict, Defer) else None,
    )
    return skipped


def read_facts(target: Target, campaign: Campaign, now: datetime) -> Facts:
    """What the chain needs to know about the customer, short of the CRM.

    Every read here is eventually consistent (half the units; typically under a second stale), because
    what is at stake is either guarded by a write or no worse than the race a strong read leaves anyway
    (a write landing just after it, before the send):
    - opt-outs: recording one ends every open case it covers at once, with a conditional transition,
      so a queued job for one of them loses its claim whatever this read saw; the read is for a case
      that appeared later (an import), which is never a moment after the opt-out;
    - the frequency cap: the day's slot is taken atomically right before the send (`reserve`), and a
      contact a moment ago is the same local day; the weekly count was always read before the slot;
    - a human's hold and a payment claim's quiet period: a write within that moment is no different
      from one just after a strong read;
    - an active promise deferred every open case of the document when it was registered (and its
      index is eventually consistent anyway)."""
    window = contact_window(campaign, target.phone)
    if campaign.status is not CampaignStatus.ACTIVE:  # decided by the campaign alone: read nothing
        return Facts(now, campaign.status, False, window, (), None)
    active = promises_data.active_for_document(target.document, now)
    history = contact_log.history(target.document, now - WEEK, consistent=False)
    return Facts(
        now=now,
        campaign_status=campaign.status,
        opted_out=is_opted_out(target),
        window=window,
        recent_contacts=history.contacts,
        active_promise=active[0] if active else None,
        held=conversations.held(target.phone, target.document, consistent=False),
        budget_spent=cadence.budget_spent(target, campaign),
        quiet_until=history.quiet_until,
        invoices=target.invoices,
    )


def consult(crm: CrmClient, target: Target) -> CrmAnswer:
    """The CRM's answer for the target's customer; an outage is an answer too (fail closed)."""
    try:
        return CrmAnswer(crm.consult(target.document))
    except CrmUnavailable as exc:
        logger.warning("CRM unavailable: no contact, retry later", target_id=target.id, reason=exc.message)
        return CrmAnswer(None, unavailable=exc.message)


def apply(target: Target, verdict: Defer | Finish, from_states: Sequence[TargetState]) -> Skipped:
    """Write a verdict on the target (one conditional transition from `from_states`) and count it."""
    if isinstance(verdict, Defer):
        recorded = targets_data.transition(
            target.id,
            from_states,
            TargetState.PENDING,
            next_attempt_at=verdict.at,
            outcome_details=verdict.details,
            **stats.open_fields(target, verdict.checked),
        )
    else:
        recorded = targets_data.transition(
            target.id,
            from_states,
            verdict.state,
            outcome=verdict.outcome,
            outcome_details=verdict.details,
            late_check=late_check_at(target, verdict.outcome),
            **stats.open_fields(target, verdict.checked),
        )
    counters.increment(counters.campaign_scope(recorded.campaign_id), skip_counter(verdict.reason))
    metrics.add_metric(name="OutreachSkipped", unit=MetricUnit.Count, value=1)
    return Skipped(reason=verdict.reason, target=recorded, details=verdict.details)


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
        target.id,
    )
    if taken:
        return Reservation(target.document, now, local_day, channel, target.id)
    recent = contact_log.contacts_since(target.document, now - WEEK)
    retry = _capped_until(recent, now, decision.tz) or _next_local_midnight(now, decision.tz)
    logger.info(
        "outreach skipped: the day's contact slot was just taken", target_id=target.id, channel=channel.value
    )
    return apply(target, _capped(decision.window, retry), GUARDED_STATES)


def release(reservation: Reservation) -> None:
    """Give back a slot whose contact did not happen (idempotent)."""
    contact_log.release_contact(
        reservation.document,
        reservation.at,
        reservation.local_day,
        reservation.channel,
        reservation.target_id,
    )


def contact_window(campaign: Campaign, phone: str) -> ContactWindow:
    """The customer's contact window for a campaign: campaign hours ∩ the state's legal window ∩ no
    Sundays or holidays, in the customer's zone (state and zone from the phone's DDD)."""
    return ContactWindow.for_phone(
        campaign.schedule_start, campaign.schedule_end, campaign.weekdays, phone, get_settings().default_zone
    )


def is_opted_out(target: Target) -> bool:
    """Whether the target's phone or document opted out. Opt-outs and targets both hold canonical
    numbers (`normalize_phone` restores a dropped ninth digit), so one lookup of each covers every form
    WhatsApp may use. Eventually consistent (see `read_facts`)."""
    return optouts.is_opted_out(target.phone, target.document, consistent=False)


# --- internals ---------------------------------------------------------------------------------------


def _held(facts: Facts) -> Verdict:
    """A person at the desk holds the customer: no contact, looked at again `cadence.HOLD_RETRY` later.
    The CRM is read all the same — reading it contacts nobody, and the agent must not collect what she
    paid meanwhile: nothing collectible closes the case as for anyone, a partial payment is recorded
    (`checked`). A customer the CRM does not know, or a CRM that cannot answer, changes nothing."""
    if facts.crm is None:
        return ConsultCrm()
    open_amount = None
    if facts.crm.unavailable is None:
        reading, open_amount, checked = _read(facts)
        closed = _nothing_collectible(reading, open_amount, checked)
        if closed is not None:
            return closed
        crm = (
            f"em aberto no CRM: {format_brl(reading.total)} ({checked})"
            if reading.owes
            else "cliente não encontrado no CRM"
        )
    else:
        crm = "CRM indisponível, pagamento não verificado"
    at, details = _opening(facts.window, facts.now + cadence.HOLD_RETRY)
    return Defer(SkipReason.HUMAN_HOLD, at, f"Cliente em atendimento humano; {crm}; {details}", open_amount)


def _read(facts: Facts) -> tuple[DebtReading[CrmInvoice], OpenAmount | None, str]:
    """The CRM's answer in `facts` read on the customer's day: the reading, what it shows open of the
    case's invoices, and how `outcomeDetails` says when it was read."""
    assert facts.crm is not None
    tz = facts.window.tz
    reading = read_debt(facts.crm.debt, facts.now.astimezone(tz).date())
    return (
        reading,
        reading.checked(facts.now, facts.invoices),
        f"verificado no CRM em {_local(facts.now, tz)}",
    )


def _nothing_collectible(
    reading: DebtReading[CrmInvoice], open_amount: OpenAmount | None, checked: str
) -> Finish | None:
    """The case's end when the CRM shows nothing collectible (paid, or only time-barred invoices)."""
    if reading.kind is DebtKind.PAID:
        return Finish(
            SkipReason.PAID,
            TargetState.COMPLETED,
            Outcome.PAID,
            f"Nenhuma fatura em aberto ({checked})",
            open_amount,
        )
    if reading.kind is DebtKind.ONLY_TIME_BARRED:
        return Finish(
            SkipReason.TIME_BARRED,
            TargetState.COMPLETED,
            Outcome.TIME_BARRED,
            f"Só há faturas prescritas (mais de {TIME_BAR_YEARS} anos), que não são cobradas ({checked})",
            open_amount,
        )
    return None


def _opted_out() -> Finish:
    return Finish(SkipReason.OPTED_OUT, TargetState.COMPLETED, Outcome.OPTED_OUT, optouts.DETAILS)


def _capped(window: ContactWindow, until: datetime) -> Defer:
    at, details = _opening(window, until)
    return Defer(SkipReason.FREQUENCY_CAP, at, f"Limite de contatos atingido; {details}")


def _capped_until(recent: Sequence[datetime], now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the frequency cap allows the next contact, or None if it allows one now."""
    settings = get_settings()
    cap = FrequencyCap(settings.max_contacts_per_day, settings.max_contacts_per_week)
    decision = cap.check(list(recent), now, tz)
    return None if decision.allowed else decision.retry_at


def _opening(window: ContactWindow, after: datetime) -> tuple[datetime, str]:
    """The window's first opening at or after `after`, and how to say it; a window that never opens
    (campaign hours outside the state's legal hours) is looked at again `NEVER_OPENS_RETRY` later."""
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
