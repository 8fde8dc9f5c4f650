"""The time bar (SPEC §4): a debt is never collected once its due date is more than five years old
(Código Civil art. 206 §5º I; CDC art. 43 §5º). One rule for the importer, which refuses such rows,
and for the CRM's answer, whose time-barred invoices are never quoted nor counted."""

from __future__ import annotations

from datetime import date
from typing import Final

TIME_BAR_YEARS: Final = 5


def time_bar_cutoff(today: date) -> date:
    """The earliest due date still collectible on `today`: the same calendar day five years earlier
    (29 February → 28 February)."""
    try:
        return today.replace(year=today.year - TIME_BAR_YEARS)
    except ValueError:
        return today.replace(year=today.year - TIME_BAR_YEARS, day=28)


def is_time_barred(due_date: date, today: date) -> bool:
    """Whether a debt due on `due_date` can no longer be collected on `today` (the customer's day)."""
    return due_date < time_bar_cutoff(today)
