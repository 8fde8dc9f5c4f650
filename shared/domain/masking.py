"""Masking of personal identifiers (LGPD): CPF/CNPJ and phone numbers.

One home for the rule, used by every log line (`shared.core.observability`) and by the API wherever a
supervisor sees a document. `mask_text` is deliberately greedy — over-masking a number in a log is
cheap, leaking a CPF is not.
"""

from __future__ import annotations

import re

from shared.domain.documents import is_valid_cnpj

_DIGITS = re.compile(r"\D")


def mask_document(document: str) -> str:
    """Show only the middle of a document, as Brazilian public bodies do: `***.444.777-**`."""
    raw = re.sub(r"[^0-9A-Za-z]", "", document).upper()
    if len(raw) == 11:
        return f"***.{raw[3:6]}.{raw[6:9]}-**"
    if len(raw) == 14:
        return f"**.***.{raw[5:8]}/{raw[8:12]}-**"
    return _mask_generic(raw)


def mask_phone(phone: str) -> str:
    """Keep the country code, the area code and the last four digits: `5511*****8888`."""
    digits = _DIGITS.sub("", phone)
    if len(digits) >= 12 and digits.startswith("55"):
        return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]
    if len(digits) in (10, 11):
        return digits[:2] + "*" * (len(digits) - 6) + digits[-4:]
    return _mask_generic(digits)


def _mask_generic(value: str) -> str:
    keep = 2 if len(value) > 6 else 0
    return "*" * (len(value) - keep) + value[len(value) - keep :]


# Order matters: formatted documents first, then formatted phones, then bare digit runs.
_PATTERN = re.compile(
    r"""
    (?P<cpf>(?<![0-9])\d{3}\.\d{3}\.\d{3}-?\d{2}(?![0-9]))
  | (?P<cnpj>(?<![0-9A-Za-z])[0-9A-Za-z]{2}\.[0-9A-Za-z]{3}\.[0-9A-Za-z]{3}/[0-9A-Za-z]{4}-?\d{2}(?![0-9]))
  | (?P<phone>(?<![0-9])(?:\+?55[\s.-]?)?\(?\d{2}\)?[\s.-]?9?\d{4}[\s.-]\d{4}(?![0-9]))
  | (?P<digits>(?<![0-9])\d{10,14}(?![0-9]))
  | (?P<alnum>(?<![0-9A-Za-z])[0-9A-Za-z]{12}\d{2}(?![0-9A-Za-z]))
    """,
    re.VERBOSE,
)


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    value = match.group()
    if kind in ("cpf", "cnpj"):
        return mask_document(value)
    if kind == "phone":
        return mask_phone(value)
    if kind == "digits":
        # 11 or 14 bare digits may be a CPF/CNPJ or a phone: mask as both would, keep the tail.
        return "*" * (len(value) - 4) + value[-4:]
    # A bare alphanumeric token is only a CNPJ if its check digits say so (avoids masking ids).
    return mask_document(value) if is_valid_cnpj(value) else value


def mask_text(text: str) -> str:
    """Mask every CPF, CNPJ and phone number found anywhere in `text`."""
    return _PATTERN.sub(_replace, text)
