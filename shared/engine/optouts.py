"""Opt-out (SPEC §4): permanent, per phone and per document, whichever channel or person asked.
Every campaign's pre-send guard checks it; nothing ever contacts an opted-out customer again."""

from __future__ import annotations

from shared.data import optouts
from shared.domain.documents import normalize_document
from shared.domain.errors import InvalidInput
from shared.domain.models import OptOut
from shared.domain.pages import Page
from shared.domain.phones import normalize_phone


def opt_out(*, phone: str | None, document: str | None, reason: str | None, source: str) -> list[OptOut]:
    """Record the opt-out of a phone and/or a document, normalized first (idempotent)."""
    if not phone and not document:
        raise InvalidInput("give a phone number, a document, or both", code="missing_value")
    return optouts.add(
        phone=normalize_phone(phone) if phone else None,
        document=normalize_document(document) if document else None,
        reason=reason,
        source=source,
    )


def list_page(*, limit: int, cursor: str | None) -> Page[OptOut]:
    """One page of every opt-out, newest first."""
    return optouts.list_page(limit=limit, cursor=cursor)


def is_opted_out(phone: str | None, document: str | None, *, consistent: bool = True) -> bool:
    """Whether the phone or the document opted out (see `shared.data.optouts.is_opted_out`)."""
    return optouts.is_opted_out(phone=phone, document=document, consistent=consistent)
