"""Opt-out (SPEC §4): permanent, per phone and per document, whichever channel or person asked.

Recording one ends, there and then, every open case it covers in every campaign — the document's, and
those whose contact number is the phone — as `completed/opted_out` (one conditional transition each):
a job already queued for one of them then loses its claim and sends nothing. Every campaign's pre-send
guard still checks the opt-out right before each contact, for a case imported afterwards or one whose
number changed to an opted-out phone. A person at the desk writes to a customer who opted out only to
answer a message the customer sent after it (`may_answer`, read by `shared.engine.desk`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Final

from shared.core.observability import logger
from shared.data import TransitionConflict, optouts, phone_index
from shared.data import targets as targets_data
from shared.domain.documents import normalize_document
from shared.domain.errors import InvalidInput
from shared.domain.models import OPEN_TARGET_STATES, OptOut, Outcome, Target, TargetState
from shared.domain.pages import Page
from shared.domain.phones import normalize_phone
from shared.engine import cadence

DETAILS: Final = "Cliente pediu para não ser mais contatado (opt-out)"


def opt_out(*, phone: str | None, document: str | None, reason: str | None, source: str) -> list[OptOut]:
    """Record the opt-out of a phone and/or a document, normalized first (idempotent), and end the
    open cases it covers (see the module docstring)."""
    if not phone and not document:
        raise InvalidInput("give a phone number, a document, or both", code="missing_value")
    phone = normalize_phone(phone) if phone else None
    document = normalize_document(document) if document else None
    stored = optouts.add(phone=phone, document=document, reason=reason, source=source)
    for case in _open_cases(phone, document):
        try:
            targets_data.transition(
                case.id,
                OPEN_TARGET_STATES,
                TargetState.COMPLETED,
                outcome=Outcome.OPTED_OUT,
                outcome_details=DETAILS,
                late_check=cadence.late_check_at(case, Outcome.OPTED_OUT),
            )
        except TransitionConflict as exc:
            logger.info("opted-out case left as it is", target_id=case.id, reason=exc.message)
    return stored


def list_page(*, limit: int, cursor: str | None) -> Page[OptOut]:
    """One page of every opt-out, newest first."""
    return optouts.list_page(limit=limit, cursor=cursor)


def is_opted_out(phone: str | None, document: str | None, *, consistent: bool = True) -> bool:
    """Whether the phone or the document opted out (see `shared.data.optouts.is_opted_out`)."""
    return optouts.is_opted_out(phone=phone, document=document, consistent=consistent)


def opted_out_at(phone: str, document: str | None) -> datetime | None:
    """When the phone or the document last opted out (the newest of their opt-outs), None when neither
    did. Strongly consistent."""
    return opted_out_at_each([(phone, document)])[(phone, document)]


def opted_out_at_each(
    people: Collection[tuple[str, str | None]],
) -> dict[tuple[str, str | None], datetime | None]:
    """`opted_out_at` of each (phone, document) of `people`, read together (`optouts.by_key`)."""
    found = optouts.by_key(key for phone, document in people for key in _keys(phone, document))
    return {
        (phone, document): max(
            (found[key].created_at for key in _keys(phone, document) if key in found), default=None
        )
        for phone, document in people
    }


def _keys(phone: str, document: str | None) -> list[str]:
    return [optouts.phone_key(phone), *([optouts.document_key(document)] if document else [])]


def may_answer(opted_out_at: datetime, customer_wrote_at: datetime | None) -> bool:
    """Whether a person may write to a customer who opted out at `opted_out_at`: nobody writes to them
    on our own initiative again (LGPD, ANATEL), but a customer who wrote after opting out (their last
    message, `customer_wrote_at`, is newer) asked, and may be answered. The "PARAR" itself is not newer
    than the opt-out it records."""
    return customer_wrote_at is not None and customer_wrote_at > opted_out_at


def _open_cases(phone: str | None, document: str | None) -> list[Target]:
    """The open cases of `document`, and those contacted on `phone` (any document), in every campaign."""
    documents = dict.fromkeys(
        ([document] if document else []) + (phone_index.documents(phone) if phone else [])
    )
    return [
        case
        for each in documents
        for case in targets_data.by_document(each)
        if case.state in OPEN_TARGET_STATES and (each == document or case.phone == phone)
    ]
