"""The texts a campaign may give for its outreach steps: plain pt-BR text with the placeholders
`{nome}` (the customer's name), `{empresa}` (the creditor's name) and `{cnpj}` (its CNPJ), nothing else
— no amount, no invoice: those wait until the person confirms who they are (CDC art. 42-A).

On WhatsApp's Cloud API (`EVOLUTION_INTEGRATION=cloud`) a business-initiated message is a Meta-approved
template instead (`WhatsAppTemplate`), its body parameters the same placeholders in the same order
(`template_parameters`); free text only inside the customer-service window (`in_service_window`).
"""

# No `from __future__ import annotations` here: pydantic would compile and evaluate every field's
# annotation string when the class is created, at each cold start of every handler.
from datetime import datetime, timedelta
from string import Formatter
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

PLACEHOLDERS: Final = ("nome", "empresa", "cnpj")
MAX_LENGTH: Final = 1000
OPT_OUT_WORD: Final = "PARAR"
# WhatsApp's customer-service window: free text for this long after the customer's last message.
SERVICE_WINDOW: Final = timedelta(hours=24)
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


class WhatsAppTemplate(BaseModel):
    """A Meta-approved template a `cloud` campaign sends for one step: its name and language code."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$", description="The template's name as approved by Meta")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$", description='Its language code, e.g. "pt_BR"')


def template_parameters(*, nome: str, empresa: str, cnpj: str) -> list[str]:
    """A template's body parameters, in order: {{1}} the customer's name, {{2}} the creditor, {{3}}
    its CNPJ (left out when none is configured: Meta refuses an empty parameter)."""
    return [nome, empresa, cnpj] if cnpj else [nome, empresa]


def in_service_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether the customer wrote within `SERVICE_WINDOW` of `now` (free text may be sent)."""
    return last_inbound_at is not None and now - last_inbound_at < SERVICE_WINDOW
