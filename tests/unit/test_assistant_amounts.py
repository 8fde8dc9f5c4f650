"""Amounts as customers write them (`shared.assistant.amounts`), for the fallback dialogue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.assistant.amounts import find_amount

OPEN = Decimal("2000.00")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("consigo pagar R$ 1.234,56 dia 20", "1234.56"),
        ("pago 150,50 na sexta", "150.50"),
        ("1000 reais dia 15", "1000.00"),
        ("melhor mil e duzentos dia 20", "1200.00"),
        ("dois mil e cem", "2100.00"),
        ("Cento e cinquenta reais e trinta centavos", "150.30"),
        ("quinhentos conto sexta", "500.00"),
        ("trezentos reais dia quinze", "300.00"),
        ("consigo pagar a metade dia 20", "1000.00"),
        ("pago 500 sexta", "500.00"),
        ("consigo 1.200, dia 20", "1200.00"),
        ("dia 20 eu pago 300", "300.00"),
        ("pago sexta 200", "200.00"),
        ("pago 500.", "500.00"),
        ("529.982.247-25, pago 500 dia 20", "500.00"),
        ("só consigo metade do valor", "1000.00"),
    ],
)
def test_an_amount_in_figures_in_words_or_as_a_share(text: str, amount: str) -> None:
    assert find_amount(text, OPEN) == Decimal(amount)


@pytest.mark.parametrize(
    "text",
    [
        "pago tudo sexta",
        "pago dia vinte",
        "daqui a dez dias",
        "em um dia",
        "em duas parcelas",
        "pago um pouco na sexta",
        "uma semana",
        "pago dia 10 de dezembro",
        "às duas da tarde eu pago",
        "pago dia 20",
        "pago no 20",
        "pago sexta-feira, 21",
        "pago 20/03",
        "pago 15 de abril",
        "em 10 dias",
        "em 2 parcelas",
        "pago as 14h",
        "pago as 14:30",
        "529.982.247-25, pago sexta",
        "52998224725 pago sexta",
        "CNPJ 12.ABC.345/01DE-35, pago dia 20",
        "529 982 247 25 pago sexta",
        "meu número é 11 99999-8888, pago dia 20",
        "(11) 99999-8888 pago sexta",
        "pago a F-601 sexta",
        "pago as 2 faturas sexta",
    ],
)
def test_words_that_count_something_else_are_no_amount(text: str) -> None:
    assert find_amount(text, OPEN) is None


def test_half_of_an_odd_total_is_rounded_to_the_centavo() -> None:
    assert find_amount("metade", Decimal("89.95")) == Decimal("44.98")
