"""Money in reais: parsing what spreadsheets and people write, formatting what customers read.

Amounts are `Decimal` with two places, rounded ROUND_HALF_UP. Text is read in the Brazilian
convention (`1.234,56`) and also in the US one when both separators appear (`1,234.56`: the last
separator is the decimal one). A lone separator is decided like this:
- `,` once is always decimal, as in Brazil (`150,00`, `89,9`, and so `1,234` = 1.23);
- `.` once is decimal (`150.00`, `89.9`) unless exactly three digits follow a valid leading group
  (`1.234` → 1234.00, Brazilian thousands);
- the same separator repeated is a thousands separator and must group by three (`1.234.567`);
  anything else (`1,2,3`) is rejected;
- spaces inside the number are accepted only as thousands separators (`1 234,56`).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from shared.domain.errors import InvalidInput

CENTS = Decimal("0.01")
ZERO = Decimal("0.00")


class InvalidAmount(InvalidInput):
    """A value that cannot be read as an amount of money; the message says exactly why."""

    code = "invalid_amount"


# The forms nearly every text cell takes ("179,80", "89.90", "150", "1.234,56"): read without the
# general rules below, which give the same answer for them (a lone separator followed by one or two
# digits is always the decimal one).
_PLAIN = re.compile(r"[0-9]{1,15}(?:[.,][0-9]{1,2})?")
_BRAZILIAN_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:\.[0-9]{3}){1,4},[0-9]{1,2}")

# Customer-facing form: Brazilian separators from Python's "1,234.56".
_TO_BRAZILIAN = str.maketrans(",.", ".,")


def parse_money(raw: str | int | float | Decimal) -> Decimal:
    """The amount as a `Decimal` with two places (ROUND_HALF_UP).

    Accepts numbers (XLSX cells; floats go through `str()` so 89.9 stays 89.90) and text such as
    `150,00`, `1.234,56`, `150.00`, `R$ 89,90`, `R$1.234.567,89`, `1,234.56`, `-R$ 1,00`.
    Raises `InvalidAmount` for empty values, letters, NaN/infinity and malformed separators. The
    sign is kept, not judged: callers decide whether it must be positive.
    """
    if type(raw) is str:
        # At most two decimals and no sign: quantizing only pads, never rounds.
        if _PLAIN.fullmatch(raw):
            return Decimal(raw.replace(",", ".")).quantize(CENTS)
        if _BRAZILIAN_GROUPED.fullmatch(raw):
            return Decimal(raw.replace(".", "").replace(",", ".")).quantize(CENTS)
    elif type(raw) is float and -1e15 < raw < 1e15:  # XLSX numbers; NaN and infinities fail both tests
        cents = Decimal(repr(raw)).quantize(CENTS, rounding=ROUND_HALF_UP)
        return cents if cents else ZERO
    if isinstance(raw, bool):  # bool is an int: True must not become R$ 1,00
        raise InvalidAmount("amount must be a number or text, got a boolean")
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        # str() gives the shortest repr that round-trips, so 0.1 is "0.1", not 0.1000000000000000055…
        value = Decimal(str(raw))
    elif isinstance(raw, str):
        value = _parse_text(raw)
    else:
        raise InvalidAmount(f"amount must be a number or text, got {type(raw).__name__}")
    if not value.is_finite():
        raise InvalidAmount("amount must be a finite number")
    try:
        cents = value.quantize(CENTS, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise InvalidAmount("amount is too large") from None
    # -0.00 would print as "-R$ 0,00".
    return cents if cents else ZERO


def format_brl(amount: Decimal) -> str:
    """The amount as customers read it: `R$ 1.234,56`, `R$ 0,50`, `-R$ 1,00`."""
    if not amount.is_finite():
        raise InvalidAmount("cannot format a non-finite amount")
    try:
        cents = amount.quantize(CENTS, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise InvalidAmount("amount is too large to format") from None
    sign = "-" if cents < 0 else ""
    return f"{sign}R$ {abs(cents):,.2f}".translate(_TO_BRAZILIAN)


def _parse_text(raw: str) -> Decimal:
    text = raw.strip()  # str.strip also removes NBSP and the narrow/figure spaces
    if not text:
        raise InvalidAmount("amount is empty")
    negative, text = _take_sign(text)
    if text[:2].upper() == "R$":
        text = text[2:].lstrip()
        if not negative:  # "R$ -1,00" as well as "-R$ 1,00"
            negative, text = _take_sign(text)
    if not text:
        raise InvalidAmount("amount has no digits")
    words = text.split()
    if len(words) > 1:
        text = _join_space_groups(words)
    integer, fraction = _split_separators(text)
    digits = integer + fraction
    if not (digits.isdigit() and digits.isascii()):
        if any(char.isalpha() for char in text):
            raise InvalidAmount("amount contains letters")
        raise InvalidAmount("amount may contain only digits, '.', ',', a sign and R$")
    value = Decimal(f"{integer or '0'}.{fraction or '0'}")
    return -value if negative else value


def _take_sign(text: str) -> tuple[bool, str]:
    if text[:1] in ("-", "+"):
        return text[0] == "-", text[1:].lstrip()
    return False, text


def _join_space_groups(words: list[str]) -> str:
    """`1 234 567,89` (space as thousands separator, as some locales print) → `1234567,89`.

    Any other space inside an amount ("12 34") is ambiguous and rejected.
    """
    head, *middle, last = words
    if (
        _is_leading_group(head)
        and all(len(word) == 3 and word.isdigit() for word in middle)
        and len(last) >= 3
        and last[:3].isdigit()
        and last[3:4] in ("", ".", ",")
    ):
        return "".join(words)
    raise InvalidAmount("amount has spaces that are not thousands separators")


def _split_separators(text: str) -> tuple[str, str]:
    """Integer and fraction digits of `text` (digits and separators; other characters pass through
    to the caller's digit check)."""
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    if last_dot == -1 and last_comma == -1:
        return text, ""
    if last_dot != -1 and last_comma != -1:
        decimal_sep, thousands_sep = (".", ",") if last_dot > last_comma else (",", ".")
        if text.count(decimal_sep) > 1:
            raise InvalidAmount(f"amount has more than one decimal separator {decimal_sep!r}")
        integer, fraction = text.split(decimal_sep)
        return _ungroup(integer, thousands_sep), _fraction(fraction)
    separator = "." if last_dot != -1 else ","
    if text.count(separator) > 1:  # only a thousands separator repeats: 1.234.567
        return _ungroup(text, separator), ""
    integer, fraction = text.split(separator)
    if separator == "." and len(fraction) == 3 and _is_leading_group(integer):
        return integer + fraction, ""  # Brazilian thousands: 1.234 is one thousand two hundred…
    return integer, _fraction(fraction)


def _fraction(digits: str) -> str:
    if not digits:
        raise InvalidAmount("amount ends with a decimal separator")
    return digits


def _is_leading_group(digits: str) -> bool:
    return 1 <= len(digits) <= 3 and digits.isdigit() and digits[0] != "0"


def _ungroup(integer: str, separator: str) -> str:
    """`1.234.567` → `1234567`, checking the groups of three; raises on any other grouping."""
    groups = integer.split(separator)
    if len(groups) == 1:
        return integer
    # Digits are checked by the caller; here only the shape: 1-3 leading digits, then threes.
    head = groups[0]
    if not 1 <= len(head) <= 3 or head[0] == "0" or set(map(len, groups[1:])) != {3}:
        raise InvalidAmount(f"amount has misplaced thousands separators {separator!r}")
    return "".join(groups)


def to_cents(amount: Decimal) -> int:
    """Whole centavos of an amount (ROUND_HALF_UP): how counters store money, as integers."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    """The amount of `cents` centavos, two places."""
    return (Decimal(cents) / 100).quantize(CENTS)
