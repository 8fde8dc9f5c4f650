"""Identity before disclosure (`shared.domain.identity`): the facts read, the verdict applied.

One check for every tool and channel (`verify`): the conversation's phone must be on file for the
document — a phone of the customer's cases (imports, a supervisor's addition, the number we contacted)
or the billing system's, and not a reported wrong number — and the person must have given the document
within the confirmation's validity (`IDENTITY_TTL_HOURS`, one campaign contact). A confirmation is
stored on the conversation (`confirm`: when, for which contact) and the inbound conversation linked to
the customer's case.

What a phone that is not on file gets instead (`reach_registered`): nothing about the customer, and the
customer's open case due now, so the scheduler contacts the registered number within the contact policy
(window, cap, opt-out: the pre-send guards). Wrong numbers (`mark_wrong_number`) are kept per document
and phone; outreach never uses one again (`usable_phone`) and tries the case's other phones.
Every tool call that gave a customer's data is logged on the conversation (`record_disclosure`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Final, NamedTuple

from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.data import TransitionConflict, conversations, optouts
from shared.data import targets as targets_data
from shared.domain import identity
from shared.domain.cadence import RESOLVING_OUTCOMES, STANDING_OUTCOMES
from shared.domain.errors import Conflict
from shared.domain.models import (
    OPEN_TARGET_STATES,
    Conversation,
    Disclosure,
    Outcome,
    PhoneAddition,
    Target,
    TargetState,
)
from shared.domain.phones import normalize_phone, phones_match

DISCLOSURE_LOG_LIMIT: Final = 100  # entries kept on a conversation (the newest)
WRONG_NUMBER_NOTE: Final = "A pessoa neste número disse não ser o cliente (número errado)"
CONTACT_REQUESTED_NOTE: Final = (
    "Alguém pediu os dados do cliente de um número fora do cadastro: contato antecipado"
)
# Cases a stranger's request may bring forward: not one a contact is already under way for.
_REACHABLE_STATES: Final = (TargetState.PENDING, TargetState.CONTACTED)


def ttl() -> timedelta:
    """How long a confirmation holds (IDENTITY_TTL_HOURS)."""
    return timedelta(hours=get_settings().identity_ttl_hours)


def contact_of(target: Target | None) -> str:
    """The campaign contact a confirmation in a conversation about `target` is for."""
    return identity.contact_key(target.id if target else None, target.contact_count if target else 0)


def confirmed(conversation: Conversation, target: Target | None, *, now: datetime | None = None) -> bool:
    """Whether the conversation holds a confirmation still valid for `target`'s current contact."""
    return conversation.identity_confirmed and identity.still_valid(
        conversation.identity_confirmed_at,
        conversation.identity_contact,
        contact=contact_of(target),
        now=now or clock.now(),
        ttl=ttl(),
    )


def current_confirmations(conversations: Sequence[Conversation]) -> dict[str, bool]:
    """Whether each conversation's confirmation holds now (`confirmed`: within IDENTITY_TTL_HOURS and
    for its case's current contact), by conversation id — what a list shows, not the stored flag. The
    cases are read in one BatchGet."""
    ids = {c.target_id for c in conversations if c.identity_confirmed and c.target_id is not None}
    cases = targets_data.get_many(ids)
    now = clock.now()
    return {
        c.id: confirmed(c, cases.get(c.target_id) if c.target_id else None, now=now) for c in conversations
    }


def on_the_case_number(conversation: Conversation, target: Target | None) -> bool:
    """Whether the conversation is with the number the case is contacted on: what happens there
    (a "PARAR", a request for a person) concerns the case even before the document is given."""
    return target is not None and phones_match(conversation.phone, target.phone)


def evidence_since(target: Target | None, now: datetime | None = None) -> datetime:
    """The earliest moment a document the person gave still counts from (TTL and current contact)."""
    started = target.last_attempt_at if target is not None else None
    return identity.evidence_since(now or clock.now(), ttl(), started)


class Check(NamedTuple):
    """The verdict, and the customer's cases read for it."""

    verdict: identity.Verdict
    cases: list[Target]


def verify(
    conversation: Conversation,
    document: str,
    *,
    document_given: bool,
    billing_phones: Callable[[], Sequence[str]] = tuple,
) -> Check:
    """The identity check of `conversation` for `document` (the billing system's phones are asked
    for only when the customer's cases do not have the conversation's phone)."""
    cases = targets_data.by_document(document)
    phones: list[str] = [phone for case in cases for phone in case.phones]
    wrong = optouts.wrong_numbers(document, [conversation.phone])
    if not identity.on_file(conversation.phone, phones, wrong) and not wrong:
        phones += list(billing_phones())
    facts = identity.Facts(conversation.phone, tuple(phones), wrong, document_given)
    return Check(identity.decide(facts), cases)


def confirm(
    conversation: Conversation, document: str, check: Check, target: Target | None
) -> tuple[Conversation, Target | None]:
    """Store a confirmation for `document` (now, for the current contact); a conversation without a
    case is linked to the customer's (an open one first, the newest)."""
    if target is None:
        open_ones = [case for case in check.cases if case.state in OPEN_TARGET_STATES]
        pool = open_ones or check.cases
        target = pool[-1] if pool else None
    changes: dict[str, object] = {
        "document": document,
        "identity_confirmed": True,
        "identity_confirmed_at": clock.now(),
        "identity_contact": contact_of(target),
    }
    if target is not None and conversation.target_id != target.id:
        changes |= {"target_id": target.id, "campaign_id": target.campaign_id}
        if not conversation.client_name:
            changes["client_name"] = target.client_name
    updated = conversations.update(conversation.id, **changes)
    logger.info("identity confirmed", conversation_id=conversation.id, target_id=updated.target_id)
    return updated, target


def reach_registered(check: Check) -> Target | None:
    """A phone not on file asked about the customer: their open case is made due now, so the scheduler
    contacts the registered number (within the pre-send guards), with outcome `contact_requested` (a
    follow-up it was waiting for is not what it waits for any more: a new cadence never puts it off).
    A case waiting on what resolved its engagement (a promise, a payment claim's quiet days, a person
    at the desk) is left as it is: the guards would hold that contact anyway, and its outcome says why.
    Returns the case, if one was."""
    for case in reversed(check.cases):  # the newest first
        if case.state not in _REACHABLE_STATES or case.outcome in RESOLVING_OUTCOMES:
            continue
        if case.state is TargetState.PENDING and case.next_attempt_at <= clock.now():
            return case  # already due
        try:
            moved = targets_data.transition(
                case.id,
                _REACHABLE_STATES,
                TargetState.PENDING,
                outcome=Outcome.CONTACT_REQUESTED,
                outcome_details=CONTACT_REQUESTED_NOTE,
            )
        except TransitionConflict:
            continue
        logger.info("registered number to be contacted after a request from another phone", target_id=case.id)
        return moved
    return None


def mark_wrong_number(document: str, phone: str, *, source: str, reason: str | None = None) -> list[Target]:
    """`phone` is not `document`'s: never contacted again for it. Each of the customer's cases on that
    phone moves to its next phone; an open one with none left ends. Each open case gets outcome
    `wrong_number`, unless it waits on a promise, a payment claim or an opt-out (`STANDING_OUTCOMES`):
    a closed case keeps its ending. Returns the cases changed."""
    phone = normalize_phone(phone)
    optouts.add_wrong_number(document=document, phone=phone, reason=reason, source=source)
    changed = []
    for case in targets_data.by_document(document):
        if not identity.on_file(phone, case.phones):
            continue
        wrong = optouts.wrong_numbers(document, case.phones)  # this one and any reported before
        updated = _reroute(case, wrong, OPEN_TARGET_STATES)
        if updated is not None and updated.outcome is not Outcome.WRONG_NUMBER:
            try:
                updated = targets_data.update(
                    case.id,
                    in_states=OPEN_TARGET_STATES,
                    unless_outcomes=STANDING_OUTCOMES,
                    outcome=Outcome.WRONG_NUMBER,
                    outcome_details=WRONG_NUMBER_NOTE,
                )
            except Conflict as exc:
                logger.info("wrong number not recorded on the case", target_id=case.id, reason=exc.message)
        changed.append(updated or case)
    logger.info("wrong number recorded", cases=len(changed), source=source)
    return changed


def usable_phone(target: Target, from_states: Collection[TargetState]) -> Target | None:
    """The case ready for outreach on a number that is not a reported wrong number (moved to its next
    phone if needed); None when every phone of the case was reported wrong (the case then ends
    `completed/wrong_number`). Eventually consistent (half the units): a report already moved every
    case of the document off that phone when it was recorded (`mark_wrong_number`), so this read only
    catches a case that took the number later — an import, not a moment's race."""
    wrong = optouts.wrong_numbers(target.document, target.phones, consistent=False)
    return _reroute(target, wrong, from_states) if wrong else target


def add_phone(target_id: str, phone: str, *, by: str) -> Target:
    """A supervisor puts a phone on a customer's case (recorded: who, when); from then on the phone is
    on file for the customer's document."""
    addition = PhoneAddition(phone=normalize_phone(phone), added_by=by, added_at=clock.now())
    target = targets_data.add_phone(target_id, addition)
    logger.info("phone added to a case", target_id=target_id, by=by)
    return target


def record_disclosure(conversation: Conversation, *, tool: str, what: str, document: str) -> Conversation:
    """Log on the conversation that `tool` gave `document`'s data (`what`) to its phone, now."""
    entry = Disclosure(tool=tool, what=what, document=document, phone=conversation.phone, at=clock.now())
    log = [*conversation.disclosures, entry][-DISCLOSURE_LOG_LIMIT:]
    return conversations.update(conversation.id, disclosures=log)


def _reroute(target: Target, wrong: frozenset[str], from_states: Collection[TargetState]) -> Target | None:
    phone = identity.outreach_phone(target.phones, wrong, target.phone)
    if phone == target.phone:
        return target
    if phone is not None:
        return targets_data.update(target.id, phone=phone)
    if target.state not in from_states:
        return None
    try:
        targets_data.transition(
            target.id,
            from_states,
            TargetState.COMPLETED,
            outcome=Outcome.WRONG_NUMBER,
            outcome_details=WRONG_NUMBER_NOTE + "; nenhum outro telefone no cadastro",
        )
    except TransitionConflict as exc:
        logger.info("case with only wrong numbers left as it is", target_id=target.id, reason=exc.message)
    return None
