"""Counting the campaign statistics: the atomic counters the KPIs are read from — never by scanning targets.

Names of the counters kept outside the data layer live here, once:
- per campaign (`counters.campaign_scope(id)`): `contacts:<channel>` (outreach sent) and the promise
  counters below (the milestones reached by a target for the first time, `Milestone`, are named here
  and counted by the data layer);
- `counters.GLOBAL`: `contacts:<channel>` and the promise counters of no campaign (a promise made in
  an inbound conversation); the figures across campaigns are this scope plus every campaign's
  (`global_metrics`), so a contact or a promise of a campaign is one counter write, not two.
The promise counters include the promises' money in centavos (`PromiseMoney`): promised (a promise
registered, taken back when a renegotiation replaces it, so it counts what customers stand by) and
kept (a promise fulfilled).
Per campaign and local day of the customer (`counters.campaign_day_scope`): `Daily` — outreach sent,
promises registered (less those a renegotiation replaced: the days add up to the campaign's promises),
promises kept, and (kept by the data layer) first responses and R$ recovered.
The data layer itself keeps `total`, `state:<state>`, `outcome:<outcome>`, `self_cured` (cases paid
before any contact with their customer, in any campaign: they say nothing about collecting) and the
cases' money (`targets.CaseMoney`: in collection, recovered after contact, self-cured) per campaign.

This module is what the workers call on every job (counting); what the counters say — a campaign's
funnel and KPIs, the money KPIs, the daily series, the figures across campaigns — is read by
`shared.engine.reporting`, for the API and the exports only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from shared.core import clock
from shared.data import counters, targets
from shared.domain.debts import OpenAmount, case_fields
from shared.domain.models import Channel, PromiseStatus, Target
from shared.domain.money import to_cents
from shared.domain.phones import timezone_for_phone


class Milestone(StrEnum):
    """What a case reached for the first time, counted once by the targets' data layer: with the
    case's first contact (CONTACTED), or by the write that marks it (`record_milestone`, or a
    transition taking `milestone=`)."""

    CONTACTED = targets.CONTACTED  # an outreach reached the customer's channel (message sent, call placed)
    RESPONDED = targets.RESPONDED  # the customer answered: a WhatsApp reply or an answered call
    PROMISED = "promised"  # a payment promise was registered
    # Marked with the payment of a case its campaign never contacted, when another campaign had contacted
    # the customer (`paid_milestone`): not self-cured.
    CONTACTED_ELSEWHERE = targets.CONTACTED_ELSEWHERE


def contacts_counter(channel: Channel) -> str:
    return f"contacts:{Channel(channel).value}"


def promises_counter(status: PromiseStatus | None = None) -> str:
    return "promises:total" if status is None else f"promises:{PromiseStatus(status).value}"


class Daily(StrEnum):
    """A campaign's counters of one local day (the first responses and the money one,
    `CaseMoney.RECOVERED`, are the data layer's)."""

    CONTACTS = "contacts"  # outreach sent
    RESPONSES = targets.FIRST_RESPONSES  # targets answering for the first time (the data layer's)
    PROMISES = "promises"  # promises registered, less those a renegotiation replaced
    KEPT = "kept"  # promises fulfilled


def count_day(
    campaign_id: str | None, tz: ZoneInfo | None, counter: Daily, by: int = 1, *, at: datetime | None = None
) -> None:
    """Add `by` to `counter` on the date of `at` (by default now) in `tz` (the customer's zone); nothing
    without a campaign and a zone."""
    if campaign_id and tz is not None:
        day = (at or clock.now()).astimezone(tz).date()
        counters.increment(counters.campaign_day_scope(campaign_id, day), counter, by)


def count_outreach(campaign_id: str | None, channel: Channel, *, phone: str | None = None) -> None:
    """One outreach sent on `channel` (a WhatsApp message or a placed call) to `phone`."""
    counters.increment(_scope(campaign_id), contacts_counter(channel))
    count_day(campaign_id, _zone(phone), Daily.CONTACTS)


class PromiseMoney(StrEnum):
    """The promise money counters, in centavos (see the module docstring)."""

    PROMISED = "cents:promised"
    KEPT = "cents:kept"


def count_promise(
    campaign_id: str | None,
    old: PromiseStatus | None,
    new: PromiseStatus,
    *,
    amount: Decimal,
    tz: ZoneInfo | None = None,
    made_at: datetime | None = None,
) -> None:
    """A promise of `amount` in the customer's zone `tz` was created (`old` None) or moved between
    statuses; one a renegotiation replaces no longer counts among the promises of the day it was made
    (`made_at`), as it no longer counts among the campaign's."""
    if old is None:
        count_day(campaign_id, tz, Daily.PROMISES)
    elif new is PromiseStatus.FULFILLED:
        count_day(campaign_id, tz, Daily.KEPT)
    elif new is PromiseStatus.RENEGOTIATED and made_at is not None:
        count_day(campaign_id, tz, Daily.PROMISES, -1, at=made_at)
    deltas = {promises_counter(new): 1}
    if old is None:
        deltas[promises_counter()] = 1
        deltas[PromiseMoney.PROMISED] = to_cents(amount)
    else:
        deltas[promises_counter(old)] = -1
    if new is PromiseStatus.RENEGOTIATED:
        deltas[PromiseMoney.PROMISED] = -to_cents(amount)
    elif new is PromiseStatus.FULFILLED:
        deltas[PromiseMoney.KEPT] = to_cents(amount)
    counters.increment_many(_scope(campaign_id), deltas)


def _scope(campaign_id: str | None) -> str:
    """Where a contact or a promise is counted: its campaign's counters, else the global ones."""
    return counters.campaign_scope(campaign_id) if campaign_id else counters.GLOBAL


def record_milestone(target_id: str, milestone: Milestone) -> bool:
    """Mark `milestone` on the target, counted the first time only (`targets.mark_milestone`); True
    when this call counted it."""
    if milestone is Milestone.CONTACTED:
        raise ValueError("a case's first contact is counted by targets.record_contact")
    return targets.mark_milestone(target_id, milestone.value)


def open_fields(
    case: Target, checked: OpenAmount | None, cases: Iterable[Target] | None = None
) -> dict[str, Any]:
    """The changes of the write recording what a CRM read showed of `case` (`checked`, None when it did
    not say): `open_amount`, `open_amount_at`, `paid_amount` (`debts.case_fields`: the data layer counts
    its growth as money recovered, or self-cured) and, when the case shows more money paid than before
    while its campaign never contacted the customer, the `milestone` saying whether another campaign had
    (`paid_milestone`, over the customer's `cases` in every campaign, read here when not given: only
    then, not on every write of a case once seen partly paid). Every write of a case's `open_amount`
    takes its changes from here, a payment closing it too."""
    fields = case_fields(case, checked)
    if case.contact_count == 0 and fields.get("paid_amount", 0) > (case.paid_amount or 0):
        milestone = paid_milestone(case, targets.by_document(case.document) if cases is None else cases)
        if milestone is not None:
            fields["milestone"] = milestone
    return fields


def paid_milestone(case: Target, cases: Iterable[Target]) -> str | None:
    """The milestone the write counting money paid on `case` carries (`open_fields`), given the
    customer's cases in every campaign (`cases`): CONTACTED_ELSEWHERE when its campaign never contacted
    the customer and another one did — the person did not pay before anybody contacted them, so the
    money is recovered and the case, closing paid, is not self-cured."""
    if case.contact_count == 0 and any(other.contact_count > 0 for other in cases if other.id != case.id):
        return Milestone.CONTACTED_ELSEWHERE.value
    return None


def _zone(phone: str | None) -> ZoneInfo | None:
    return timezone_for_phone(phone) if phone else None
