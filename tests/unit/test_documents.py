import random

import pytest

from shared.domain.documents import (
    DocumentKind,
    InvalidDocument,
    document_kind,
    format_document,
    is_valid_cnpj,
    is_valid_cpf,
    normalize_document,
)
from shared.domain.errors import InvalidInput

_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _reference_dv(base: str, weights: list[int]) -> str:
    """An independent, deliberately plain implementation of the mod-11 rule (SPEC §4)."""
    total = sum((ord(char) - 48) * weight for char, weight in zip(base, weights, strict=True))
    remainder = total % 11
    return "0" if remainder < 2 else str(11 - remainder)


def _reference_cnpj(base12: str) -> str:
    first = _reference_dv(base12, [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    return base12 + first + _reference_dv(base12 + first, [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])


def _reference_cpf(base9: str) -> str:
    first = _reference_dv(base9, list(range(10, 1, -1)))
    return base9 + first + _reference_dv(base9 + first, list(range(11, 1, -1)))


# --- CPF ---


def test_punctuated_cpf_normalizes_to_eleven_digits() -> None:
    assert normalize_document("111.444.777-35") == "11144477735"


def test_bare_and_spaced_cpf_normalize_to_the_same_value() -> None:
    assert normalize_document("11144477735") == "11144477735"
    assert normalize_document(" 111 444 777 35\xa0") == "11144477735"


def test_cpf_with_leading_zero_keeps_it() -> None:
    assert normalize_document("012.345.678-90") == "01234567890"


@pytest.mark.parametrize("digit", "0123456789")
def test_cpf_with_all_digits_equal_is_invalid(digit: str) -> None:
    # 000.000.000-00 and friends pass the mod-11 arithmetic but are not real CPFs.
    with pytest.raises(InvalidDocument, match="CPF with all digits equal is invalid"):
        normalize_document(digit * 11)
    assert not is_valid_cpf(digit * 11)


@pytest.mark.parametrize("wrong", ["111.444.777-45", "111.444.777-36"], ids=["first_dv", "second_dv"])
def test_cpf_with_a_wrong_check_digit_is_invalid(wrong: str) -> None:
    with pytest.raises(InvalidDocument, match="CPF check digits do not match"):
        normalize_document(wrong)
    assert not is_valid_cpf(wrong)


def test_cpf_with_a_letter_is_rejected_as_non_numeric() -> None:
    with pytest.raises(InvalidDocument, match="CPF must contain only digits"):
        normalize_document("111.444.77A-35")


def test_cpf_check_digits_agree_with_reference_for_random_bases() -> None:
    rng = random.Random(42)
    for _ in range(300):
        cpf = _reference_cpf("".join(rng.choices("0123456789", k=9)))
        if len(set(cpf)) == 1:
            continue
        assert is_valid_cpf(cpf), cpf
        wrong_last = cpf[:10] + str((int(cpf[10]) + 1) % 10)
        assert not is_valid_cpf(wrong_last), wrong_last


# --- CNPJ ---


def test_numeric_cnpj_normalizes_to_fourteen_digits() -> None:
    assert normalize_document("11.222.333/0001-81") == "11222333000181"
    assert is_valid_cnpj("11.222.333/0001-81")


def test_alphanumeric_cnpj_is_valid() -> None:
    assert normalize_document("12.ABC.345/01DE-35") == "12ABC34501DE35"
    assert is_valid_cnpj("12.ABC.345/01DE-35")


def test_lowercase_alphanumeric_cnpj_normalizes_to_upper_case() -> None:
    assert normalize_document("12.abc.345/01de-35") == "12ABC34501DE35"
    assert is_valid_cnpj("12abc34501de35")


@pytest.mark.parametrize(
    "wrong",
    ["11.222.333/0001-91", "11.222.333/0001-82", "12.ABC.345/01DE-45", "12.ABC.345/01DE-36"],
    ids=["numeric_first_dv", "numeric_second_dv", "alpha_first_dv", "alpha_second_dv"],
)
def test_cnpj_with_a_wrong_check_digit_is_invalid(wrong: str) -> None:
    with pytest.raises(InvalidDocument, match="CNPJ check digits do not match"):
        normalize_document(wrong)
    assert not is_valid_cnpj(wrong)


@pytest.mark.parametrize("value", ["12.ABC.345/01DE-3A", "12ABC34501DEAB", "12ABC34501DEa5"])
def test_cnpj_with_letters_in_the_check_digits_is_invalid(value: str) -> None:
    with pytest.raises(InvalidDocument, match="CNPJ check digits must be numeric"):
        normalize_document(value)
    assert not is_valid_cnpj(value)


@pytest.mark.parametrize("char", "0123456789")
def test_cnpj_with_all_characters_equal_is_invalid(char: str) -> None:
    with pytest.raises(InvalidDocument, match="CNPJ with all characters equal is invalid"):
        normalize_document(char * 14)


def test_alphanumeric_cnpj_check_digits_agree_with_reference_for_random_bases() -> None:
    rng = random.Random(7)
    for _ in range(300):
        cnpj = _reference_cnpj("".join(rng.choices(_ALPHANUMERIC, k=12)))
        assert normalize_document(cnpj.lower()) == cnpj
        wrong_first = cnpj[:12] + str((int(cnpj[12]) + 1) % 10) + cnpj[13]
        assert not is_valid_cnpj(wrong_first), wrong_first


def test_letter_values_are_ascii_minus_48_not_base36() -> None:
    # Reading 'A' as 10 (base 36) instead of 17 gives "12ABC34501DE" other check digits; they must fail.
    base = "12ABC34501DE"
    as_base36 = "".join(chr(48 + int(char, 36)) for char in base)
    base36_dvs = _reference_cnpj(as_base36)[12:]
    assert base36_dvs != "35"
    assert not is_valid_cnpj(base + base36_dvs)


# --- shape errors ---


@pytest.mark.parametrize(
    ("value", "length"),
    [
        ("123456789", 9),
        ("1114447773", 10),
        ("111444777350", 12),
        ("1122233300018", 13),
        ("112223330001811", 15),
    ],
)
def test_document_of_wrong_length_names_the_length(value: str, length: int) -> None:
    with pytest.raises(
        InvalidDocument, match=rf"document must have 11 \(CPF\) or 14 \(CNPJ\) characters, got {length}$"
    ):
        normalize_document(value)


@pytest.mark.parametrize("value", ["", "  ", ".-/"])
def test_empty_document_is_rejected(value: str) -> None:
    with pytest.raises(InvalidDocument, match="document is empty"):
        normalize_document(value)


@pytest.mark.parametrize("value", ["111#444#777#35", "111.444.777_35", "١١١٤٤٤٧٧٧٣٥"])
def test_document_with_foreign_characters_is_rejected(value: str) -> None:
    with pytest.raises(InvalidDocument, match="may contain only digits, letters A-Z"):
        normalize_document(value)


def test_non_text_document_is_rejected_not_crashing() -> None:
    with pytest.raises(InvalidDocument, match="document must be text, got int"):
        normalize_document(11144477735)  # type: ignore[arg-type]


def test_invalid_document_is_an_invalid_input_with_a_stable_code() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_document("123")
    assert caught.value.code == "invalid_document"


def test_error_message_does_not_echo_the_document() -> None:
    with pytest.raises(InvalidDocument) as caught:
        normalize_document("111.444.777-36")
    assert "11144477736" not in str(caught.value) and "111.444" not in str(caught.value)


# --- predicates, kind, formatting ---


def test_validity_predicates_do_not_cross_kinds() -> None:
    assert not is_valid_cnpj("111.444.777-35")
    assert not is_valid_cpf("11.222.333/0001-81")


@pytest.mark.parametrize("value", ["", "abc", "1", None, 12])
def test_validity_predicates_never_raise(value: object) -> None:
    assert not is_valid_cpf(value)  # type: ignore[arg-type]
    assert not is_valid_cnpj(value)  # type: ignore[arg-type]


def test_document_kind_is_decided_by_length() -> None:
    assert document_kind("11144477735") is DocumentKind.CPF
    assert document_kind("12ABC34501DE35") is DocumentKind.CNPJ
    with pytest.raises(InvalidDocument, match="got 5"):
        document_kind("12345")


def test_format_document_writes_the_conventional_masks() -> None:
    assert format_document("11144477735") == "111.444.777-35"
    assert format_document("12ABC34501DE35") == "12.ABC.345/01DE-35"
    assert format_document("11222333000181") == "11.222.333/0001-81"


def test_format_document_rejects_an_invalid_document() -> None:
    with pytest.raises(InvalidDocument):
        format_document("11144477736")
