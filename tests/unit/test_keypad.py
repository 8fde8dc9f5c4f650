"""The bridge's keypad reader: Twilio `dtmf` digits → a CPF/CNPJ (check digits validated), a DDMM
date, or why the entry is neither."""

from __future__ import annotations

import pytest

from shared.domain.documents import DocumentKind
from shared.domain.keypad import (
    KeyedDate,
    KeyedDocument,
    KeyedInvalid,
    Keypad,
    keyed_words,
    read_back,
)

CPF = "52998224725"
CNPJ = "11444777000161"


def press_all(keypad: Keypad, keys: str) -> list[object]:
    return [entry for key in keys if (entry := keypad.press(key)) is not None]


def test_a_valid_cpf_ends_by_itself_at_eleven_digits() -> None:
    assert press_all(Keypad(), CPF) == [KeyedDocument(CPF, DocumentKind.CPF)]


def test_a_cnpj_goes_on_past_eleven_digits_and_ends_at_fourteen() -> None:
    assert press_all(Keypad(), CNPJ) == [KeyedDocument(CNPJ, DocumentKind.CNPJ)]


def test_hash_ends_an_entry_and_a_wrong_check_digit_is_reported() -> None:
    [entry] = press_all(Keypad(), "52998224724#")
    assert isinstance(entry, KeyedInvalid) and "dígitos verificadores" in entry.reason


def test_star_starts_over_and_a_lone_hash_is_ignored() -> None:
    assert press_all(Keypad(), "#123*" + CPF) == [KeyedDocument(CPF, DocumentKind.CPF)]


@pytest.mark.parametrize(("keys", "expected"), [("1503#", KeyedDate(15, 3)), ("2902#", KeyedDate(29, 2))])
def test_four_digits_and_hash_are_a_ddmm_date(keys: str, expected: KeyedDate) -> None:
    assert press_all(Keypad(), keys) == [expected]


@pytest.mark.parametrize("keys", ["3102#", "0013#", "123#", "12345#"])
def test_impossible_dates_and_odd_lengths_are_invalid(keys: str) -> None:
    [entry] = press_all(Keypad(), keys)
    assert isinstance(entry, KeyedInvalid) and entry.digits == keys[:-1]


def test_documents_are_read_back_in_the_groups_people_use() -> None:
    assert read_back(CPF) == "529, 982, 247, 25"
    assert read_back(CNPJ) == "11, 444, 777, 0001, 61"


def test_a_keyed_document_is_the_customers_words_with_the_document_in_them() -> None:
    said, note = keyed_words(KeyedDocument(CPF, DocumentKind.CPF))
    assert said == f"CPF digitado no teclado: {CPF}"
    assert note.startswith("[teclado] ") and "529, 982, 247, 25" in note
