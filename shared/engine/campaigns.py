"""Campaign rules: channel configuration, the status machine `draft → active ⇄ paused → completed`,
and the channel sequence the engine follows. Under EVOLUTION_INTEGRATION=cloud a campaign that uses
WhatsApp is activated only with an approved template for every step (`missing_whatsapp_templates`)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from shared.adapters import queues
from shared.core import clock
from shared.core.config import get_settings
from shared.core.jobs import CADENCE_CHANGED, CAMPAIGN_COMPLETED, SchedulerTick
from shared.core.observability import logger
from shared.data import campaigns, counters, targets
from shared.domain.contact_policy import ContactWindow
from shared.domain.errors import Conflict, InvalidInput
from shared.domain.ids import new_id
from shared.domain.models import (
    OPEN_TARGET_STATES,
    Campaign,
    CampaignStatus,
    Channel,
    ContactMethod,
    MessageStep,
    Target,
    TargetState,
)
from shared.domain.pages import Page
from shared.domain.templates import WhatsAppTemplate
from shared.engine import cadence

# Which statuses each status may move to.
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.ACTIVE}),
    CampaignStatus.ACTIVE: frozenset({CampaignStatus.PAUSED, CampaignStatus.COMPLETED}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.ACTIVE, CampaignStatus.COMPLETED}),
    CampaignStatus.COMPLETED: frozenset(),
}

# The channel a method starts with, and the default sequence when the caller gives none.
_FIRST_CHANNEL = {
    ContactMethod.VOICE: Channel.VOICE,
    ContactMethod.WHATSAPP_PRIMARY: Channel.WHATSAPP,
    ContactMethod.WHATSAPP_FALLBACK: Channel.VOICE,
}
_DEFAULT_ORDER = {
    ContactMethod.VOICE: [Channel.VOICE],
    ContactMethod.WHATSAPP_PRIMARY: [Channel.WHATSAPP, Channel.VOICE],
    ContactMethod.WHATSAPP_FALLBACK: [Channel.VOICE, Channel.WHATSAPP],
}
# `outcomeDetails` of a case still open when the team completed its campaign.
CLOSED_BY_THE_TEAM: Final = (
    "Campanha encerrada pela equipe antes da resolução: o caso não será mais contatado"
)
# A job over a campaign's cases (a completed campaign's closing, a new cadence's retiming): cases read
# a page, and pages one scheduler job handles at most (its time budget permitting) before a
# continuation takes the rest.
CASES_PAGE_SIZE: Final = 100
CASE_PAGES_PER_JOB: Final = 50
EDITABLE = frozenset(
    {
        "name",
        "contact_method",
        "allowed_methods",
        "fallback_order",
        "schedule_start",
        "schedule_end",
        "weekdays",
        "max_attempts_per_channel",
        "trust_unlock",
        "follow_up_after_days",
        "max_contacts",
        "messages",
        "whatsapp_templates",
        "voicemail_drop",
        "record_calls",
    }
)


def resolve_channels(
    method: ContactMethod, allowed: Sequence[Channel] | None, order: Sequence[Channel] | None
) -> tuple[list[Channel], list[Channel]]:
    """Fill defaults and check that method, allowed methods and fallback order agree.

    `fallbackOrder` lists the channels in the order they are tried; every one must be allowed, none
    repeated, and it starts with the method's channel (`voice` and `whatsapp_fallback` start by
    calling, `whatsapp_primary` by messaging). `voice` never uses WhatsApp.
    """
    method = ContactMethod(method)
    if order is None:
        order = [c for c in _DEFAULT_ORDER[method] if allowed is None or c in allowed]
    if allowed is None:
        allowed = list(order)
    order, allowed = [Channel(c) for c in order], [Channel(c) for c in allowed]
    if not order:
        raise InvalidInput("fallbackOrder must name at least one channel", code="invalid_channels")
    if len(set(order)) != len(order) or len(set(allowed)) != len(allowed):
        raise InvalidInput(
            "allowedMethods and fallbackOrder must not repeat a channel", code="invalid_channels"
        )
    if not set(order) <= set(allowed):
        missing = ", ".join(c.value for c in order if c not in allowed)
        raise InvalidInput(
            f"fallbackOrder uses channels not in allowedMethods: {missing}", code="invalid_channels"
        )
    if order[0] is not _FIRST_CHANNEL[method]:
        raise InvalidInput(
            f"contactMethod {method.value} starts with {_FIRST_CHANNEL[method].value}, "
            f"but fallbackOrder starts with {order[0].value}",
            code="invalid_channels",
        )
    if method is ContactMethod.VOICE and Channel.WHATSAPP in order:
        raise InvalidInput(
            "contactMethod voice never uses WhatsApp: remove it from fallbackOrder", code="invalid_channels"
        )
    if method is ContactMethod.WHATSAPP_FALLBACK and Channel.WHATSAPP not in order:
        raise InvalidInput(
            "contactMethod whatsapp_fallback needs whatsapp in fallbackOrder", code="invalid_channels"
        )
    return allowed, order


def check_schedule(start: str, end: str, weekdays: Sequence[int]) -> None:
    """HH:MM times with start < end, weekdays 1–6 (Sunday is never a contact day)."""
    if not weekdays:
        raise InvalidInput(
            "weekdays must list at least one day (1 = Monday ... 6 = Saturday)", code="invalid_weekdays"
        )
    bad = [d for d in weekdays if d not in range(1, 7)]
    if bad:
        raise InvalidInput(
            f"weekdays must be 1 (Monday) to 6 (Saturday); Sundays are never contact days: {bad}",
            code="invalid_weekdays",
        )
    ContactWindow.from_schedule(start, end, frozenset(weekdays), None, get_settings().default_zone)


def create(
    *,
    name: str,
    contact_method: ContactMethod,
    allowed_methods: Sequence[Channel] | None = None,
    fallback_order: Sequence[Channel] | None = None,
    schedule_start: str = "08:00",
    schedule_end: str = "20:00",
    weekdays: Sequence[int] = (1, 2, 3, 4, 5, 6),
    max_attempts_per_channel: int = 3,
    trust_unlock: bool = False,
    follow_up_after_days: int = 3,
    max_contacts: int = 6,
    messages: Mapping[MessageStep, str] | None = None,
    whatsapp_templates: Mapping[MessageStep, WhatsAppTemplate] | None = None,
    voicemail_drop: bool = False,
    record_calls: bool = False,
) -> Campaign:
    """A new campaign in `draft`; `trust_unlock` makes its promises ask the ERP to restore the
    customer's service (`shared.engine.promises.register`); `voicemail_drop` leaves a neutral message
    on an answering machine once it beeps (`shared.engine.postcall`); `record_calls` records its calls
    through Twilio, says so in the greeting and summarizes each answered call
    (`shared.engine.call_summary`)."""
    allowed, order = resolve_channels(contact_method, allowed_methods, fallback_order)
    check_schedule(schedule_start, schedule_end, weekdays)
    now = clock.now()
    campaign = Campaign(
        id=new_id(),
        name=name.strip(),
        contact_method=contact_method,
        allowed_methods=allowed,
        fallback_order=order,
        schedule_start=schedule_start,
        schedule_end=schedule_end,
        weekdays=sorted(set(weekdays)),
        max_attempts_per_channel=max_attempts_per_channel,
        trust_unlock=trust_unlock,
        follow_up_after_days=follow_up_after_days,
        max_contacts=max_contacts,
        messages=dict(messages or {}),
        whatsapp_templates=dict(whatsapp_templates or {}),
        voicemail_drop=voicemail_drop,
        record_calls=record_calls,
        created_at=now,
        updated_at=now,
    )
    return campaigns.create(campaign)


def get(campaign_id: str) -> Campaign:
    """The campaign; `NotFound` if there is none."""
    return campaigns.get(campaign_id)


def list_page(*, limit: int, cursor: str | None) -> Page[Campaign]:
    """One page of every campaign, newest first."""
    return campaigns.list_all(limit=limit, cursor=cursor)


def update(campaign_id: str, changes: dict[str, Any]) -> Campaign:
    """Edit a campaign's settings (not its status); the merged result is validated as a whole. A new
    `follow_up_after_days` applies to the follow-ups already waiting too, retimed on the scheduler
    queue (`retime_follow_ups`): the answer does not wait for them."""
    current = campaigns.get(campaign_id)
    if current.status is CampaignStatus.COMPLETED:
        raise Conflict(f"campaign {campaign_id} is completed and can no longer be edited")
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(
            f"these fields cannot be changed: {', '.join(sorted(unknown))}", code="not_editable"
        )
    merged = current.model_dump() | changes
    method_changed = "contact_method" in changes
    allowed, order = resolve_channels(
        merged["contact_method"],
        merged["allowed_methods"] if "allowed_methods" in changes or not method_changed else None,
        merged["fallback_order"] if "fallback_order" in changes or not method_changed else None,
    )
    check_schedule(merged["schedule_start"], merged["schedule_end"], merged["weekdays"])
    changes = changes | {"allowed_methods": allowed, "fallback_order": order}
    if "weekdays" in changes:
        changes["weekdays"] = sorted(set(changes["weekdays"]))
    campaign = campaigns.update(campaign_id, **changes)
    if campaign.follow_up_after_days != current.follow_up_after_days:
        job = SchedulerTick(
            campaign_id=campaign_id,
            reason=CADENCE_CHANGED,
            follow_up_after_days=campaign.follow_up_after_days,
        )
        _run_later(job, retime_follow_ups)
    return campaign


def change_status(campaign_id: str, to: CampaignStatus) -> Campaign:
    """Move along the status machine; an impossible move is a `Conflict` naming both statuses.
    Completing closes the cases still open on the scheduler queue (`close_open_cases`): the answer
    does not wait for them."""
    current = campaigns.get(campaign_id)
    if to not in TRANSITIONS[current.status]:
        raise Conflict(f"campaign {campaign_id} cannot go from {current.status.value} to {to.value}")
    missing = missing_whatsapp_templates(current) if to is CampaignStatus.ACTIVE else []
    if missing:
        raise InvalidInput(
            "EVOLUTION_INTEGRATION=cloud sends business-initiated WhatsApp messages as approved "
            f"templates: whatsappTemplates has none for {', '.join(step.value for step in missing)}",
            code="whatsapp_templates_missing",
        )
    now = clock.now()
    extra: dict[str, Any] = {}
    if to is CampaignStatus.ACTIVE and current.started_at is None:
        extra["started_at"] = now
    if to is CampaignStatus.COMPLETED:
        extra["completed_at"] = now
    sources = [s for s, targets in TRANSITIONS.items() if to in targets]
    campaign = campaigns.transition_status(campaign_id, sources, to, **extra)
    if to is CampaignStatus.ACTIVE:
        _kick_scheduler(campaign_id)
    if to is CampaignStatus.COMPLETED:
        _run_later(SchedulerTick(campaign_id=campaign_id, reason=CAMPAIGN_COMPLETED), close_open_cases)
    logger.info("campaign status changed", campaign_id=campaign_id, old=current.status.value, new=to.value)
    return campaign


def _run_later(job: SchedulerTick, run: Callable[[SchedulerTick], int]) -> None:
    """Hand a job over the campaign's cases to the scheduler queue (tens of thousands of writes
    outlive an API request); without a queue, `run` it here."""
    if not get_settings().scheduler_queue_url:
        logger.warning(
            "no SCHEDULER_QUEUE_URL: the campaign's cases are handled within the request",
            campaign_id=job.campaign_id,
            reason=job.reason,
        )
        run(job)
        return
    queues.send("scheduler", job.model_dump(by_alias=True, exclude_none=True))


@counters.batched()
def close_open_cases(job: SchedulerTick, *, time_budget: float | None = None) -> int:
    """The team ended the job's campaign: every case still open closes (`completed`, its outcome kept,
    the reason in `outcomeDetails`) — a message waiting on the queue is then never sent (its claim
    finds the case closed, or the campaign completed), and the stats show the campaign over. One
    conditional write per open case, read page by page through the age index from the job's `cursor`
    (`_page_through`, continued on the scheduler queue with a `time_budget`). An import still writing
    may move a case behind the cursor (a new, older invoice): when the reading ends with the counters
    showing a case open, it reads once more from the start (`lastPass`). Closing is conditional, so a
    job delivered twice closes nothing twice. Returns the number of cases closed."""
    campaign_id = job.campaign_id
    if campaign_id is None or campaigns.get(campaign_id).status is not CampaignStatus.COMPLETED:
        logger.warning("closing job for a campaign not completed: ignored", campaign_id=campaign_id)
        return 0

    def close(cases: list[Target]) -> int:
        return sum(_close(case.id) for case in cases)

    closed, continued = _page_through(job, close, time_budget, again=lambda: _any_open(campaign_id))
    logger.info(
        "campaign completed by the team: open cases closed",
        campaign_id=campaign_id,
        closed=closed,
        continued=continued,
    )
    return closed


def retime_follow_ups(job: SchedulerTick, *, time_budget: float | None = None) -> int:
    """The team changed the job's campaign's `follow_up_after_days` to the job's: the follow-ups
    waiting move to it (`cadence.retime_follow_ups`, which recomputes each date from the case, so a job
    delivered twice moves nothing twice), page by page through the campaign's open cases from the job's
    `cursor` (`_page_through`, continued on the scheduler queue with a `time_budget`). A job whose
    cadence is no longer the campaign's stops: the newer change's job retimes every case; a page
    written while the cadence changed again is written once more, read afresh, with the current one
    (that job may have passed it already). Returns the number of follow-ups moved."""
    campaign_id, days = job.campaign_id, job.follow_up_after_days
    if campaign_id is None or days is None:
        raise ValueError("a retiming job names its campaign and its cadence")
    campaign = campaigns.get(campaign_id)
    if campaign.follow_up_after_days != days:
        logger.info("retiming superseded by a newer cadence", campaign_id=campaign_id, days=days)
        return 0

    def retime(cases: list[Target]) -> int | None:
        moved = cadence.retime_follow_ups(cases, campaign)
        written, current = days, campaigns.get(campaign_id)
        while current.follow_up_after_days != written:
            fresh = targets.get_many([case.id for case in cases]).values()
            cadence.retime_follow_ups(fresh, current)
            written, current = current.follow_up_after_days, campaigns.get(campaign_id)
        return moved if written == days else None

    moved, continued = _page_through(job, retime, time_budget)
    logger.info(
        "follow-ups retimed to the new cadence",
        campaign_id=campaign_id,
        days=days,
        moved=moved,
        continued=continued,
    )
    return moved


def _page_through(
    job: SchedulerTick,
    handle: Callable[[list[Target]], int | None],
    time_budget: float | None,
    *,
    again: Callable[[], bool] = lambda: False,
) -> tuple[int, bool]:
    """`handle` the job's campaign's open cases page by page through the age index (its keys move only
    with the invoices) from the job's `cursor`; it returns how many cases it changed, or None to stop
    (the job was superseded). When the reading ends, `again` says whether to read once more from the
    start (the job's `last_pass` does not ask). With a `time_budget` (seconds; a scheduler job), at most
    `CASE_PAGES_PER_JOB` pages, then the rest goes to a continuation of the job on the scheduler queue,
    from where it reached. Returns the cases changed, and whether a continuation took the rest."""
    if job.campaign_id is None:
        raise ValueError("a job over a campaign's cases names its campaign")
    deadline = None if time_budget is None else time.monotonic() + time_budget
    cursor, last_pass, changed = job.cursor, job.last_pass, 0
    for pages in itertools.count(1):
        page = targets.open_page(job.campaign_id, cursor, CASES_PAGE_SIZE)
        handled = handle(page.items)
        if handled is None:
            break
        changed += handled
        cursor = page.next_cursor
        if cursor is None:
            if last_pass or not again():
                break
            last_pass = True
        if deadline is not None and (pages >= CASE_PAGES_PER_JOB or time.monotonic() >= deadline):
            continuation = job.model_copy(update={"cursor": cursor, "last_pass": last_pass})
            queues.send("scheduler", continuation.model_dump(by_alias=True, exclude_none=True))
            return changed, True
    return changed, False


def _any_open(campaign_id: str) -> bool:
    """Whether the campaign's counters show a case not `completed` (one strongly consistent read)."""
    counts = targets.counts(campaign_id)
    return counts.get("total", 0) > counts.get(f"state:{TargetState.COMPLETED.value}", 0)


def _close(case_id: str) -> bool:
    try:
        targets.transition(
            case_id, OPEN_TARGET_STATES, TargetState.COMPLETED, outcome_details=CLOSED_BY_THE_TEAM
        )
    except Conflict:
        return False  # closed meanwhile
    return True


def missing_whatsapp_templates(campaign: Campaign) -> list[MessageStep]:
    """The steps without an approved template, when the campaign uses WhatsApp on the `cloud`
    integration (none otherwise: Baileys sends the steps' texts)."""
    if get_settings().evolution_integration != "cloud" or Channel.WHATSAPP not in campaign.allowed_methods:
        return []
    return [step for step in MessageStep if step not in campaign.whatsapp_templates]


def complete_if_done(campaign: Campaign) -> bool:
    """Complete an active campaign whose cases are all `completed` (`completedAt` now); True if it
    did. One read of the campaign's counters, so the scheduler's tick can ask every time."""
    if campaign.status is not CampaignStatus.ACTIVE:
        return False
    counts = targets.counts(campaign.id)
    total = counts.get("total", 0)
    if total <= 0 or counts.get(f"state:{TargetState.COMPLETED.value}", 0) < total:
        return False
    try:
        campaigns.transition_status(
            campaign.id, [CampaignStatus.ACTIVE], CampaignStatus.COMPLETED, completed_at=clock.now()
        )
    except Conflict:
        return False  # paused or completed meanwhile
    logger.info("campaign completed: every case is closed", campaign_id=campaign.id, cases=total)
    return True


def delete(campaign_id: str) -> None:
    """Only campaigns that never ran (drafts) can be deleted, with their targets; others keep their
    history (promises and conversations refer to them) and are completed instead."""
    current = campaigns.get(campaign_id)
    if current.status is not CampaignStatus.DRAFT:
        raise Conflict(
            f"campaign {campaign_id} is {current.status.value}: only draft campaigns can be deleted "
            "(complete it to stop it for good)"
        )
    targets.delete_for_campaign(campaign_id)
    campaigns.delete(campaign_id)


def _kick_scheduler(campaign_id: str) -> None:
    """Start scheduling now rather than at the next cron tick; the tick is the safety net."""
    if not get_settings().scheduler_queue_url:
        logger.warning(
            "no SCHEDULER_QUEUE_URL: the campaign starts at the next scheduler tick", campaign_id=campaign_id
        )
        return
    queues.send("scheduler", {"campaignId": campaign_id, "reason": "activated"})
