"""Brazilian taxpayer documents: CPF (people) and CNPJ (companies, numeric and alphanumeric).

SPEC §4: accept punctuation on input, store normalized (CPF = 11 digits, CNPJ = 14 upper-case
characters). The alphanumeric CNPJ (issued since July 2026) has 12 characters in [0-9A-Z] and two
numeric check digits; every character weighs `ord(c) - 48` in the mod-11 sums, so the numeric CNPJ
is the special case where all 12 are digits.

The importer validates hundreds of thousands of rows a second, so the happy path is tight: the
value is cleaned as ASCII bytes in one `bytes.translate`, check digits come from table lookups per
3-digit group (an alphanumeric CNPJ's are summed over its bytes with `map`), and the `is_valid_*`
predicates never raise. Error messages never echo the document (it is personal data that must not
reach logs unmasked).
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from operator import mul

from shared.domain.errors import InvalidInput

CPF_LENGTH = 11
CNPJ_LENGTH = 14


class DocumentKind(StrEnum):
    CPF = "cpf"
    CNPJ = "cnpj"


class InvalidDocument(InvalidInput):
    """A CPF/CNPJ that fails validation; the message says exactly why."""

    code = "invalid_document"


# Separators people type and spreadsheets add. ASCII input (nearly all) is cleaned as bytes, which
# also yields the code points the check digits are summed over; NBSP and narrow NBSP (copied from
# web pages) take the slower str path.
_ASCII_PUNCTUATION = b".-/ \t\r\n"
_PUNCTUATION = str.maketrans("", "", _ASCII_PUNCTUATION.decode() + "\xa0\u202f")

_CPF_WEIGHTS_1 = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_CPF_WEIGHTS_2 = (11, 10, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_WEIGHTS_1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_WEIGHTS_2 = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_ZERO = ord("0")


def _group_tables(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[dict[bytes, int], ...]:
    """For each 3-digit group of a numeric document's base: its shares of both check-digit sums.

    A share pair is packed `first << 10 | second` (a second sum never reaches 1024), so the sums
    of a CPF take three lookups and an addition instead of two 9-term products (CPFs are ~90% of
    an import). The second sum's last weight, 2, applies to the first check digit: added apart.
    """
    tables = []
    for start in range(0, len(first), 3):
        table = {}
        for number in range(1000):
            group = b"%03d" % number
            values = [code - _ZERO for code in group]
            table[group] = sum(map(mul, values, first[start : start + 3])) << 10 | sum(
                map(mul, values, second[start : start + 3])
            )
        tables.append(table)
    return tuple(tables)


# 7,000 entries: built on the first check (≈5 ms), not by every process that imports this module.
@cache
def _cpf_tables() -> tuple[dict[bytes, int], ...]:
    return _group_tables(_CPF_WEIGHTS_1, _CPF_WEIGHTS_2)


@cache
def _cnpj_tables() -> tuple[dict[bytes, int], ...]:
    return _group_tables(_CNPJ_WEIGHTS_1, _CNPJ_WEIGHTS_2)


# remainder of a mod-11 sum → the check digit's code point
_CHECK_DIGIT_CODE = bytes(_ZERO + (0 if remainder < 2 else 11 - remainder) for remainder in range(11))
# An alphanumeric CNPJ's characters weigh `code point - 48`: summing code points and subtracting
# 48 x sum(weights) (precomputed) once saves a subtraction per character.
_CNPJ_OFFSET_1, _CNPJ_OFFSET_2 = (_ZERO * sum(weights) for weights in (_CNPJ_WEIGHTS_1, _CNPJ_WEIGHTS_2))


def _check_digit(code_points: bytes, weights: tuple[int, ...], offset: int) -> int:
    """The mod-11 check digit over the first len(weights) characters (map stops at the shorter)."""
    remainder = (sum(map(mul, code_points, weights)) - offset) % 11
    return 0 if remainder < 2 else 11 - remainder


def _clean(raw: str) -> bytes | None:
    """The ASCII bytes of `raw` without punctuation and whitespace; None if anything non-ASCII is left."""
    if raw.isascii():
        return raw.encode("ascii").translate(None, _ASCII_PUNCTUATION)
    cleaned = raw.translate(_PUNCTUATION)
    return cleaned.encode("ascii") if cleaned.isascii() else None


def _cpf_problem(candidate: bytes) -> str | None:
    """Why an 11-character alphanumeric candidate is not a valid CPF, or None if it is."""
    if not candidate.isdigit():
        return "CPF must contain only digits"
    if candidate.count(candidate[0]) == CPF_LENGTH:
        return "CPF with all digits equal is invalid"
    group_0, group_1, group_2 = _cpf_tables()
    sums = group_0[candidate[:3]] + group_1[candidate[3:6]] + group_2[candidate[6:9]]
    first = candidate[9]
    if _CHECK_DIGIT_CODE[(sums >> 10) % 11] != first or (
        _CHECK_DIGIT_CODE[((sums & 1023) + 2 * (first - _ZERO)) % 11] != candidate[10]
    ):
        return "CPF check digits do not match"
    return None


def _cnpj_problem(candidate: bytes) -> str | None:
    """Why a 14-character upper-case alphanumeric candidate is not a valid CNPJ, or None if it is."""
    if not candidate[12:].isdigit():
        return "CNPJ check digits must be numeric"
    if candidate.count(candidate[0]) == CNPJ_LENGTH:
        return "CNPJ with all characters equal is invalid"
    first = candidate[12]
    if candidate[:12].isdigit():
        group_0, group_1, group_2, group_3 = _cnpj_tables()
        sums = (
            group_0[candidate[:3]]
            + group_1[candidate[3:6]]
            + group_2[candidate[6:9]]
            + group_3[candidate[9:12]]
        )
        matches = _CHECK_DIGIT_CODE[(sums >> 10) % 11] == first and (
            _CHECK_DIGIT_CODE[((sums & 1023) + 2 * (first - _ZERO)) % 11] == candidate[13]
        )
    else:
        matches = (
            _check_digit(candidate, _CNPJ_WEIGHTS_1, _CNPJ_OFFSET_1) == first - _ZERO
            and _check_digit(candidate, _CNPJ_WEIGHTS_2, _CNPJ_OFFSET_2) == candidate[13] - _ZERO
        )
    return None if matches else "CNPJ check digits do not match"


def _problem(raw: object) -> tuple[bytes, str | None]:
    """The normalized candidate (ASCII bytes) and why it is invalid (None when valid)."""
    if not isinstance(raw, str):
        return b"", f"document must be text, got {type(raw).__name__}"
    candidate = _clean(raw)
    if candidate == b"":
        return b"", "document is empty"
    # bytes.isalnum is ASCII-only: no non-ASCII digits or letters ("١", "ß") get through.
    if candidate is None or not candidate.isalnum():
        return b"", "document may contain only digits, letters A-Z and the punctuation . - /"
    length = len(candidate)
    if length == CPF_LENGTH:
        return candidate, _cpf_problem(candidate)
    if length == CNPJ_LENGTH:
        candidate = candidate.upper()
        return candidate, _cnpj_problem(candidate)
    return b"", f"document must have 11 (CPF) or 14 (CNPJ) characters, got {length}"


def normalize_document(raw: str) -> str:
    """The stored form of a CPF (11 digits) or CNPJ (14 upper-case characters).

    Accepts punctuation and spaces (`111.444.777-35`, `12.abc.345/01de-35`). Raises
    `InvalidDocument` with the precise reason when the value is not a valid CPF or CNPJ.
    """
    if type(raw) is str and raw.isascii():  # the common case, a valid ASCII document, inlined
        candidate = raw.encode("ascii").translate(None, _ASCII_PUNCTUATION)
        length = len(candidate)
        if length == CPF_LENGTH:
            if _cpf_problem(candidate) is None:
                return candidate.decode("ascii")
        elif length == CNPJ_LENGTH and candidate.isalnum():
            candidate = candidate.upper()
            if _cnpj_problem(candidate) is None:
                return candidate.decode("ascii")
    candidate, problem = _problem(raw)
    if problem is not None:
        raise InvalidDocument(problem)
    return candidate.decode("ascii")


def document_kind(normalized: str) -> DocumentKind:
    """CPF or CNPJ, by length (punctuation ignored). Does not check the check digits."""
    length = len(normalized.translate(_PUNCTUATION))
    if length == CPF_LENGTH:
        return DocumentKind.CPF
    if length == CNPJ_LENGTH:
        return DocumentKind.CNPJ
    raise InvalidDocument(f"document must have 11 (CPF) or 14 (CNPJ) characters, got {length}")


def is_valid_cpf(value: str) -> bool:
    """Whether `value` (punctuation allowed) is a valid CPF. Never raises."""
    candidate, problem = _problem(value)
    return problem is None and len(candidate) == CPF_LENGTH


def is_valid_cnpj(value: str) -> bool:
    """Whether `value` (punctuation allowed, any letter case) is a valid numeric or alphanumeric CNPJ.

    Never raises.
    """
    candidate, problem = _problem(value)
    return problem is None and len(candidate) == CNPJ_LENGTH


def format_document(normalized: str) -> str:
    """The conventional written form: `111.444.777-35` or `12.ABC.345/01DE-35`.

    The value is (re)normalized first, so punctuated input is fine; invalid documents raise
    `InvalidDocument`.
    """
    doc = normalize_document(normalized)
    if len(doc) == CPF_LENGTH:
        return f"{doc[:3]}.{doc[3:6]}.{doc[6:9]}-{doc[9:]}"
    return f"{doc[:2]}.{doc[2:5]}.{doc[5:8]}/{doc[8:12]}-{doc[12:]}"
