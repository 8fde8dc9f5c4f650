"""The cadence's pure rules: which message a contact sends, the contact budget, and the campaign's
own texts (placeholders checked, filled in)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain import templates
from shared.domain.cadence import budget_spent, engagement_moves, message_step
from shared.domain.models import (
    Campaign,
    Channel,
    ContactMethod,
    Invoice,
    MessageStep,
    Outcome,
    Target,
    TargetState,
)

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
CAMPAIGN = Campaign(
    id="C1",
    name="Março",
    contact_method=ContactMethod.WHATSAPP_PRIMARY,
    allowed_methods=[Channel.WHATSAPP],
    fallback_order=[Channel.WHATSAPP],
    max_contacts=4,
    created_at=NOW,
    updated_at=NOW,
)


def case(contacts: int, outcome: Outcome | None = None, state: TargetState = TargetState.PENDING) -> Target:
    return Target(
        id="T1",
        campaign_id="C1",
        client_name="Ana",
        phone="5511970000001",
        document="52998224725",
        invoices=[Invoice(amount="89.90")],
        contact_count=contacts,
        outcome=outcome,
        state=state,
        next_attempt_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("contacts", "outcome", "step"),
    [
        (0, None, MessageStep.FIRST_CONTACT),
        (1, Outcome.ANSWERED, MessageStep.FOLLOW_UP),
        (2, Outcome.NO_ANSWER, MessageStep.FOLLOW_UP),
        (1, Outcome.PROMISE_BROKEN, MessageStep.AFTER_BROKEN_PROMISE),
        (3, Outcome.PROMISE_BROKEN, MessageStep.LAST_NOTICE),  # the last unit: the last notice
        (3, Outcome.ANSWERED, MessageStep.LAST_NOTICE),
    ],
)
def test_the_step_of_the_next_contact(contacts: int, outcome: Outcome | None, step: MessageStep) -> None:
    assert message_step(case(contacts, outcome), CAMPAIGN) is step


def test_the_budget_is_spent_at_max_contacts() -> None:
    assert not budget_spent(case(3), CAMPAIGN)
    assert budget_spent(case(4), CAMPAIGN)


def test_a_reply_moves_a_case_awaiting_it_or_waiting_to_retry_but_not_one_following_up() -> None:
    assert engagement_moves(case(1, state=TargetState.CONTACTED))
    assert engagement_moves(case(1, Outcome.NO_ANSWER))
    assert engagement_moves(case(1, Outcome.VOICEMAIL_LEFT))  # the voicemail asked for a WhatsApp reply
    assert not engagement_moves(case(1, Outcome.ANSWERED))
    assert not engagement_moves(case(1, Outcome.PAYMENT_CLAIMED))
    assert not engagement_moves(case(1, Outcome.PAID, state=TargetState.COMPLETED))


def test_a_template_is_filled_in_with_its_placeholders() -> None:
    text = templates.check("Oi {nome}, aqui é a {empresa} ({cnpj}). Responda PARAR.")
    rendered = templates.render(text, nome="Ana {x}", empresa="TR Telecom", cnpj="11.222.333/0001-81")
    assert rendered == "Oi Ana {x}, aqui é a TR Telecom (11.222.333/0001-81). Responda PARAR."


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Oi {nome}, você deve {valor}. PARAR", "{valor}"),
        ("Oi {0}. PARAR", "{0}"),
        ("Oi {nome.__class__}. PARAR", "{nome.__class__}"),
        ("Oi {nome!r}. PARAR", "{nome}"),
        ("Oi {nome:>20}. PARAR", "{nome}"),
        ("Oi {nome. PARAR", "malformed"),
        ("Oi {nome}, tudo bem?", "PARAR"),
        ("   ", "blank"),
    ],
)
def test_a_bad_template_is_refused_naming_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        templates.check(text)


def test_every_default_text_names_the_creditor_shows_no_amount_and_says_how_to_stop() -> None:
    from shared.engine.outreach_texts import default_templates

    defaults = default_templates(assistant="Lia", document="CPF", with_cnpj=True)

    assert set(defaults) == set(MessageStep)
    assert len(set(defaults.values())) == len(MessageStep)  # a different text per step
    for text in defaults.values():
        assert templates.check(text) == text
        assert "Lia, assistente virtual da {empresa} (CNPJ {cnpj})" in text
        assert "R$" not in text and "fatura" not in text.lower()
        assert "confirmar o CPF do titular" in text
