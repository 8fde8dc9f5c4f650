"""`/api/voice/campaigns`: create, read, edit, activate/pause/complete, delete."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from functions.api.deps import Admin, AuthenticateFirst, PeriodEnd, PeriodStart, Supervisor, Viewer
from functions.api.pagination import paged
from functions.api.schemas import (
    CampaignAction,
    CampaignCreate,
    CampaignPublic,
    CampaignStatsPublic,
    CampaignUpdate,
    DayPublic,
    MoneyPublic,
    Success,
)
from shared.domain.models import CampaignStatus
from shared.engine import campaigns as campaign_rules
from shared.engine import reporting

router = APIRouter(prefix="/api/voice/campaigns", tags=["campaigns"], route_class=AuthenticateFirst)


@router.get("", response_model=list[CampaignPublic])
def list_campaigns(
    _: Viewer, response: Response, limit: int = Query(50, ge=1, le=200), cursor: str | None = None
) -> list[CampaignPublic]:
    page = campaign_rules.list_page(limit=limit, cursor=cursor)
    return paged(response, page, CampaignPublic.model_validate)


@router.post("", response_model=CampaignPublic, status_code=status.HTTP_201_CREATED)
def create_campaign(body: CampaignCreate, _: Admin) -> CampaignPublic:
    campaign = campaign_rules.create(**body.model_dump())
    return CampaignPublic.model_validate(campaign)


@router.get("/{campaign_id}", response_model=CampaignPublic)
def get_campaign(campaign_id: str, _: Viewer) -> CampaignPublic:
    return CampaignPublic.model_validate(campaign_rules.get(campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignPublic)
def update_campaign(campaign_id: str, body: CampaignUpdate, _: Admin) -> CampaignPublic:
    changes = body.model_dump(exclude_unset=True)
    new_status = changes.pop("status", None)
    campaign = campaign_rules.update(campaign_id, changes) if changes else campaign_rules.get(campaign_id)
    if new_status is not None and new_status is not campaign.status:
        campaign = campaign_rules.change_status(campaign_id, new_status)
    return CampaignPublic.model_validate(campaign)


@router.delete("/{campaign_id}", response_model=Success)
def delete_campaign(campaign_id: str, _: Admin) -> Success:
    campaign_rules.delete(campaign_id)
    return Success()


@router.post("/{campaign_id}/activate", response_model=CampaignAction)
def activate_campaign(campaign_id: str, _: Supervisor) -> CampaignAction:
    campaign = campaign_rules.change_status(campaign_id, CampaignStatus.ACTIVE)
    return CampaignAction(campaign=CampaignPublic.model_validate(campaign))


@router.post("/{campaign_id}/pause", response_model=CampaignAction)
def pause_campaign(campaign_id: str, _: Supervisor) -> CampaignAction:
    campaign = campaign_rules.change_status(campaign_id, CampaignStatus.PAUSED)
    return CampaignAction(campaign=CampaignPublic.model_validate(campaign))


@router.post("/{campaign_id}/complete", response_model=CampaignAction)
def complete_campaign(campaign_id: str, _: Supervisor) -> CampaignAction:
    campaign = campaign_rules.change_status(campaign_id, CampaignStatus.COMPLETED)
    return CampaignAction(campaign=CampaignPublic.model_validate(campaign))


@router.get("/{campaign_id}/stats", response_model=CampaignStatsPublic)
def campaign_stats(campaign_id: str, _: Viewer) -> CampaignStatsPublic:
    result = reporting.campaign_stats(campaign_id)
    return CampaignStatsPublic(
        total_targets=result.total_targets,
        pending=result.states["pending"],
        scheduled=result.states["scheduled"],
        calling=result.states["calling"],
        contacted=result.states["contacted"],
        completed=result.states["completed"],
        states=result.states,
        outcomes=result.outcomes,
        reached=result.contacted,
        responded=result.responded,
        promised=result.promised,
        promises=result.promises,
        fulfilled=result.fulfilled,
        broken=result.broken,
        paid=result.paid,
        self_cured=result.self_cured,
        channels=result.channels,
        kpis=[{**vars(kpi), "met": kpi.met} for kpi in result.kpis],  # type: ignore[misc]
        **MoneyPublic.fields(result.money),
    )


@router.get("/{campaign_id}/daily", response_model=list[DayPublic])
def campaign_daily(
    campaign_id: str,
    _: Viewer,
    start: PeriodStart = None,
    end: PeriodEnd = None,
) -> list[DayPublic]:
    """Contacts, first responses, promises, promises kept and R$ recovered per day of the customers."""
    return [
        DayPublic(**{**vars(day), "amount_recovered": day.recovered})
        for day in reporting.daily(campaign_id, start, end)
    ]
