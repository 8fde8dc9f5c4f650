"""Amounts as customers write them, for the fallback dialogue: in figures ("R$ 1.234,56", "150,50",
"1000 reais", a bare "500"), in words ("mil e duzentos", "cento e cinquenta reais e trinta centavos")
or as a share of what is open ("metade").

`find_amount(text, total)` is pure: `total` is the open total the customer is answering about. Whether
the amount is acceptable for a promise (above zero, not above the total) is the promise rules' job.
Words and figures that count something else are not an amount: a day ("dia vinte", "dia 20", "sexta
20", "20/03"), a time ("às duas", "14h"), a period or instalments ("em dez dias", "2 parcelas"), a
document or an invoice number, and a lone "um"/"uma" ("um pouco").
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from shared.assistant.intents import normalize
from shared.domain.errors import InvalidInput
from shared.domain.money import CENTS, parse_money

# In figures: after "R$"; with its cents ("1.234,56"); or before "reais", its thousands dotted or not
# ("1.000 reais", "1000 reais", "150,50 reais").
_FIGURES: Final = re.compile(
    r"r\$\s*(\d[\d.]*(?:,\d{1,2})?)|(?<![\d/])(\d[\d.]*,\d{2})(?![\d/])"
    r"|(?<![\d/.,])(\d[\d.]*(?:,\d{1,2})?)\s*reais"
)
_WORDS: Final = {
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7,
    "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12, "treze": 13, "quatorze": 14, "catorze": 14,
    "quinze": 15, "dezesseis": 16, "dezessete": 17, "dezoito": 18, "dezenove": 19, "vinte": 20,
    "trinta": 30, "quarenta": 40, "cinquenta": 50, "sessenta": 60, "setenta": 70, "oitenta": 80,
    "noventa": 90, "cem": 100, "cento": 100, "duzentos": 200, "duzentas": 200, "trezentos": 300,
    "quatrocentos": 400, "quinhentos": 500, "seiscentos": 600, "setecentos": 700, "oitocentos": 800,
    "novecentos": 900, "mil": 1000,
}  # fmt: skip
_WORD: Final = "(?:" + "|".join(sorted(_WORDS, key=len, reverse=True)) + ")"
_RUN: Final = rf"{_WORD}(?: (?:e )?{_WORD})*"
_IN_WORDS: Final = re.compile(
    rf"(?<!\w)(?P<reais>{_RUN})(?: (?:reais|real|conto|contos))?(?: e (?P<cents>{_RUN}) centavos?)?(?!\w)"
)
_NOT_MONEY_BEFORE: Final = re.compile(r"\b(?:dia|dias|as|a partir das?)\s*$")
_NOT_MONEY_AFTER: Final = re.compile(r"^\s*(?:dias|semanas?|mes|meses|horas?|vezes|parcelas?|prestac)")
_HALF: Final = re.compile(r"\bmetade\b")
# A bare figure ("pago 500 sexta", "1.200 dia 20"): not a piece of a document, a date, an invoice number or
# a time, not a day ("dia 20", "no 20"), a period, instalments or a count of invoices.
_BARE: Final = re.compile(r"(?<![\w/.,:$-])(\d{1,3}(?:\.\d{3})+|\d{1,6})(?![\w/:%-]|[.,]\w)")
# A run of 8 or more digits, however grouped ("11 99999-8888", "529 982 247 25"): a phone or a document.
_LONG_RUN: Final = re.compile(r"\d[\d\s.()/-]*\d")
_BARE_NOT_BEFORE: Final = re.compile(r"\b(?:dia|dias|as|às|das|no)\s*$")
_WEEKDAY_BEFORE: Final = re.compile(
    r"\b(?:segunda|terça|terca|quarta|quinta|sexta|sábado|sabado|domingo)(?:-feira)?,?\s*$"
)
_BARE_NOT_AFTER: Final = re.compile(
    r"^\s*(?:dias|semanas?|m[eê]s|meses|horas?|vezes|x\b|parcelas?|prestac|faturas?|boletos?|contas?"
    r"|de (?:jan|fev|mar|abr|mai|jun|jul|ago|set|out|nov|dez))"
)


def find_amount(text: str, total: Decimal) -> Decimal | None:
    """The amount the customer names in `text` (two places), or None when it names none."""
    lowered = text.casefold()
    if match := _FIGURES.search(lowered):
        try:
            return parse_money(next(group for group in match.groups() if group))
        except InvalidInput:
            return None
    norm = normalize(text)
    if _HALF.search(norm):
        return (total / 2).quantize(CENTS, ROUND_HALF_UP)
    for match in _IN_WORDS.finditer(norm):
        words = match["reais"].split()
        if words in (["um"], ["uma"]) and not match["cents"]:
            continue
        if _NOT_MONEY_BEFORE.search(norm[: match.start()]) or _NOT_MONEY_AFTER.match(norm[match.end() :]):
            continue
        cents = _value(match["cents"].split()) if match["cents"] else 0
        return (Decimal(_value(words)) + Decimal(cents) / 100).quantize(CENTS)
    # Its punctuation kept ("14:30" is a time), phones and documents blanked out.
    scrubbed = _LONG_RUN.sub(lambda run: " " * len(run[0]) if _digits(run[0]) >= 8 else run[0], lowered)
    for match in _BARE.finditer(scrubbed):
        before = scrubbed[: match.start()]
        if _BARE_NOT_BEFORE.search(before) or _BARE_NOT_AFTER.match(scrubbed[match.end() :]):
            continue
        if len(match[1]) <= 2 and _WEEKDAY_BEFORE.search(before):  # "sexta 20": the day, not R$ 20
            continue
        return parse_money(match[1].replace(".", "") + ",00")
    return None


def _value(words: list[str]) -> int:
    """The number the words say: "mil e duzentos" → 1200, "dois mil e cem" → 2100."""
    thousands, current = 0, 0
    for word in words:
        if word == "e":
            continue
        if word == "mil":
            thousands += (current or 1) * 1000
            current = 0
        else:
            current += _WORDS[word]
    return thousands + current


def _digits(text: str) -> int:
    return sum(char.isdigit() for char in text)
