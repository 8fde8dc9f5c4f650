"""What the counters say, for the API's dashboard and the CSV exports: a campaign's funnel and the
seed's KPIs, the money KPIs, a campaign's daily series, the figures across campaigns, and today's
short calls. Everything is read from atomic counters, never by scanning targets: the names and the
counting are `shared.engine.stats`'s (and the data layer's, see its docstring) and
`shared.engine.short_calls`'s. Kept apart from the counting so that a worker, which counts on every
job and never reports, does not load the reports at its cold start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from shared.core import clock
from shared.core.config import get_settings
from shared.data import campaigns, counters, targets
from shared.data.targets import CaseMoney
from shared.domain.errors import InvalidInput
from shared.domain.models import Campaign, Channel, Outcome, PromiseStatus, TargetState
from shared.domain.money import from_cents
from shared.engine import short_calls
from shared.engine.stats import Daily, Milestone, PromiseMoney, contacts_counter, promises_counter


@dataclass(frozen=True)
class Day:
    day: date
    contacts: int
    responses: int
    promises: int
    kept: int
    recovered: Decimal


MAX_DAYS: Final = 92
DEFAULT_DAYS: Final = 30


def daily(campaign_id: str, start: date | None = None, end: date | None = None) -> list[Day]:
    """The campaign's series from `start` to `end` (inclusive, at most `MAX_DAYS` days; by default
    the `DEFAULT_DAYS` days to today in the deployment's zone): one read of the period's day counters,
    whatever the campaign's size."""
    campaigns.get(campaign_id)  # NotFound for an unknown campaign
    end = end or clock.now().astimezone(get_settings().default_zone).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise InvalidInput("'from' must not be after 'to'", code="invalid_period")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise InvalidInput(f"a series covers at most {MAX_DAYS} days", code="invalid_period")
    counted = counters.read_days(campaign_id, start, end)
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        raw = counted.get(day, {})
        series.append(
            Day(
                day=day,
                contacts=raw.get(Daily.CONTACTS, 0),
                responses=raw.get(Daily.RESPONSES, 0),
                promises=raw.get(Daily.PROMISES, 0),
                kept=raw.get(Daily.KEPT, 0),
                recovered=from_cents(raw.get(CaseMoney.RECOVERED, 0)),
            )
        )
    return series


@dataclass(frozen=True)
class Kpi:
    name: str
    value: Decimal  # percentage, one decimal place
    numerator: int
    denominator: int
    goal: Decimal  # the seed's target, in percent

    @property
    def met(self) -> bool:
        return self.denominator > 0 and self.value > self.goal


@dataclass(frozen=True)
class MoneyStats:
    """The money KPIs: amounts in reais, the recovery rate in percent (recovered / in collection),
    and the average days from first contact to payment (None before any such payment)."""

    in_collection: Decimal
    promised: Decimal
    kept: Decimal
    recovered: Decimal
    self_cured: Decimal
    recovery_rate: Decimal
    average_days_to_pay: Decimal | None


def money_stats(cases: dict[str, int], promises: dict[str, int]) -> MoneyStats:
    """The money KPIs from the cases' counters (`targets.CaseMoney`) and the promises' ones."""
    in_collection = cases.get(CaseMoney.IN_COLLECTION, 0)
    recovered = cases.get(CaseMoney.RECOVERED, 0)
    timed = cases.get(CaseMoney.PAID_AFTER_CONTACT, 0)
    average = None
    if timed > 0:
        seconds = Decimal(cases.get(CaseMoney.SECONDS_TO_PAY, 0))
        average = (seconds / 86400 / timed).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return MoneyStats(
        in_collection=from_cents(in_collection),
        promised=from_cents(promises.get(PromiseMoney.PROMISED, 0)),
        kept=from_cents(promises.get(PromiseMoney.KEPT, 0)),
        recovered=from_cents(recovered),
        self_cured=from_cents(cases.get(CaseMoney.SELF_CURED, 0)),
        recovery_rate=percent(recovered, in_collection),
        average_days_to_pay=average,
    )


@dataclass(frozen=True)
class CampaignStats:
    total_targets: int
    states: dict[str, int]
    outcomes: dict[str, int]
    contacted: int
    responded: int
    promised: int
    promises: int  # registered, less those a renegotiation replaced
    fulfilled: int
    broken: int
    paid: int
    self_cured: int  # of `paid`: paid before any contact
    channels: dict[str, int]
    kpis: list[Kpi]
    money: MoneyStats


def percent(numerator: int, denominator: int) -> Decimal:
    if denominator <= 0:
        return Decimal("0.0")
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def kpis(
    total: int,
    contacted: int,
    responded: int,
    promised: int,
    promises: int,
    fulfilled: int,
    paid_after_contact: int,
) -> list[Kpi]:
    """The seed's five KPIs with their goals (Taxa de Contato > 80%, Resposta > 50%, Promessa > 60%,
    Cumprimento > 70%, Conversão > 40%). Conversion is the customers who paid after a contact over the
    customers contacted, both by the campaign: those who paid before any contact (self-cured) count in
    neither, nor does a case its campaign never contacted that was paid on another campaign's contact
    (a promise made there deferred it): that contact converted in its own campaign."""
    rows = [
        ("contactRate", contacted, total, 80),
        ("responseRate", responded, contacted, 50),
        ("promiseRate", promised, responded, 60),
        ("fulfilmentRate", fulfilled, promises, 70),
        ("conversionRate", paid_after_contact, contacted, 40),
    ]
    return [Kpi(name, percent(n, d), n, d, Decimal(goal)) for name, n, d, goal in rows]


def campaign_stats(campaign_id: str) -> CampaignStats:
    """One campaign's funnel from its counters (one Query of its counter items, whatever the number of
    cases: `shared.data.counters`)."""
    campaigns.get(campaign_id)  # NotFound for an unknown campaign
    raw = counters.read(counters.campaign_scope(campaign_id))
    return _stats(raw)


def _stats(raw: dict[str, int]) -> CampaignStats:
    total = raw.get("total", 0)
    paid = raw.get(f"outcome:{Outcome.PAID.value}", 0)
    self_cured = raw.get(targets.SELF_CURED, 0)
    # A promise a renegotiation replaced is not one the customer stands by: counted once, as the new one.
    promises = raw.get(promises_counter(), 0) - raw.get(promises_counter(PromiseStatus.RENEGOTIATED), 0)
    fulfilled = raw.get(promises_counter(PromiseStatus.FULFILLED), 0)
    contacted = raw.get(Milestone.CONTACTED.value, 0)
    responded = raw.get(Milestone.RESPONDED.value, 0)
    promised = raw.get(Milestone.PROMISED.value, 0)
    return CampaignStats(
        total_targets=total,
        states={state.value: raw.get(f"state:{state.value}", 0) for state in TargetState},
        outcomes={outcome.value: raw.get(f"outcome:{outcome.value}", 0) for outcome in Outcome},
        contacted=contacted,
        responded=responded,
        promised=promised,
        promises=promises,
        fulfilled=fulfilled,
        broken=raw.get(promises_counter(PromiseStatus.BROKEN), 0),
        paid=paid,
        self_cured=self_cured,
        channels={channel.value: raw.get(contacts_counter(channel), 0) for channel in Channel},
        kpis=kpis(total, contacted, responded, promised, promises, fulfilled, _converted(raw)),
        money=money_stats(raw, raw),
    )


@dataclass(frozen=True)
class GlobalMetrics:
    total_calls: int
    total_whatsapp_messages: int
    pending_promises: int
    fulfilled_promises: int
    broken_promises: int
    total_targets: int
    contacted: int  # cases contacted at least once
    paid: int
    self_cured: int  # of `paid`: paid before any contact
    converted: int  # of `paid`: paid after a contact by their own campaign
    money: MoneyStats

    @property
    def total_contacts(self) -> int:
        return self.total_calls + self.total_whatsapp_messages

    @property
    def conversion_rate(self) -> Decimal:
        """Paid after a contact over contacted, per case and its own campaign (`kpis`)."""
        return percent(self.converted, self.contacted)


def global_metrics() -> GlobalMetrics:
    """Dashboard cards: the counters of no campaign plus every campaign's, summed (one read per
    campaign — campaigns are few; targets are never read)."""
    scopes = [counters.GLOBAL, *(counters.campaign_scope(c.id) for c in _all_campaigns())]
    totals = _sum(counters.read(scope) for scope in scopes)
    return GlobalMetrics(
        total_calls=totals.get(contacts_counter(Channel.VOICE), 0),
        total_whatsapp_messages=totals.get(contacts_counter(Channel.WHATSAPP), 0),
        pending_promises=totals.get(promises_counter(PromiseStatus.PENDING), 0),
        fulfilled_promises=totals.get(promises_counter(PromiseStatus.FULFILLED), 0),
        broken_promises=totals.get(promises_counter(PromiseStatus.BROKEN), 0),
        total_targets=totals.get("total", 0),
        contacted=totals.get(Milestone.CONTACTED.value, 0),
        paid=totals.get(f"outcome:{Outcome.PAID.value}", 0),
        self_cured=totals.get(targets.SELF_CURED, 0),
        converted=_converted(totals),
        money=money_stats(totals, totals),
    )


@dataclass(frozen=True)
class ShortCallDay:
    """The dashboard's figure: today's calls, how many were short (≤ 6 s), and whether dialing is
    slowed because of them (`shared.engine.short_calls`)."""

    calls: int
    short: int
    share: Decimal  # percent of `calls`
    slowed: bool


def short_calls_today(now: datetime) -> ShortCallDay:
    """Today's short calls, the operation's day of `now`."""
    counts = short_calls.day_counts(short_calls.local_day(now))
    calls = sum(counts.values())
    short = counts[short_calls.LE_3S] + counts[short_calls.LE_6S]
    return ShortCallDay(calls, short, percent(short, calls), short_calls.exceeded(counts))


def _converted(raw: dict[str, int]) -> int:
    """The cases paid after a contact by their own campaign: the conversion's numerator."""
    return raw.get(CaseMoney.PAID_AFTER_CONTACT, 0)


def _all_campaigns() -> Iterable[Campaign]:
    cursor: str | None = None
    while True:
        page = campaigns.list_all(limit=100, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _sum(scopes: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for raw in scopes:
        for name, value in raw.items():
            total[name] = total.get(name, 0) + value
    return total
