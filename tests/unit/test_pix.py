"""Static Pix BR Code (EMV QRCPS): field layout and the CRC-16/CCITT-FALSE in field 63."""

from __future__ import annotations

import binascii
import re
from decimal import Decimal

import pytest

from shared.domain.pix import InvalidPixData, crc16_ccitt_false, static_brcode

# The example of the Banco Central's "Manual de Padrões para Iniciação do Pix" (static code, no amount).
BCB_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
    "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)


def fields(payload: str) -> dict[str, str]:
    """Split a BR Code into its top-level ID → value fields (independent of the code under test)."""
    found, i = {}, 0
    while i < len(payload):
        tag, length = payload[i : i + 2], int(payload[i + 2 : i + 4])
        found[tag] = payload[i + 4 : i + 4 + length]
        i += 4 + length
    return found


def test_crc_matches_the_standard_check_value_and_an_independent_implementation():
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the catalogued check value of CRC-16/CCITT-FALSE
    data = b"00020126360014br.gov.bcb.pix6304"
    assert crc16_ccitt_false(data) == binascii.crc_hqx(data, 0xFFFF)


def test_reproduces_the_central_bank_example_byte_for_byte():
    code = static_brcode(
        key="123e4567-e12b-12d1-a456-426655440000", merchant_name="Fulano de Tal", merchant_city="BRASILIA"
    )
    assert code == BCB_EXAMPLE


def test_a_code_with_an_amount_and_txid_has_every_field_and_a_valid_crc():
    code = static_brcode(
        key="cobranca@trtelecom.com.br",
        merchant_name="TR Telecom Comunicações Ltda",
        merchant_city="São Paulo",
        amount=Decimal("179.8"),
        txid="FAT202501",
    )

    top = fields(code)
    assert list(top) == ["00", "26", "52", "53", "54", "58", "59", "60", "62", "63"]
    assert top["00"] == "01" and top["52"] == "0000" and top["53"] == "986" and top["58"] == "BR"
    assert fields(top["26"]) == {"00": "br.gov.bcb.pix", "01": "cobranca@trtelecom.com.br"}
    assert top["54"] == "179.80"
    assert top["59"] == "TR Telecom Comunicacoes L"  # ASCII, 25 characters at most
    assert top["60"] == "Sao Paulo"
    assert fields(top["62"]) == {"05": "FAT202501"}
    body = code[:-4]
    assert body.endswith("6304")
    assert top["63"] == f"{binascii.crc_hqx(body.encode(), 0xFFFF):04X}"


def test_the_crc_is_four_upper_case_hex_digits():
    code = static_brcode(key="+5511999998888", merchant_name="X", merchant_city="Y", amount=Decimal("1"))
    assert re.fullmatch(r"[0-9A-F]{4}", code[-4:])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": " "},
        {"merchant_name": "  "},
        {"amount": Decimal("0")},
        {"amount": Decimal("-5")},
        {"txid": "has space"},
        {"key": "k" * 90},
    ],
    ids=["empty-key", "empty-name", "zero", "negative", "bad-txid", "key-too-long"],
)
def test_invalid_data_is_refused(kwargs):
    arguments = {"key": "chave", "merchant_name": "Loja", "merchant_city": "Recife"} | kwargs
    with pytest.raises(InvalidPixData):
        static_brcode(**arguments)
