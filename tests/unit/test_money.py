from decimal import Decimal

import pytest

from shared.domain.errors import InvalidInput
from shared.domain.money import InvalidAmount, format_brl, parse_money


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("150,00", "150.00"),
        ("1.234,56", "1234.56"),
        ("150.00", "150.00"),
        ("R$ 89,90", "89.90"),
        ("R$1.234.567,89", "1234567.89"),
        ("r$ 10,00", "10.00"),
        ("1,234.56", "1234.56"),
        ("1,234,567.89", "1234567.89"),
        ("1.234", "1234.00"),
        ("1.234.567", "1234567.00"),
        ("1.5", "1.50"),
        ("89.9", "89.90"),
        ("89,9", "89.90"),
        ("0.123", "0.12"),
        ("1234.567", "1234.57"),
        ("150", "150.00"),
        (".50", "0.50"),
        ("  150,00  ", "150.00"),
        ("\xa0R$\xa01.234,56\xa0", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u202f234\u202f567,89", "1234567.89"),
        ("- R$ 1.000", "-1000.00"),
    ],
)
def test_text_amounts_parse_to_two_places(raw: str, expected: str) -> None:
    value = parse_money(raw)
    assert value == Decimal(expected)
    assert value.as_tuple().exponent == -2


def test_single_comma_is_always_the_brazilian_decimal_separator() -> None:
    assert parse_money("1,234") == Decimal("1.23")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (150, "150.00"),
        (0, "0.00"),
        (89.9, "89.90"),
        (0.1 + 0.2, "0.30"),
        (1234.5, "1234.50"),
        (Decimal("10"), "10.00"),
        (Decimal("1.005"), "1.01"),
    ],
)
def test_spreadsheet_numbers_parse_without_binary_float_error(
    raw: int | float | Decimal, expected: str
) -> None:
    value = parse_money(raw)
    assert value == Decimal(expected)
    assert str(value) == expected


@pytest.mark.parametrize(("raw", "expected"), [("10,005", "10.01"), ("10,004", "10.00"), (2.675, "2.68")])
def test_rounding_is_half_up(raw: str | float, expected: str) -> None:
    # 2.675 is 2.67499999… in binary; going through str() keeps the written value.
    assert parse_money(raw) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "expected"), [("-R$ 1,00", "-1.00"), ("R$ -1,00", "-1.00"), ("-150.5", "-150.50"), ("+5", "5.00")]
)
def test_sign_is_kept_not_judged(raw: str, expected: str) -> None:
    assert parse_money(raw) == Decimal(expected)


def test_negative_zero_becomes_plain_zero() -> None:
    value = parse_money("-0,00")
    assert value == 0 and not value.is_signed()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "contains letters"),
        ("12a", "contains letters"),
        ("NaN", "contains letters"),
        ("inf", "contains letters"),
        ("1e3", "contains letters"),
        ("R$", "no digits"),
        ("1,2,3", "misplaced thousands separators"),
        ("1.2.3", "misplaced thousands separators"),
        ("1.23,45.67", "more than one decimal separator"),
        ("1.234,56,78", "more than one decimal separator"),
        ("12.34,56", "misplaced thousands separators"),
        ("150,", "ends with a decimal separator"),
        ("--1", "may contain only digits"),
        ("12 34", "spaces that are not thousands separators"),
        ("150 00", "spaces that are not thousands separators"),
        ("R$ 1 500 2", "spaces that are not thousands separators"),
        ("1#0", "may contain only digits"),
        ("١٢٣", "may contain only digits"),
    ],
)
def test_malformed_text_is_rejected_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidAmount, match=reason):
        parse_money(raw)


@pytest.mark.parametrize(
    "raw", [float("nan"), float("inf"), float("-inf"), Decimal("NaN"), Decimal("Infinity")]
)
def test_non_finite_numbers_are_rejected(raw: float | Decimal) -> None:
    with pytest.raises(InvalidAmount, match="finite"):
        parse_money(raw)


def test_booleans_and_other_types_are_rejected() -> None:
    with pytest.raises(InvalidAmount, match="boolean"):
        parse_money(True)
    with pytest.raises(InvalidAmount, match="got list"):
        parse_money([1])  # type: ignore[arg-type]


def test_absurdly_large_amount_is_rejected() -> None:
    with pytest.raises(InvalidAmount, match="too large"):
        parse_money("9" * 40)


def test_invalid_amount_is_an_invalid_input_with_a_stable_code() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_money("abc")
    assert caught.value.code == "invalid_amount"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1234.56", "R$ 1.234,56"),
        ("0.5", "R$ 0,50"),
        ("-1", "-R$ 1,00"),
        ("1234567.891", "R$ 1.234.567,89"),
        ("0", "R$ 0,00"),
        ("-0.001", "R$ 0,00"),
        ("89.9", "R$ 89,90"),
        ("0.005", "R$ 0,01"),
    ],
)
def test_format_brl_writes_brazilian_currency(amount: str, text: str) -> None:
    assert format_brl(Decimal(amount)) == text


def test_formatted_amount_parses_back_to_the_same_value() -> None:
    for amount in ("0.01", "12.30", "1234567.89", "-45.60"):
        assert parse_money(format_brl(Decimal(amount))) == Decimal(amount)


def test_format_brl_rejects_non_finite_and_absurd_amounts() -> None:
    with pytest.raises(InvalidAmount, match="non-finite"):
        format_brl(Decimal("NaN"))
    with pytest.raises(InvalidAmount, match="too large"):
        format_brl(Decimal("1E+40"))
