"""What the SGP and Hubsoft contract tests seed alike: their day and the debtors' invoices."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from infra.local.simulators.crm import SimInvoice

TODAY = date(2025, 3, 10)  # the `clock` fixture's day in São Paulo
ANA, BRUNO = "52998224725", "41107296617"


def invoice(number: str, amount: str, days_ago: int) -> SimInvoice:
    """An invoice due `days_ago` days before `TODAY`."""
    return SimInvoice(number, Decimal(amount), TODAY - timedelta(days=days_ago), days_ago)
