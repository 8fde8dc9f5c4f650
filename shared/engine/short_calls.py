"""Short calls watched (ANATEL's measures against abusive calling block a CNPJ whose daily volume is
dominated by very short calls: ≤ 3 s in 2022, 6 s reported since 2024).

Every connected call that ends (`completed`, a person or a machine — our AMD hang-ups included) is
counted once by duration bucket in the day's counters (`counters` scope `calls_day#YYYY-MM-DD`, the
operation's zone): `calls:le3s`, `calls:le6s` (3 < d ≤ 6) and `calls:longer`. When the short ones
(≤ 6 s) pass `SHORT_CALL_MAX_SHARE` of the day's calls — once the day has `MIN_CALLS_TO_JUDGE` — the
sweep dials at half the voice capacity (`voice_capacity_factor`) and the `ShortCallShareExceeded`
metric (the CDK alarm's) is emitted with a log line.
The dashboard shows the day's figure (`shared.engine.reporting.short_calls_today`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Final

from aws_lambda_powertools.metrics import MetricUnit

from shared.core.config import get_settings
from shared.core.observability import logger, metrics
from shared.data import counters, dedupe

LE_3S: Final = "calls:le3s"
LE_6S: Final = "calls:le6s"
LONGER: Final = "calls:longer"
BUCKETS: Final = (LE_3S, LE_6S, LONGER)
MIN_CALLS_TO_JUDGE: Final = 20  # one short call of two is no pattern
THROTTLED_FACTOR: Final = 0.5
_DEDUPE_TTL_SECONDS: Final = 2 * 24 * 3600  # SQS redeliveries come within minutes


def bucket(duration_seconds: int) -> str:
    """The counter a call of `duration_seconds` goes to."""
    if duration_seconds <= 3:
        return LE_3S
    if duration_seconds <= 6:
        return LE_6S
    return LONGER


def day_scope(day: date) -> str:
    return f"calls_day#{day.isoformat()}"


def short_share(counts: dict[str, int]) -> Decimal | None:
    """The share of short calls (≤ 6 s) among a day's counted calls; None below `MIN_CALLS_TO_JUDGE`."""
    total = sum(counts.get(name, 0) for name in BUCKETS)
    if total < MIN_CALLS_TO_JUDGE:
        return None
    return Decimal(counts.get(LE_3S, 0) + counts.get(LE_6S, 0)) / Decimal(total)


def exceeded(counts: dict[str, int]) -> bool:
    """Whether the day's short calls pass `SHORT_CALL_MAX_SHARE`."""
    share = short_share(counts)
    return share is not None and share > get_settings().short_call_max_share


def count_call(call_sid: str, duration_seconds: int, at: datetime) -> None:
    """Count one ended call in its day's bucket (once per CallSid) and raise the alarm's metric when
    the day's short calls pass the configured share."""
    if not dedupe.claim(f"call_duration#{call_sid}", _DEDUPE_TTL_SECONDS):
        return
    name = bucket(duration_seconds)
    scope = day_scope(local_day(at))
    counters.increment(scope, name)
    metrics.add_metric(name=f"CallDuration_{name.split(':')[1]}", unit=MetricUnit.Count, value=1)
    counts = counters.read(scope)
    if exceeded(counts):
        metrics.add_metric(name="ShortCallShareExceeded", unit=MetricUnit.Count, value=1)
        logger.warning(
            "short calls above the allowed share: dialing slowed",
            short_share=str(short_share(counts)),
            max_share=str(get_settings().short_call_max_share),
        )


def day_counts(day: date) -> dict[str, int]:
    """The day's calls by bucket (zeros included)."""
    counts = counters.read(day_scope(day))
    return {name: counts.get(name, 0) for name in BUCKETS}


def voice_capacity_factor(now: datetime) -> float:
    """1, or `THROTTLED_FACTOR` while today's short calls pass the allowed share."""
    return THROTTLED_FACTOR if exceeded(counters.read(day_scope(local_day(now)))) else 1.0


def local_day(at: datetime) -> date:
    """The operation's day of `at` (its deployment zone): the day short calls are counted on."""
    return at.astimezone(get_settings().default_zone).date()
