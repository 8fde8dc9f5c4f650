"""`display_name`: the one bound on a name that came from outside (issue 14, finding 7)."""

from __future__ import annotations

import pytest

from shared.assistant import texts
from shared.domain.names import MAX_DISPLAY_NAME_CHARS, display_name


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Maria da Silva", "Maria da Silva"),
        ("  MARIA \t DA\nSILVA  ", "MARIA DA SILVA"),
        ("Jo\u200bão\x00", "Jo ão"),
        ("\u202e\x00\n\t", None),
        ("", None),
        (None, None),
        ("Ana 😀", "Ana 😀"),
    ],
)
def test_names_are_cleaned(raw: str | None, shown: str | None) -> None:
    assert display_name(raw) == shown


def test_a_200kb_name_is_cut_to_the_bound() -> None:
    assert display_name("P" * 200_000) == "P" * MAX_DISPLAY_NAME_CHARS


def test_a_long_name_is_cut_at_a_word_boundary() -> None:
    name = "Maria " + "Aparecida " * 10
    shown = display_name(name)
    assert shown is not None
    assert len(shown) <= MAX_DISPLAY_NAME_CHARS
    assert name.startswith(shown) and shown.endswith("Aparecida")


def test_greetings_never_carry_more_than_the_bound() -> None:
    assert texts.first_name("P" * 200_000) == "P" + "p" * (MAX_DISPLAY_NAME_CHARS - 1)
    assert texts.first_name("\x00\u202e") == ""
    assert texts.first_name("MARIA DA SILVA") == "Maria"
    assert len(texts.greeting("P" * 200_000)) < len(texts.greeting(None)) + MAX_DISPLAY_NAME_CHARS + 3
