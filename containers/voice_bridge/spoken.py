"""What the transcription of a phone call needs before the shared rules read it: documents said
digit by digit ("cinco dois nove, nove oito dois..."), in written groups ("529 982 247 25") or as
spoken numbers the way most Brazilians read a CPF out ("quinhentos e vinte e nove, novecentos e
oitenta e dois, duzentos e quarenta e sete, vinte e cinco") become the digit string the identity
check looks for (`shared.assistant.intents.documents_in`)."""

from __future__ import annotations

import re
from typing import Final, NamedTuple

DIGIT_WORDS: Final = {
    "zero": 0,
    "um": 1,
    "uma": 1,
    "dois": 2,
    "duas": 2,
    "tres": 3,
    "três": 3,
    "quatro": 4,
    "cinco": 5,
    "seis": 6,
    "meia": 6,  # "meia" is how Brazilians say six when reading numbers out
    "sete": 7,
    "oito": 8,
    "nove": 9,
}
TEENS: Final = {
    "dez": 10,
    "onze": 11,
    "doze": 12,
    "treze": 13,
    "catorze": 14,
    "quatorze": 14,
    "quinze": 15,
    "dezesseis": 16,
    "dezasseis": 16,
    "dezessete": 17,
    "dezoito": 18,
    "dezenove": 19,
}
TENS: Final = {
    "vinte": 20,
    "trinta": 30,
    "quarenta": 40,
    "cinquenta": 50,
    "cinqüenta": 50,
    "sessenta": 60,
    "setenta": 70,
    "oitenta": 80,
    "noventa": 90,
}
HUNDREDS: Final = {
    "cem": 100,  # exactly one hundred
    "cento": 100,  # one hundred and...
    "duzentos": 200,
    "duzentas": 200,
    "trezentos": 300,
    "trezentas": 300,
    "quatrocentos": 400,
    "quatrocentas": 400,
    "quinhentos": 500,
    "quinhentas": 500,
    "seiscentos": 600,
    "seiscentas": 600,
    "setecentos": 700,
    "setecentas": 700,
    "oitocentos": 800,
    "oitocentas": 800,
    "novecentos": 900,
    "novecentas": 900,
}
_TOKEN: Final = re.compile(r"\d+|[^\W\d_]+", re.UNICODE)
# What may stand between the groups of one document: punctuation, and the separators read aloud
# ("cento e onze ponto quatrocentos... traço trinta e cinco").
_JOINERS: Final = re.compile(r"^(?:[\s.,;:/\-]|ponto|traço|traco|hífen|hifen|barra)*$", re.IGNORECASE)
_BLANK: Final = re.compile(r"^\s*$")
# A run shorter than this is an ordinary number ("dois boletos", "dia 15"), left as spoken.
_MIN_DOCUMENT_DIGITS: Final = 9


class _Number(NamedTuple):
    """One number read from the tokens `first..last`: its digits as written."""

    first: int
    last: int
    digits: str


def digits_spoken(text: str) -> str:
    """`text` with every run of spoken digits / numbers / digit groups of 9+ digits written as one."""
    tokens = list(_TOKEN.finditer(text))
    numbers = _numbers(text, tokens)
    out: list[str] = []
    cursor = 0
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and _JOINERS.match(
            text[tokens[numbers[j].last].end() : tokens[numbers[j + 1].first].start()]
        ):
            j += 1
        digits = "".join(number.digits for number in numbers[i : j + 1])
        if len(digits) >= _MIN_DOCUMENT_DIGITS and j > i:
            out.append(text[cursor : tokens[numbers[i].first].start()])
            out.append(digits)
            cursor = tokens[numbers[j].last].end()
        i = j + 1
    out.append(text[cursor:])
    return "".join(out)


def _numbers(text: str, tokens: list[re.Match[str]]) -> list[_Number]:
    """Every number among the tokens, in order: written digits, a digit word, or a compound number
    up to 999 ("cento e onze", "vinte e cinco", "vinte cinco")."""
    words = [token.group().casefold() for token in tokens]
    found: list[_Number] = []
    i = 0
    while i < len(words):
        if words[i].isdigit():
            found.append(_Number(i, i, tokens[i].group()))
            i += 1
            continue
        number = _compound(text, tokens, words, i)
        if number is not None:
            found.append(number)
            i = number.last + 1
        elif words[i] in DIGIT_WORDS:
            found.append(_Number(i, i, str(DIGIT_WORDS[words[i]])))
            i += 1
        else:
            i += 1
    return found


def _compound(text: str, tokens: list[re.Match[str]], words: list[str], start: int) -> _Number | None:
    """A number with a hundreds, tens or teens word at `start`, and its "e ..." parts; None if the
    word there is none of those (a lone digit word is read digit by digit)."""
    value, i = 0, start
    word = words[i]
    if word in HUNDREDS:
        value = HUNDREDS[word]
        if word == "cem":
            return _Number(start, start, "100")
        nxt = _after_and(text, tokens, words, i)
        if nxt is None:
            return _Number(start, start, str(value))
        i, word = nxt, words[nxt]
        if word in TEENS:
            return _Number(start, i, str(value + TEENS[word]))
        if word in DIGIT_WORDS and word != "zero":
            return _Number(start, i, str(value + DIGIT_WORDS[word]))
        if word not in TENS:
            return _Number(start, start, str(value))
    if word in TEENS:
        return _Number(start, i, str(value + TEENS[word]))
    if word not in TENS:
        return None
    value += TENS[word]
    nxt = _after_and(text, tokens, words, i)
    if nxt is not None and words[nxt] in DIGIT_WORDS and words[nxt] != "zero":
        return _Number(start, nxt, str(value + DIGIT_WORDS[words[nxt]]))
    return _Number(start, i, str(value))


def _after_and(text: str, tokens: list[re.Match[str]], words: list[str], i: int) -> int | None:
    """The index of the word that continues a number after `i`: "e <word>" or, as people speed
    up, "<word>" right away; None at the end or after punctuation."""
    nxt = i + 2 if i + 1 < len(words) and words[i + 1] == "e" else i + 1
    if nxt >= len(words):
        return None
    gaps = (text[tokens[k - 1].end() : tokens[k].start()] for k in range(i + 1, nxt + 1))
    return nxt if all(_BLANK.match(gap) for gap in gaps) else None
