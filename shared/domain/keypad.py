"""What the caller types on the keypad (Twilio Media Streams `dtmf` events): a CPF, a CNPJ or a
promised date (DDMM). Pure: digits in, a finished entry out.

Two readers share it: the voice bridge collects the live call's `dtmf` events (`Keypad`: an entry ends
with `#`, or by itself at 11 digits when they are a valid CPF, or at 14 digits; `*` starts over), and
the TwiML keypad menu reads what `<Gather>` collected (`read_entry`). Check digits are validated here
(`shared.domain.documents`); a finished entry becomes the customer's words (the same path a spoken
document takes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from shared.domain.documents import (
    CNPJ_LENGTH,
    CPF_LENGTH,
    DocumentKind,
    InvalidDocument,
    document_kind,
    is_valid_cpf,
    normalize_document,
)

END_KEY: Final = "#"
RESTART_KEY: Final = "*"
DATE_LENGTH: Final = 4  # DDMM


@dataclass(frozen=True, slots=True)
class KeyedDocument:
    document: str  # normalized, check digits valid
    kind: DocumentKind


@dataclass(frozen=True, slots=True)
class KeyedDate:
    day: int
    month: int


@dataclass(frozen=True, slots=True)
class KeyedInvalid:
    digits: str
    reason: str  # pt-BR, for the assistant to explain


KeyedEntry = KeyedDocument | KeyedDate | KeyedInvalid


class MenuStep(StrEnum):
    """What the keypad menu (`shared.engine.voice_menu`) asked for: the digits posted are read as it."""

    DOCUMENT = "documento"
    MENU = "menu"
    DATE = "data"


class Keypad:
    """Collects one call's keypad digits into entries."""

    def __init__(self) -> None:
        self._digits: list[str] = []

    def press(self, key: str) -> KeyedEntry | None:
        """One key; the entry it finishes, if any."""
        if key == RESTART_KEY:
            self._digits.clear()
            return None
        if key == END_KEY:
            return self._finish() if self._digits else None
        if not (len(key) == 1 and key.isdigit()):
            return None  # Twilio sends only 0-9, * and #; anything else is ignored
        self._digits.append(key)
        typed = "".join(self._digits)
        if (len(typed) == CPF_LENGTH and is_valid_cpf(typed)) or len(typed) == CNPJ_LENGTH:
            return self._finish()
        return None

    def _finish(self) -> KeyedEntry:
        typed = "".join(self._digits)
        self._digits.clear()
        return read_entry(typed)


def read_entry(typed: str) -> KeyedEntry:
    """A finished run of digits: a document (11/14 digits), a DDMM date (4), or why it is neither."""
    if len(typed) == DATE_LENGTH:
        day, month = int(typed[:2]), int(typed[2:])
        try:
            date(2024, month, day)  # a leap year: 29/02 is a real day
        except ValueError:
            return KeyedInvalid(typed, f"{typed[:2]}/{typed[2:]} não é uma data válida (dia e mês, DDMM)")
        return KeyedDate(day, month)
    if len(typed) in (CPF_LENGTH, CNPJ_LENGTH):
        try:
            document = normalize_document(typed)
        except InvalidDocument:
            kind = "CPF" if len(typed) == CPF_LENGTH else "CNPJ"
            return KeyedInvalid(typed, f"o {kind} digitado não confere (dígitos verificadores)")
        return KeyedDocument(document, document_kind(document))
    return KeyedInvalid(
        typed, f"foram digitados {len(typed)} números; o CPF tem 11, o CNPJ 14 e a data 4 (DDMM)"
    )


def read_back(document: str) -> str:
    """The document in the groups a person reads it out: "529, 982, 247, 25" or
    "11, 444, 777, 0001, 61"."""
    groups: tuple[str, ...]
    if len(document) == CPF_LENGTH:
        groups = (document[0:3], document[3:6], document[6:9], document[9:])
    else:
        groups = (document[0:2], document[2:5], document[5:8], document[8:12], document[12:])
    return ", ".join(groups)


def keyed_words(entry: KeyedEntry) -> tuple[str, str]:
    """What a finished entry adds to the call: the customer's line (stored in the transcript and read
    by the identity check like a spoken document) and the note the assistant gets (pt-BR)."""
    if isinstance(entry, KeyedDocument):
        kind = entry.kind.value.upper()
        said = f"{kind} digitado no teclado: {entry.document}"
        return (
            said,
            f"[teclado] {said}. Leia o número de volta em grupos ({read_back(entry.document)}) e siga.",
        )
    if isinstance(entry, KeyedDate):
        said = f"Data digitada no teclado: {entry.day:02d}/{entry.month:02d}"
        return said, f"[teclado] {said} (dia/mês). Confirme a data com o cliente antes de registrar."
    said = f"Digitado no teclado: {entry.digits}"
    return said, f"[teclado] {said} — {entry.reason}. Peça para digitar de novo, terminando com #."
