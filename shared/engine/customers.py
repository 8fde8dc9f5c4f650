"""A customer's story: everything the system holds about one CPF/CNPJ across campaigns, in time order,
for the supervisor who gets the call, found by CPF/CNPJ or by a phone one of their cases carries (the
phone index). Read through indexes only — the targets' and the promises' `by_document` GSIs, one
opt-out BatchGet, the conversations the cases and promises name, the customer's contact log — never a
scan. Every lookup is recorded first in the access log (LGPD),
whoever asked and whether or not anything was found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from shared.core import clock
from shared.core.observability import logger
from shared.data import access_log, contact_log, conversations, optouts, phone_index
from shared.data import campaigns as campaigns_data
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain import labels
from shared.domain.documents import normalize_document
from shared.domain.errors import NotFound
from shared.domain.ids import new_id
from shared.domain.masking import mask_document, mask_phone
from shared.domain.models import AccessLogEntry, Conversation, OptOut, Promise, Target
from shared.domain.money import format_brl
from shared.domain.phones import normalize_phone, phones_match
from shared.engine import identity

STORY_ACTION: Final = "customer_story"
PHONE_SEARCH_ACTION: Final = "customer_search_phone"  # the entry's `document` is then the masked phone
# The contact log keeps about a week (`contact_log.RETENTION`): the story shows what it still has.
CONTACTS_SINCE: Final = timedelta(days=30)


class EventKind(StrEnum):
    CASE_OPENED = "case_opened"
    CONTACT = "contact"
    LAST_ATTEMPT = "last_attempt"
    CASE_UPDATED = "case_updated"
    PROMISE_REGISTERED = "promise_registered"
    PROMISE_FULFILLED = "promise_fulfilled"
    PROMISE_BROKEN = "promise_broken"
    OPTED_OUT = "opted_out"
    CONVERSATION_STARTED = "conversation_started"


@dataclass(frozen=True)
class StoryEvent:
    at: datetime
    kind: EventKind
    description: str  # pt-BR, for the supervisor
    ref: str | None = None  # the case, promise or conversation it belongs to


@dataclass(frozen=True)
class CustomerStory:
    document: str  # normalized
    cases: list[Target]
    campaign_names: dict[str, str]
    promises: list[Promise]
    opt_outs: list[OptOut]
    conversations: list[Conversation]
    contacts: list[datetime]
    events: list[StoryEvent]  # oldest first
    confirmed: dict[str, bool]  # by conversation id: whether its identity confirmation holds now


def story(raw_document: str, *, subject: str, role: str) -> CustomerStory:
    """The story of the customer with `raw_document` (punctuation allowed; `InvalidDocument` if it is
    not a CPF/CNPJ), the lookup recorded as `subject` (`role`); `NotFound` when no case, promise or
    opt-out knows the document."""
    document = normalize_document(raw_document)
    _record_access(subject, role, STORY_ACTION, mask_document(document))
    found = _story(document, targets_data.by_document(document))
    if not found.cases and not found.promises and not found.opt_outs:
        raise NotFound("no case, promise or opt-out for this document")
    return found


def stories_by_phone(raw_phone: str, *, subject: str, role: str) -> list[CustomerStory]:
    """The story of every customer with a case carrying the phone `raw_phone` (any common Brazilian
    form; `InvalidPhone` otherwise), usually one. The search is recorded (the phone masked), and so is
    each story it shows, as a lookup by document is; `NotFound` when no case carries the phone.

    One Query of the phone index, then each document's cases by their `by_document` index: no scan.
    """
    phone = normalize_phone(raw_phone)
    _record_access(subject, role, PHONE_SEARCH_ACTION, mask_phone(phone))
    found = []
    for document in phone_index.documents(phone):
        cases = targets_data.by_document(document)
        if not any(phones_match(phone, known) for case in cases for known in case.phones):
            continue  # an index entry outliving its case (a discarded draft campaign)
        _record_access(subject, role, STORY_ACTION, mask_document(document))
        found.append(_story(document, cases))
    if not found:
        raise NotFound("no case carries this phone")
    return found


def _record_access(subject: str, role: str, action: str, masked: str) -> None:
    """The access log's entry (LGPD) for one lookup, before anything is read."""
    access_log.record(
        AccessLogEntry(
            id=new_id(), subject=subject, role=role, action=action, document=masked, at=clock.now()
        )
    )
    logger.info("customer looked up", subject=subject, action=action, customer=masked)


def _story(document: str, cases: list[Target]) -> CustomerStory:
    now = clock.now()
    promises = _promises(document)
    phones = [phone for case in cases for phone in case.phones]
    opt_outs = optouts.find(phones, document)
    names = {cid: _campaign_name(cid) for cid in dict.fromkeys(case.campaign_id for case in cases)}
    talks = _conversations(cases, promises)
    contacts = contact_log.contacts_since(document, now - CONTACTS_SINCE)
    return CustomerStory(
        document=document,
        cases=cases,
        campaign_names=names,
        promises=promises,
        opt_outs=opt_outs,
        conversations=talks,
        contacts=contacts,
        events=sorted(_events(cases, names, promises, opt_outs, talks, contacts), key=lambda e: e.at),
        confirmed=identity.current_confirmations(talks),
    )


def _promises(document: str) -> list[Promise]:
    found: list[Promise] = []
    cursor: str | None = None
    while True:
        page = promises_data.list_page(document=document, cursor=cursor)
        found.extend(page.items)
        if page.next_cursor is None:
            return sorted(found, key=lambda promise: promise.created_at)
        cursor = page.next_cursor


def _campaign_name(campaign_id: str) -> str:
    try:
        return campaigns_data.get(campaign_id).name
    except NotFound:
        return campaign_id  # deleted since: the case still tells its story


def _conversations(cases: list[Target], promises: list[Promise]) -> list[Conversation]:
    named = [case.conversation_id for case in cases] + [promise.conversation_id for promise in promises]
    ids = dict.fromkeys(conversation_id for conversation_id in named if conversation_id is not None)
    found = []
    for conversation_id in ids:
        try:
            found.append(conversations.get(conversation_id))
        except NotFound:
            continue
    return sorted(found, key=lambda conversation: conversation.created_at)


def _events(
    cases: list[Target],
    names: dict[str, str],
    promises: list[Promise],
    opt_outs: list[OptOut],
    talks: list[Conversation],
    contacts: list[datetime],
) -> Iterable[StoryEvent]:
    for case in cases:
        campaign = names[case.campaign_id]
        yield StoryEvent(
            case.created_at,
            EventKind.CASE_OPENED,
            f"Caso aberto na campanha {campaign}: {len(case.invoices)} fatura(s), {format_brl(case.debt_amount)}",
            case.id,
        )
        if case.last_attempt_at is not None:
            channel = labels.CHANNEL[case.channel] if case.channel else "?"
            yield StoryEvent(
                case.last_attempt_at, EventKind.LAST_ATTEMPT, f"Última tentativa ({channel})", case.id
            )
        if case.updated_at > case.created_at:
            outcome = f", resultado {labels.OUTCOME[case.outcome]}" if case.outcome else ""
            details = f": {case.outcome_details}" if case.outcome_details else ""
            yield StoryEvent(
                case.updated_at,
                EventKind.CASE_UPDATED,
                f"Caso em {campaign}: estado {labels.STATE[case.state]}{outcome}{details}",
                case.id,
            )
    for promise in promises:
        amount = format_brl(promise.amount)
        yield StoryEvent(
            promise.created_at,
            EventKind.PROMISE_REGISTERED,
            f"Promessa de {amount} para {promise.due_date:%d/%m/%Y}",
            promise.id,
        )
        if promise.fulfilled_at is not None:
            yield StoryEvent(
                promise.fulfilled_at,
                EventKind.PROMISE_FULFILLED,
                f"Promessa de {amount} cumprida",
                promise.id,
            )
        if promise.broken_at is not None:
            yield StoryEvent(
                promise.broken_at, EventKind.PROMISE_BROKEN, f"Promessa de {amount} quebrada", promise.id
            )
    for optout in opt_outs:
        reason = f": {optout.reason}" if optout.reason else ""
        yield StoryEvent(optout.created_at, EventKind.OPTED_OUT, f"Pediu para não ser contatado{reason}")
    for talk in talks:
        yield StoryEvent(
            talk.created_at,
            EventKind.CONVERSATION_STARTED,
            f"Conversa ({labels.SOURCE[talk.source]})",
            talk.id,
        )
    for at in contacts:
        yield StoryEvent(at, EventKind.CONTACT, "Contato feito")
