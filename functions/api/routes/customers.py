"""`/api/voice/customers/{document}`: a customer's whole story across campaigns (supervisors), each
lookup recorded in the access log."""

from __future__ import annotations

from fastapi import APIRouter

from functions.api.deps import AuthenticateFirst, Supervisor
from functions.api.schemas import CustomerStoryPublic
from shared.engine import customers

router = APIRouter(prefix="/api/voice/customers", tags=["customers"], route_class=AuthenticateFirst)


@router.get("/{document}", response_model=CustomerStoryPublic)
def customer_story(document: str, principal: Supervisor) -> CustomerStoryPublic:
    """Cases, invoices, promises, opt-outs, conversations and contacts of one CPF/CNPJ, in time order."""
    story = customers.story(document, subject=principal.subject, role=principal.role.name.lower())
    return CustomerStoryPublic.of(story)
