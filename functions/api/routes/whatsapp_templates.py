"""`/api/voice/whatsapp/templates`: the instance's message templates (Meta's list, through Evolution),
for the campaign form's `whatsappTemplates` (EVOLUTION_INTEGRATION=cloud)."""

from __future__ import annotations

from fastapi import APIRouter

from functions.api.deps import AuthenticateFirst, Supervisor
from functions.api.schemas import WhatsAppTemplatePublic
from shared.engine import whatsapp_out

router = APIRouter(prefix="/api/voice/whatsapp", tags=["whatsapp"], route_class=AuthenticateFirst)


@router.get("/templates", response_model=list[WhatsAppTemplatePublic])
def list_templates(_: Supervisor) -> list[WhatsAppTemplatePublic]:
    return [WhatsAppTemplatePublic.model_validate(t) for t in whatsapp_out.approved_templates()]
