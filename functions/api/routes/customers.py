"""`/api/voice/customers/{document}` and `/api/voice/customers?phone=`: a customer's whole story across
campaigns (supervisors), found by CPF/CNPJ or by phone, each lookup recorded in the access log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from functions.api.deps import AuthenticateFirst, Supervisor
from functions.api.schemas import CustomerStoryPublic
from shared.engine import customers

router = APIRouter(prefix="/api/voice/customers", tags=["customers"], route_class=AuthenticateFirst)


@router.get("", response_model=list[CustomerStoryPublic])
def customers_by_phone(
    principal: Supervisor,
    phone: Annotated[
        str, Query(min_length=1, max_length=40, description="a phone, any common Brazilian form")
    ],
) -> list[CustomerStoryPublic]:
    """The story of each customer (usually one) with a case carrying `phone`; the search and each story
    shown are recorded in the access log. 404 when no case carries it, 422 for a number that is not a
    Brazilian phone."""
    found = customers.stories_by_phone(phone, subject=principal.subject, role=principal.role.name.lower())
    return [CustomerStoryPublic.of(story) for story in found]


@router.get("/{document}", response_model=CustomerStoryPublic)
def customer_story(document: str, principal: Supervisor) -> CustomerStoryPublic:
    """Cases, invoices, promises, opt-outs, conversations and contacts of one CPF/CNPJ, in time order."""
    story = customers.story(document, subject=principal.subject, role=principal.role.name.lower())
    return CustomerStoryPublic.of(story)
