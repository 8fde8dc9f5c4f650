"""Payment days as customers write them, relative to their local date (the fallback dialogue)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from shared.assistant.dates import find_date, today_in
from shared.core import clock as clock_module

MONDAY = date(2025, 3, 10)  # Monday, 10 March 2025


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("dia 15", date(2025, 3, 15)),
        ("Posso pagar dia 10", date(2025, 3, 10)),  # today is still a valid day
        ("dia 5", date(2025, 4, 5)),  # already past this month: next month
        ("dia 31", date(2025, 3, 31)),
        ("15/12", date(2025, 12, 15)),
        ("20/03/2025", date(2025, 3, 20)),
        ("5/4/25", date(2025, 4, 5)),
        ("1/3", date(2026, 3, 1)),  # DD/MM already past this year: next year
        ("15 de abril", date(2025, 4, 15)),
        ("dia 2 de março de 2026", date(2026, 3, 2)),
        ("amanhã", date(2025, 3, 11)),
        ("AMANHA", date(2025, 3, 11)),
        ("depois de amanhã", date(2025, 3, 12)),
        ("hoje mesmo", date(2025, 3, 10)),
        ("sexta-feira", date(2025, 3, 14)),
        ("na sexta", date(2025, 3, 14)),
        ("segunda", date(2025, 3, 17)),  # said on a Monday: the next one
        ("sábado que vem", date(2025, 3, 15)),
        ("terça da semana que vem", date(2025, 3, 18)),
        ("semana que vem", date(2025, 3, 21)),  # the end (Friday) of next week
        ("fim do mês", date(2025, 3, 31)),
        ("no final desse mês", date(2025, 3, 31)),
        ("fim do mês que vem", date(2025, 4, 30)),
        ("daqui a 10 dias", date(2025, 3, 20)),
        ("em quinze dias", date(2025, 3, 25)),
        ("daqui a duas semanas", date(2025, 3, 24)),
        ("dia 10 do mês que vem", date(2025, 4, 10)),
        ("hoje não dá, só dia 20", date(2025, 3, 20)),
        ("pago R$ 50,00 dia 20", date(2025, 3, 20)),  # the amount is not a day
    ],
)
def test_reads_the_day_relative_to_the_customers_today(said, expected):
    assert find_date(said, MONDAY) == expected


@pytest.mark.parametrize("said", ["não sei", "mês que vem", "31/02", "R$ 10,50", "89,90", "", "dia 45"])
def test_names_no_day(said):
    assert find_date(said, MONDAY) is None


def test_month_ends_are_clamped():
    assert find_date("dia 31", date(2025, 4, 2)) == date(2025, 4, 30)
    assert find_date("dia 30 do mês que vem", date(2025, 1, 15)) == date(2025, 2, 28)
    assert find_date("fim do mês", date(2024, 2, 10)) == date(2024, 2, 29)


def test_today_is_the_customers_local_date_not_the_servers():
    virtual = clock_module.VirtualClock(datetime(2025, 3, 11, 2, 30, tzinfo=UTC))  # 23:30 on the 10th in SP
    previous = clock_module.set_clock(virtual)
    try:
        assert today_in(ZoneInfo("America/Sao_Paulo")) == date(2025, 3, 10)
        assert today_in(ZoneInfo("America/Manaus")) == date(2025, 3, 10)
        assert today_in(ZoneInfo("America/Noronha")) == date(2025, 3, 11)  # UTC-2: already past midnight
        assert find_date("amanhã", today_in(ZoneInfo("America/Sao_Paulo"))) == date(2025, 3, 11)
    finally:
        clock_module.set_clock(previous)
