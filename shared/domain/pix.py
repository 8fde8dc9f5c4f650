"""Static Pix BR Code ("Pix copia e cola"), the payment code offered when the CRM has none (SPEC §4).

The BR Code is an EMV® QRCPS payload: a run of `ID (2 digits) + length (2 digits) + value` fields,
closed by field 63 holding the CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF) of the
whole payload up to and including "6304", in four upper-case hex digits. Fields written here, as the
Banco Central's "Manual de Padrões para Iniciação do Pix" lays them out for a static code:

    00 payload format "01" · 26 merchant account (00 GUI "br.gov.bcb.pix", 01 Pix key, 02 description)
    52 category code "0000" · 53 currency "986" (BRL) · 54 amount (optional) · 58 country "BR"
    59 merchant name (≤ 25) · 60 merchant city (≤ 15) · 62 additional data (05 txid, "***" = none)
    63 CRC16
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Final

from shared.domain.errors import InvalidInput

GUI: Final = "br.gov.bcb.pix"
NO_TXID: Final = "***"
_MAX_NAME: Final = 25
_MAX_CITY: Final = 15
_MAX_TXID: Final = 25
_MAX_FIELD: Final = 99
_TXID: Final = re.compile(r"[A-Za-z0-9]{1,25}")


class InvalidPixData(InvalidInput):
    """A Pix key, merchant name, city, amount or txid that cannot go into a BR Code."""

    code = "invalid_pix_data"


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def static_brcode(
    *,
    key: str,
    merchant_name: str,
    merchant_city: str,
    amount: Decimal | None = None,
    txid: str | None = None,
    description: str | None = None,
) -> str:
    """The "copia e cola" text of a static Pix charge to `key`, optionally for a fixed `amount`.

    Name and city are reduced to ASCII (accents dropped) and cut to the lengths the standard allows;
    `txid` (letters and digits, ≤ 25) defaults to "***" (no identifier). Raises `InvalidPixData` for an
    empty key/name/city, a non-positive amount or an invalid txid.
    """
    key = key.strip()
    if not key:
        raise InvalidPixData("the Pix key is empty")
    name = _ascii(merchant_name)[:_MAX_NAME].strip()
    city = _ascii(merchant_city)[:_MAX_CITY].strip()
    if not name or not city:
        raise InvalidPixData("the merchant name and city must not be empty")
    txid = txid or NO_TXID
    if txid != NO_TXID and not _TXID.fullmatch(txid):
        raise InvalidPixData("the txid must be 1 to 25 letters or digits")

    account = _field("00", GUI) + _field("01", key)
    if description:
        room = _MAX_FIELD - len(account) - 4
        if room > 0:
            account += _field("02", _ascii(description)[:room])
    payload = (
        _field("00", "01")
        + _field("26", account)
        + _field("52", "0000")
        + _field("53", "986")
        + (_field("54", _amount(amount)) if amount is not None else "")
        + _field("58", "BR")
        + _field("59", name)
        + _field("60", city)
        + _field("62", _field("05", txid))
        + "6304"
    )
    return payload + f"{crc16_ccitt_false(payload.encode('utf-8')):04X}"


def _field(field_id: str, value: str) -> str:
    if len(value) > _MAX_FIELD:
        raise InvalidPixData(f"BR Code field {field_id} is longer than {_MAX_FIELD} characters")
    return f"{field_id}{len(value):02d}{value}"


def _amount(amount: Decimal) -> str:
    if not amount.is_finite() or amount <= 0:
        raise InvalidPixData("a Pix amount must be above zero")
    return f"{amount.quantize(Decimal('0.01'))}"


def _ascii(text: str) -> str:
    """Accents dropped, anything else outside printable ASCII removed ("São Paulo" → "Sao Paulo")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if " " <= ch <= "~").strip()
