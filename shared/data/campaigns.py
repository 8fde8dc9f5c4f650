"""Campaigns table: hash `id`.

GSIs: `by_status` (status, created_at) for the scheduler's "active campaigns"; `by_created`
(constant `kind`, created_at) for the newest-first listing. Campaigns are few, so one constant
partition is no hot spot, and nothing here scans.

`get_recent` serves the paths that read a campaign once per job (a send, a customer's reply, a
promise): a copy this process read at most `RECENT_SECONDS` ago, so a busy worker reads each campaign
a few times a minute rather than once per message. Writes made through this module drop the process's
copy; a pause or an edit made elsewhere reaches a worker within `RECENT_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any, Final

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from shared.core import clock
from shared.data.attributes import IsoDateTimeAttribute
from shared.data.base import (
    Binding,
    TableModel,
    TransitionConflict,
    current_binding,
    is_condition_failure,
    record_kwargs,
    set_actions,
    to_domain,
    validate_changes,
)
from shared.data.pagination import query_page
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import Campaign, CampaignStatus
from shared.domain.pages import Page

_KIND = "campaign"
# How stale `get_recent` may be: about as long as a supervisor's "pause" takes to reach the screen, and
# a few sends at most on one worker.
RECENT_SECONDS: Final = 5.0
_recent: dict[str, tuple[float, Binding, Campaign]] = {}  # id -> (monotonic read time, binding, copy)
_FORBIDDEN = ("id", "created_at", "updated_at", "status")


class _ByStatus(GlobalSecondaryIndex["CampaignRecord"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class _ByCreated(GlobalSecondaryIndex["CampaignRecord"]):
    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    created_at = IsoDateTimeAttribute(range_key=True)


class CampaignRecord(TableModel):
    class Meta:
        suffix = "campaigns"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=_KIND)
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    contact_method = UnicodeAttribute()
    allowed_methods = ListAttribute(of=UnicodeAttribute)
    fallback_order = ListAttribute(of=UnicodeAttribute)
    schedule_start = UnicodeAttribute()
    schedule_end = UnicodeAttribute()
    weekdays = ListAttribute(of=NumberAttribute)
    max_attempts_per_channel = NumberAttribute()
    trust_unlock = BooleanAttribute(default=False)  # campaigns stored before it existed: False
    # Campaigns stored before the cadence existed read the domain's defaults.
    follow_up_after_days = NumberAttribute(default=3)
    max_contacts = NumberAttribute(default=6)
    messages = JSONAttribute(default=dict)  # {step: template}
    whatsapp_templates = JSONAttribute(default=dict)  # {step: {"name", "language"}}
    voicemail_drop = BooleanAttribute(default=False)  # likewise
    record_calls = BooleanAttribute(default=False)  # likewise
    created_at = IsoDateTimeAttribute()
    updated_at = IsoDateTimeAttribute()
    started_at = IsoDateTimeAttribute(null=True)
    completed_at = IsoDateTimeAttribute(null=True)

    by_status = _ByStatus()
    by_created = _ByCreated()


def create(campaign: Campaign) -> Campaign:
    """Store a new campaign; `Conflict` if the id is taken."""
    record = CampaignRecord(**_storable(record_kwargs(campaign)))
    try:
        record.save(condition=CampaignRecord.id.does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict(f"campaign {campaign.id} already exists") from exc
        raise
    return campaign


def get(campaign_id: str) -> Campaign:
    """The campaign; `NotFound` if there is none."""
    try:
        return to_domain(Campaign, CampaignRecord.get(campaign_id, consistent_read=True))
    except CampaignRecord.DoesNotExist:
        raise NotFound(f"campaign {campaign_id} not found") from None


def get_recent(campaign_id: str) -> Campaign:
    """The campaign as this process read it at most `RECENT_SECONDS` ago, or read now (eventually
    consistent, half the units of `get`); `NotFound` if there is none. For the paths that only follow
    the campaign's settings and status (see the module docstring); an edit checks against `get`."""
    now, binding = time.monotonic(), current_binding()
    cached = _recent.get(campaign_id)
    if cached is not None and now - cached[0] < RECENT_SECONDS and cached[1] is binding:
        return cached[2]
    try:
        campaign = to_domain(Campaign, CampaignRecord.get(campaign_id))
    except CampaignRecord.DoesNotExist:
        raise NotFound(f"campaign {campaign_id} not found") from None
    _recent[campaign_id] = (now, binding, campaign)
    return campaign


def update(campaign_id: str, **changes: Any) -> Campaign:
    """Change non-status fields (`None` clears an optional one); `NotFound` if missing.

    Status changes go through `transition_status`, which checks the current status.
    """
    values = validate_changes(Campaign, changes, forbidden=_FORBIDDEN)
    return _update(campaign_id, values, CampaignRecord.id.exists())


def transition_status(
    campaign_id: str,
    from_statuses: Collection[CampaignStatus],
    to_status: CampaignStatus,
    **changes: Any,
) -> Campaign:
    """Move the campaign to `to_status` only if its status is one of `from_statuses` (one conditional
    write); `Conflict` otherwise, `NotFound` if missing."""
    if not from_statuses:
        raise ValueError("from_statuses must not be empty")
    values = validate_changes(Campaign, changes, forbidden=_FORBIDDEN)
    values["status"] = CampaignStatus(to_status)
    condition = CampaignRecord.status.is_in(*[CampaignStatus(s).value for s in from_statuses])
    return _update(campaign_id, values, condition)


def delete(campaign_id: str) -> None:
    """Delete the campaign item (its targets are left to the caller); `NotFound` if missing."""
    _recent.pop(campaign_id, None)
    try:
        CampaignRecord(campaign_id).delete(condition=CampaignRecord.id.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"campaign {campaign_id} not found") from exc
        raise


def list_all(limit: int = 50, cursor: str | None = None) -> Page[Campaign]:
    """Every campaign, newest first."""
    return query_page(
        CampaignRecord.by_created.query,
        _KIND,
        query_tag="campaigns.all",
        limit=limit,
        cursor=cursor,
        convert=_to_campaign,
        scan_index_forward=False,
    )


def list_by_status(status: CampaignStatus, limit: int = 100, cursor: str | None = None) -> Page[Campaign]:
    """Campaigns in one status, newest first (the scheduler asks for the active ones)."""
    status = CampaignStatus(status)
    return query_page(
        CampaignRecord.by_status.query,
        status.value,
        query_tag=f"campaigns.status:{status.value}",
        limit=limit,
        cursor=cursor,
        convert=_to_campaign,
        scan_index_forward=False,
    )


def _to_campaign(record: CampaignRecord) -> Campaign:
    return to_domain(Campaign, record)


def _storable(values: dict[str, Any]) -> dict[str, Any]:
    """The approved templates as plain JSON (the attribute stores dicts, not models)."""
    if "whatsapp_templates" in values:
        values["whatsapp_templates"] = {
            str(step): template.model_dump() for step, template in values["whatsapp_templates"].items()
        }
    return values


def _update(campaign_id: str, values: dict[str, Any], condition: Any) -> Campaign:
    _recent.pop(campaign_id, None)
    values = _storable(values)
    values["updated_at"] = clock.now()
    record = CampaignRecord(campaign_id)
    try:
        record.update(actions=set_actions(CampaignRecord, values), condition=condition)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        current = get(campaign_id)  # raises NotFound
        raise TransitionConflict("campaign", campaign_id, current.status.value) from exc
    return to_domain(Campaign, record)
