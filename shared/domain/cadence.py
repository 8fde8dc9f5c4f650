"""The cadence of a case until it resolves (pure rules): which outreach message a contact sends, and
whether the campaign's contact budget (`Campaign.max_contacts`: messages sent and calls placed, the
customer's replies not counted) allows another contact."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from shared.domain.models import Campaign, MessageStep, Outcome, Target, TargetState

# Outcomes that resolve the engagement — a promise, a payment (or the claim of one), an opt-out, a
# human holding the conversation: no follow-up after them.
RESOLVING_OUTCOMES: Final = frozenset(
    {
        Outcome.PROMISE_MADE,
        Outcome.PAID,
        Outcome.PAYMENT_CLAIMED,
        Outcome.OPTED_OUT,
        Outcome.TRANSFERRED,
    }
)


# A customer a human has at the desk is looked at again this much later (the hold has no known end):
# the CRM is read for a payment meanwhile, and nothing is sent.
HOLD_RETRY: Final = timedelta(hours=2)


# What a case says that a later event on its customer's contact — a handover to a person, a number
# reported wrong — must not overwrite: it is paid, opted out, or waits on a promise or a payment claim
# (`transferred` would hide it: a paid case would stop counting as paid, its money leave recovered).
STANDING_OUTCOMES: Final = RESOLVING_OUTCOMES - {Outcome.TRANSFERRED}


# What an attempt nobody answered leaves on a case waiting for its retry (a voicemail taken by a
# machine included: it asks the customer to reply on WhatsApp).
UNANSWERED_OUTCOMES: Final = frozenset(
    {
        Outcome.NO_ANSWER,
        Outcome.BUSY,
        Outcome.VOICEMAIL,
        Outcome.VOICEMAIL_LEFT,
        Outcome.FAILED,
        Outcome.NOT_ON_WHATSAPP,
        Outcome.NOT_DELIVERED,
    }
)


# How a case ends when the cadence gave up on it without any resolution: its budget spent, or its
# attempts spent on every channel with nobody answering. A payment the customer makes afterwards (a
# promise kept, a claim the CRM confirms) still closes it as `paid`.
GAVE_UP_OUTCOMES: Final = UNANSWERED_OUTCOMES | {Outcome.EXHAUSTED}


# How a case ends that, once its customer was contacted, gets a late payment check: the CRM read once
# more `LATE_PAYMENT_CHECK_DAYS` later (`shared.engine.late_payments`), since a customer often pays at the
# bank days after the last message. The cadence gave up on it, or the customer opted out: money they pay
# then is still recovered by the contact (the check sends nothing).
LATE_CHECKED_OUTCOMES: Final = GAVE_UP_OUTCOMES | {Outcome.OPTED_OUT}


# What a pending case waiting for its follow-up may carry: the customer engaged (`answered`), or kept a
# partial promise (no outcome) — every other outcome waits on something else (a retry's backoff, a
# promise's end, a payment claim's quiet period) or nothing (`contact_requested`: due now).
FOLLOW_UP_OUTCOMES: Final = frozenset({Outcome.ANSWERED, None})


def awaits_follow_up(target: Target) -> bool:
    """Whether the case waits for the contact `follow_up_after_days` after the customer engaged (not
    its first contact: it was contacted before)."""
    return (
        target.state is TargetState.PENDING
        and target.contact_count > 0
        and target.outcome in FOLLOW_UP_OUTCOMES
    )


def engagement_moves(target: Target) -> bool:
    """Whether the customer engaging now (a reply) moves the case to its follow-up: it awaits the reply
    to a contact, or waits to retry one nobody answered (the reply came late)."""
    if target.state is TargetState.CONTACTED:
        return True
    return target.state is TargetState.PENDING and target.outcome in UNANSWERED_OUTCOMES


def budget_spent(target: Target, campaign: Campaign) -> bool:
    """Whether the case has had every contact the campaign allows."""
    return target.contact_count >= campaign.max_contacts


def message_step(target: Target, campaign: Campaign) -> MessageStep:
    """The step of the contact about to be made: the first one introduces the creditor; the one that
    spends the budget's last unit is the last notice; after a broken promise, the message says so;
    any other is a follow-up."""
    if target.contact_count == 0:
        return MessageStep.FIRST_CONTACT
    if target.contact_count + 1 >= campaign.max_contacts:
        return MessageStep.LAST_NOTICE
    if target.outcome is Outcome.PROMISE_BROKEN:
        return MessageStep.AFTER_BROKEN_PROMISE
    return MessageStep.FOLLOW_UP
