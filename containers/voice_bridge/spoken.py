"""What the transcription of a phone call needs before the shared rules read it: documents said
digit by digit ("cinco dois nove, nove oito dois...") or in groups ("529 982 247 25") become the
digit string the identity check looks for (`shared.assistant.intents.documents_in`)."""

from __future__ import annotations

import re
from typing import Final

DIGIT_WORDS: Final = {
    "zero": "0",
    "um": "1",
    "uma": "1",
    "dois": "2",
    "duas": "2",
    "tres": "3",
    "três": "3",
    "quatro": "4",
    "cinco": "5",
    "seis": "6",
    "meia": "6",  # "meia" is how Brazilians say six when reading numbers out
    "sete": "7",
    "oito": "8",
    "nove": "9",
}
_TOKEN: Final = re.compile(r"\d+|[^\W\d_]+", re.UNICODE)
_JOINERS: Final = re.compile(r"^[\s.,;:/\-]*$")
# A run shorter than this is an ordinary number ("dois boletos", "dia 15"), left as spoken.
_MIN_DOCUMENT_DIGITS: Final = 9


def digits_spoken(text: str) -> str:
    """`text` with every run of spoken digits / digit groups of 9+ digits written as one number."""
    tokens = list(_TOKEN.finditer(text))
    out: list[str] = []
    cursor = 0
    i = 0
    while i < len(tokens):
        run_end = i
        digits = ""
        j = i
        while j < len(tokens):
            value = _digits_of(tokens[j].group())
            if value is None:
                break
            if j > i and not _JOINERS.match(text[tokens[j - 1].end() : tokens[j].start()]):
                break
            digits += value
            run_end = j
            j += 1
        if len(digits) >= _MIN_DOCUMENT_DIGITS and run_end > i:
            out.append(text[cursor : tokens[i].start()])
            out.append(digits)
            cursor = tokens[run_end].end()
            i = run_end + 1
        else:
            i += 1
    out.append(text[cursor:])
    return "".join(out)


def _digits_of(token: str) -> str | None:
    if token.isdigit():
        return token
    return DIGIT_WORDS.get(token.casefold())
