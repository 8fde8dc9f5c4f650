"""Who may hear about a debt (CDC art. 42, LGPD): the person *and* the phone.

A customer's debt details (invoices, amounts, payment codes, promises) are disclosed, and actions on
their account taken, only when both hold:

- the conversation's phone is a phone on file for the document — a number of the customer's cases
  (imports, a supervisor's addition, the number we contacted), or the billing system's — and not one
  reported as a wrong number for it;
- the person gave the document in this conversation (typed, spoken or keyed), within the current
  confirmation's validity.

A confirmation is valid for `ttl` and for one campaign contact (`contact_key`): a new campaign or a
follow-up asks again. Everything here is pure: the facts are read by `shared.engine.identity`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from shared.domain.cases import whatsapp_phone
from shared.domain.phones import phones_match


class Verdict(StrEnum):
    """What the identity check allows."""

    CONFIRMED = "confirmed"  # disclose and act
    ASK_DOCUMENT = "ask_document"  # the right phone, but the document was not given (or expired)
    NOT_ON_FILE = "not_on_file"  # a phone that is not the customer's: disclose nothing, act on nothing


class Facts(NamedTuple):
    """What the check decides on, read before deciding."""

    phone: str  # the conversation's phone (E.164)
    phones_on_file: tuple[str, ...]  # every number on file for the document
    wrong_numbers: frozenset[str]  # numbers reported as not the customer's
    document_given: bool  # the person gave the document within the validity window


def contact_key(target_id: str | None, contact_count: int) -> str:
    """The campaign contact a confirmation is for: a case and its count of outreach contacts (a
    follow-up message or call starts a new one). Without a case, the customer's own conversation."""
    return f"{target_id}#{contact_count}" if target_id else "inbound"


def on_file(phone: str, phones: Iterable[str], wrong_numbers: Iterable[str] = ()) -> bool:
    """Whether `phone` is one of `phones` (ninth-digit tolerant) and not reported as a wrong number."""
    if any(phones_match(phone, wrong) for wrong in wrong_numbers):
        return False
    return any(phones_match(phone, known) for known in phones)


def decide(facts: Facts) -> Verdict:
    """The identity verdict over `facts` (the phone first: from a stranger's phone nothing else matters)."""
    if not on_file(facts.phone, facts.phones_on_file, facts.wrong_numbers):
        return Verdict.NOT_ON_FILE
    return Verdict.CONFIRMED if facts.document_given else Verdict.ASK_DOCUMENT


def still_valid(
    confirmed_at: datetime | None,
    confirmed_for: str | None,
    *,
    contact: str,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Whether a confirmation recorded at `confirmed_at` for contact `confirmed_for` still holds now."""
    if confirmed_at is None or confirmed_for != contact:
        return False
    return confirmed_at <= now < confirmed_at + ttl


def evidence_since(now: datetime, ttl: timedelta, contact_started: datetime | None) -> datetime:
    """The earliest moment a given document counts from: within `ttl`, and in the current contact."""
    since = now - ttl
    return max(since, contact_started) if contact_started is not None else since


def outreach_phone(phones: Iterable[str], wrong_numbers: Iterable[str], current: str) -> str | None:
    """The number outreach should use: `current` unless it is a wrong number, else the first of
    `phones` that is not (a mobile first, as a case picks its number); None when every number of the case was reported wrong."""
    wrong = list(wrong_numbers)
    if not any(phones_match(current, w) for w in wrong):
        return current
    remaining = [phone for phone in phones if not any(phones_match(phone, w) for w in wrong)]
    return whatsapp_phone(remaining) if remaining else None
