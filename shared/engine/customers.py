"""A customer's story: everything the system holds about one CPF/CNPJ across campaigns, in time order,
for the supervisor who gets the call. Read through indexes only — the targets' and the promises'
`by_document` GSIs, one opt-out BatchGet, the conversations the cases and promises name, the
customer's contact log — never a scan. Every lookup is recorded first in the access log (LGPD),
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
from shared.data import access_log, contact_log, conversations, optouts
from shared.data import campaigns as campaigns_data
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain.documents import normalize_document
from shared.domain.errors import NotFound
from shared.domain.ids import new_id
from shared.domain.masking import mask_document
from shared.domain.models import AccessLogEntry, Conversation, OptOut, Promise, Target
from shared.domain.money import format_brl
from shared.engine import identity

STORY_ACTION: Final = "customer_story"
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
    now = clock.now()
    access_log.record(
        AccessLogEntry(
            id=new_id(),
            subject=subject,
            role=role,
            action=STORY_ACTION,
            document=mask_document(document),
            at=now,
        )
    )
    logger.info("customer story looked up", subject=subject, document=mask_document(document))
    cases = targets_data.by_document(document)
    promises = _promises(document)
    phones = [phone for case in cases for phone in case.phones]
    opt_outs = optouts.find(phones, document)
    if not cases and not promises and not opt_outs:
        raise NotFound("no case, promise or opt-out for this document")
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
            channel = case.channel.value if case.channel else "?"
            yield StoryEvent(
                case.last_attempt_at, EventKind.LAST_ATTEMPT, f"Última tentativa ({channel})", case.id
            )
        if case.updated_at > case.created_at:
            outcome = f", resultado {case.outcome.value}" if case.outcome else ""
            details = f": {case.outcome_details}" if case.outcome_details else ""
            yield StoryEvent(
                case.updated_at,
                EventKind.CASE_UPDATED,
                f"Caso em {campaign}: estado {case.state.value}{outcome}{details}",
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
            talk.created_at, EventKind.CONVERSATION_STARTED, f"Conversa ({talk.source.value})", talk.id
        )
    for at in contacts:
        yield StoryEvent(at, EventKind.CONTACT, "Contato feito")
