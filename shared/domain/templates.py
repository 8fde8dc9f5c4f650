"""The texts a campaign may give for its outreach steps: plain pt-BR text with the placeholders
`{nome}` (the customer's name), `{empresa}` (the creditor's name) and `{cnpj}` (its CNPJ), nothing else
— no amount, no invoice: those wait until the person confirms who they are (CDC art. 42-A)."""

from __future__ import annotations

from string import Formatter
from typing import Annotated, Final

from pydantic import AfterValidator

PLACEHOLDERS: Final = ("nome", "empresa", "cnpj")
MAX_LENGTH: Final = 1000
OPT_OUT_WORD: Final = "PARAR"
_KNOWN: Final = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)


def check(template: str) -> str:
    """The template, if it is one: not blank, at most `MAX_LENGTH` characters, only the known
    placeholders (bare: no format spec or conversion) and the opt-out word. `ValueError` naming what
    is wrong otherwise (the API's 422)."""
    if not template.strip():
        raise ValueError("must not be blank")
    if len(template) > MAX_LENGTH:
        raise ValueError(f"must have at most {MAX_LENGTH} characters")
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in Formatter().parse(template)]
    except ValueError as exc:
        raise ValueError(f"malformed placeholder ({exc}); the placeholders are {_KNOWN}") from None
    for name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}}; the placeholders are {_KNOWN}")
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} takes no format; write it as {{{name}}}")
    if OPT_OUT_WORD not in template:
        raise ValueError(f"must tell the customer how to stop the messages (the word {OPT_OUT_WORD})")
    return template


def render(template: str, *, nome: str, empresa: str, cnpj: str) -> str:
    """The template with its placeholders filled in (`check` it first)."""
    return template.format(nome=nome, empresa=empresa, cnpj=cnpj)


# A campaign's text for a step, checked wherever it is given (the API, the domain model, the data layer).
Template = Annotated[str, AfterValidator(check)]
