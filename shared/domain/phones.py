"""Brazilian phone numbers: any common written form to E.164 digits, the DDD → state → time zone
tables, and WhatsApp's ninth-digit quirk.

Canonical form (what we store and send): digits only, country code first, mobiles with their
ninth digit — `5511999998888` (mobile) or `551133334444` (landline). WhatsApp `remoteJid`s of older
accounts drop the ninth digit (`553198296801`), so matching is tolerant of it.

Error messages never echo the number (phone numbers must not reach logs unmasked); they name the
problem, the digit count or the area code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

from shared.core.config import get_settings
from shared.domain.errors import InvalidInput

COUNTRY_CODE = "55"


class InvalidPhone(InvalidInput):
    """A phone number that cannot be a Brazilian number; the message says exactly why."""

    code = "invalid_phone"


class InvalidState(InvalidInput):
    """Not one of the 27 Brazilian federative units (UF)."""

    code = "invalid_state"


# --- The data: the one place listing Brazil's area codes (Anatel) and each state's zone. ---

_DDDS_BY_STATE: dict[str, str] = {
    "SP": "11 12 13 14 15 16 17 18 19",
    "RJ": "21 22 24",
    "ES": "27 28",
    "MG": "31 32 33 34 35 37 38",
    "PR": "41 42 43 44 45 46",
    "SC": "47 48 49",
    "RS": "51 53 54 55",
    "DF": "61",
    "GO": "62 64",
    "TO": "63",
    "MT": "65 66",
    "MS": "67",
    "AC": "68",
    "RO": "69",
    "BA": "71 73 74 75 77",
    "SE": "79",
    "PE": "81 87",
    "AL": "82",
    "PB": "83",
    "RN": "84",
    "CE": "85 88",
    "PI": "86 89",
    "PA": "91 93 94",
    "AM": "92 97",
    "RR": "95",
    "AP": "96",
    "MA": "98 99",
}

# A state's legal clock. Multi-zone states use their capital's zone (DDD 97's far west of AM and
# Fernando de Noronha are the exceptions we accept).
_STATE_ZONES: dict[str, str] = {
    "AC": "America/Rio_Branco",
    "AM": "America/Manaus",
    "RR": "America/Boa_Vista",
    "RO": "America/Porto_Velho",
    "MT": "America/Cuiaba",
    "MS": "America/Campo_Grande",
    "PA": "America/Belem",
    "AP": "America/Belem",
    "TO": "America/Araguaina",
    "MA": "America/Fortaleza",
    "PI": "America/Fortaleza",
    "CE": "America/Fortaleza",
    "RN": "America/Fortaleza",
    "PB": "America/Fortaleza",
    "PE": "America/Recife",
    "AL": "America/Maceio",
    "SE": "America/Maceio",
    "BA": "America/Bahia",
    "SP": "America/Sao_Paulo",
    "RJ": "America/Sao_Paulo",
    "ES": "America/Sao_Paulo",
    "MG": "America/Sao_Paulo",
    "PR": "America/Sao_Paulo",
    "SC": "America/Sao_Paulo",
    "RS": "America/Sao_Paulo",
    "DF": "America/Sao_Paulo",
    "GO": "America/Sao_Paulo",
}

DDD_STATES: Mapping[str, str] = MappingProxyType(
    {ddd: uf for uf, ddds in _DDDS_BY_STATE.items() for ddd in ddds.split()}
)
"""Every valid DDD (area code) → its state (UF)."""

STATES: frozenset[str] = frozenset(_STATE_ZONES)
"""The 27 federative units."""


class BrazilianPhone(NamedTuple):
    e164: str  # digits only, with country code: "5511999998888"
    ddd: str  # "11"
    subscriber: str  # "999998888" (9-digit mobile) or "33334444" (8-digit landline)
    is_mobile: bool
    state: str  # UF of the DDD, e.g. "SP"


# Separators people type; "." too (some write 99999.8888) — Excel floats are handled before.
_SEPARATORS = str.maketrans("", "", " ()-.\t\r\n\xa0\u202f")
# A whole number that went through a float: "5511999998888.0" (",0" from pt-BR exports).
_EXCEL_FLOAT = re.compile(r"(\d{8,13})[.,]0+")
# Excel's scientific display: "5.511999998888E12", "5.511999998888E+12", pt-BR "5,511999998888E+12".
_SCIENTIFIC = re.compile(r"\d[.,](\d+)[eE]\+?(\d{1,2})")


def parse_phone(raw: str) -> BrazilianPhone:
    """Parse a Brazilian number written in any common form.

    Accepts `5511999998888`, `+55 (11) 99999-8888`, `11 99999 8888`, `(11) 3333-4444`, trunk and
    carrier prefixes (`011 …`, `0 21 11 …`, `0xx11 …`), `0055 …`, and spreadsheet floats
    (`5511999998888.0`, `5.511999998888E12`). An old 8-digit mobile (starting 6–9) gets its ninth
    digit. Raises `InvalidPhone` with the precise reason.
    """
    return BrazilianPhone(*_parse(raw))


def spoken_phone(e164: str) -> str:
    """The number as a person reads it out on a call: "DDD 11, 99999, 8888"."""
    phone = parse_phone(e164)
    return f"DDD {phone.ddd}, {phone.subscriber[:-4]}, {phone.subscriber[-4:]}"


def normalize_phone(raw: str) -> str:
    """The canonical E.164 digits of a Brazilian number (`parse_phone(raw).e164`)."""
    # The importer's common case, a bare mobile with or without 55, skips building the parts.
    if type(raw) is str and raw.isdigit() and raw.isascii():
        length = len(raw)
        if length == 11 and raw[2] == "9" and raw[:2] in DDD_STATES:
            return COUNTRY_CODE + raw
        if length == 13 and raw[4] == "9" and raw.startswith(COUNTRY_CODE) and raw[2:4] in DDD_STATES:
            return raw
    return _parse(raw)[0]


def is_mobile(raw: str) -> bool:
    """Whether a written number is a Brazilian mobile (WhatsApp needs one); False for a landline and
    for anything that is not a valid number."""
    try:
        return _parse(raw)[3]
    except InvalidInput:  # InvalidPhone, or an area code no state has
        return False


def is_valid_ddd(ddd: str) -> bool:
    """Whether `ddd` is one of Brazil's 67 area codes."""
    return ddd in DDD_STATES


def state_for_ddd(ddd: str) -> str:
    """The UF of an area code; raises `InvalidPhone` for an unknown one."""
    try:
        return DDD_STATES[ddd]
    except KeyError:
        raise InvalidPhone(f"unknown area code (DDD) {ddd[:4]!r}") from None


def timezone_for_state(uf: str) -> ZoneInfo:
    """The IANA zone of a state (case-insensitive UF); raises `InvalidState` for an unknown one."""
    try:
        return ZoneInfo(_STATE_ZONES[uf.upper()])
    except KeyError:
        raise InvalidState(f"unknown Brazilian state (UF) {uf[:4]!r}") from None


def timezone_for_phone(e164: str | None, default: ZoneInfo | None = None) -> ZoneInfo:
    """The customer's zone, from the phone's DDD.

    A missing or unparseable number falls back to `default`, else to `COBRANCA_TIMEZONE`.
    """
    if e164:
        try:
            state: str | None = _parse(e164)[4]
        except InvalidPhone:
            state = None
        if state is not None:
            return timezone_for_state(state)
    return default if default is not None else get_settings().default_zone


def phones_match(a: str, b: str) -> bool:
    """Whether two written numbers are the same line, tolerant of the mobile ninth digit.

    Unparseable numbers match nothing.
    """
    try:
        return _parse(a)[0] == _parse(b)[0]
    except InvalidPhone:
        return False


# --- Parsing internals ---

# BrazilianPhone's fields in order. Internals pass plain tuples: normalize_phone (the importer's hot
# path) never needs a BrazilianPhone.
_Parts = tuple[str, str, str, bool, str]


def _parse(raw: str) -> _Parts:
    if not isinstance(raw, str):
        raise InvalidPhone(f"phone number must be text, got {type(raw).__name__}")
    text = raw.strip()
    if text.isdigit() and text.isascii():  # fast path: bare digits, the importer's common case
        return _from_national(_strip_prefixes(text))
    if not text:
        raise InvalidPhone("phone number is empty")
    digits = _spreadsheet_number(text)
    if digits is not None:
        return _from_national(_strip_prefixes(digits))
    cleaned = text.translate(_SEPARATORS)
    if cleaned.startswith("+"):
        return _from_international(_only_digits(cleaned[1:]))
    if cleaned[:3].lower() == "0xx":  # "0xx11 …": 0 + a carrier of your choice + DDD
        return _from_national(_only_digits(cleaned[3:]))
    return _from_national(_strip_prefixes(_only_digits(cleaned)))


def _spreadsheet_number(text: str) -> str | None:
    """The digits of a number that went through a float ("…8888.0", "5.5119…E12"), else None."""
    whole = _EXCEL_FLOAT.fullmatch(text)
    if whole is not None:
        return whole.group(1)
    scientific = _SCIENTIFIC.fullmatch(text)
    if scientific is None:
        return None
    fraction, exponent = scientific.group(1).rstrip("0"), int(scientific.group(2))
    if len(fraction) > exponent:
        raise InvalidPhone("phone number in scientific notation is not a whole number")
    # Excel's display rounds to ~6 significant digits (5.512E+12): padding zeros would invent digits.
    if len(scientific.group(1)) < exponent:
        raise InvalidPhone("phone number in scientific notation has lost digits; export the column as text")
    return str(int(Decimal(text.replace(",", "."))))  # the regex admits only valid decimals


def _only_digits(text: str) -> str:
    if text.isdigit() and text.isascii():
        return text
    if not text:
        raise InvalidPhone("phone number has no digits")
    if any(char.isalpha() for char in text):
        raise InvalidPhone("phone number contains letters")
    raise InvalidPhone("phone number may contain only digits, spaces and + ( ) - .")


def _strip_prefixes(digits: str) -> str:
    """DDD + subscriber from a digits-only number that may carry 55, 00 55, 0 or 0 + carrier."""
    length = len(digits)
    if digits.startswith("00"):  # international dialling prefix
        return _national_part(digits[2:])
    if digits.startswith("0"):  # national trunk prefix, perhaps followed by a carrier code
        rest = digits[1:]
        # DDDs never start with 0, so after the trunk 0 the length tells the carrier code apart.
        return rest[2:] if len(rest) in (12, 13) else rest
    if length in (12, 13):
        if not digits.startswith(COUNTRY_CODE):
            raise InvalidPhone(f"a {length}-digit number must start with the country code 55")
        return digits[2:]
    # 10 or 11 digits: DDD + subscriber (DDD 55 is RS, so a leading 55 here is an area code).
    return digits


def _from_international(digits: str) -> _Parts:
    return _from_national(_national_part(digits))


def _national_part(digits: str) -> str:
    if not digits.startswith(COUNTRY_CODE):
        raise InvalidPhone("only Brazilian numbers (country code 55) are supported")
    national = digits[2:]
    if not 10 <= len(national) <= 11:
        raise InvalidPhone(
            f"after the country code 55 a number needs DDD + 8 or 9 digits, got {len(national)} digits"
        )
    return national


def _from_national(national: str) -> _Parts:
    """The phone for DDD + 8- or 9-digit subscriber number (digits only)."""
    length = len(national)
    if length < 10:
        raise InvalidPhone(
            f"phone number is too short ({length} digits): it needs the area code (DDD) and 8 or 9 digits"
        )
    if length > 11:
        raise InvalidPhone(f"phone number is too long ({length} digits)")
    ddd, subscriber = national[:2], national[2:]
    state = state_for_ddd(ddd)
    first = subscriber[0]
    if length == 11:
        if first != "9":
            raise InvalidPhone("a 9-digit subscriber number is a mobile and must start with 9")
        is_mobile = True
    elif first in "2345":
        is_mobile = False
    elif first in "6789":  # a mobile written before the 2012-2016 ninth-digit migration
        subscriber = "9" + subscriber
        is_mobile = True
    else:
        raise InvalidPhone("an 8-digit subscriber number must start with 2-5 (landline) or 6-9 (mobile)")
    return COUNTRY_CODE + ddd + subscriber, ddd, subscriber, is_mobile, state
