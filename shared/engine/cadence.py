"""The cadence until resolution: a customer who engaged (replied on WhatsApp, answered a call) without
resolving — no promise, payment, opt-out or handoff — is contacted again `followUpAfterDays` later
(back to `pending`; the sweep fits the contact into the customer's next window), until the campaign's
`maxContacts` are spent: then the case ends `completed/exhausted`. Unanswered attempts follow
`shared.engine.postcall.conclude_attempt`, inside the same budget."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from shared.core import clock
from shared.core.observability import logger, metrics
from shared.data import campaigns as campaigns_data
from shared.data import targets as targets_data
from shared.domain.cadence import RESOLVING_OUTCOMES, budget_spent
from shared.domain.errors import Conflict
from shared.domain.models import Campaign, Outcome, Target, TargetState
from shared.domain.phones import timezone_for_phone


def exhausted_details(campaign: Campaign, label: str) -> str:
    """`outcomeDetails` of a case whose contact budget ran out (`label`: what happened last)."""
    return f"{label} — limite de {campaign.max_contacts} contato(s) atingido sem resolução"


def follow_up(
    target: Target,
    from_states: Collection[TargetState],
    *,
    label: str,
    campaign: Campaign | None = None,
    milestone: str | None = None,
) -> Target | None:
    """The customer engaged without resolving: `pending` `follow_up_after_days` from now (outcome
    `answered`), or `completed/exhausted` when the budget is spent. One conditional transition from
    `from_states`, only while the outcome resolves nothing, which also marks `milestone` (when given);
    None when the case moved on meanwhile or the engagement resolved it (nothing marked). `label`
    (Portuguese) says what the customer did."""
    campaign = campaign or campaigns_data.get_recent(target.campaign_id)
    now = clock.now()
    if budget_spent(target, campaign):
        to_state, outcome = TargetState.COMPLETED, Outcome.EXHAUSTED
        changes: dict[str, Any] = {"outcome_details": exhausted_details(campaign, label)}
    else:
        at = now + timedelta(days=campaign.follow_up_after_days)
        local = at.astimezone(timezone_for_phone(target.phone))
        to_state, outcome = TargetState.PENDING, Outcome.ANSWERED
        changes = {
            "next_attempt_at": at,
            "channel_attempts": 0,  # a fresh ladder of unanswered attempts for the follow-up
            "outcome_details": f"{label} sem resolver — novo contato a partir de {local:%d/%m} "
            f"({target.contact_count}/{campaign.max_contacts} contatos)",
        }
    try:
        moved = targets_data.transition(
            target.id,
            from_states,
            to_state,
            unless_outcomes=RESOLVING_OUTCOMES,
            milestone=milestone,
            outcome=outcome,
            **changes,
        )
    except Conflict as exc:
        logger.info("engagement left the case as it is", target_id=target.id, reason=exc.message)
        return None
    metrics.add_metric(name=f"Cadence_{outcome.value}", unit=MetricUnit.Count, value=1)
    logger.info("case follows the cadence", target_id=target.id, state=to_state.value, outcome=outcome.value)
    return moved
