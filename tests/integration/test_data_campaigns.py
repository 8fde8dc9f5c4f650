"""Campaigns: CRUD, conditional status transitions, newest-first listings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.data import TransitionConflict, bind, campaigns
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import CampaignStatus, Channel

pytestmark = pytest.mark.usefixtures("tables")


def test_campaign_round_trip(clock, make_campaign):
    campaign = make_campaign(allowed_methods=[Channel.WHATSAPP, Channel.VOICE], weekdays=[1, 2, 3])
    campaigns.create(campaign)

    stored = campaigns.get(campaign.id)

    assert stored == campaign
    assert stored.weekdays == [1, 2, 3]


def test_create_twice_is_a_conflict(clock, make_campaign):
    campaign = make_campaign()
    campaigns.create(campaign)
    with pytest.raises(Conflict):
        campaigns.create(campaign)


def test_update_changes_fields_and_updated_at(clock, make_campaign):
    campaign = campaigns.create(make_campaign())
    clock.advance(timedelta(minutes=5))

    updated = campaigns.update(campaign.id, name="Abril", schedule_end="18:00")

    assert updated.name == "Abril" and updated.schedule_end == "18:00"
    assert updated.updated_at == clock.now()
    assert campaigns.get(campaign.id) == updated
    with pytest.raises(ValueError):
        campaigns.update(campaign.id, status=CampaignStatus.ACTIVE)
    with pytest.raises(NotFound):
        campaigns.update("missing", name="x")


def test_transition_status_is_conditional(clock, make_campaign):
    campaign = campaigns.create(make_campaign())

    active = campaigns.transition_status(
        campaign.id,
        [CampaignStatus.DRAFT, CampaignStatus.PAUSED],
        CampaignStatus.ACTIVE,
        started_at=clock.now(),
    )

    assert active.status is CampaignStatus.ACTIVE and active.started_at == clock.now()
    with pytest.raises(TransitionConflict) as raised:
        campaigns.transition_status(campaign.id, [CampaignStatus.DRAFT], CampaignStatus.ACTIVE)
    assert raised.value.current == "active"
    with pytest.raises(NotFound):
        campaigns.transition_status("missing", [CampaignStatus.DRAFT], CampaignStatus.ACTIVE)


def test_delete(clock, make_campaign):
    campaign = campaigns.create(make_campaign())
    campaigns.delete(campaign.id)
    with pytest.raises(NotFound):
        campaigns.get(campaign.id)
    with pytest.raises(NotFound):
        campaigns.delete(campaign.id)


def test_list_all_newest_first_with_pages(clock, make_campaign):
    created = []
    for _ in range(5):
        created.append(campaigns.create(make_campaign()))
        clock.advance(timedelta(minutes=1))

    first = campaigns.list_all(limit=3)
    second = campaigns.list_all(limit=3, cursor=first.next_cursor)

    assert [c.id for c in first.items + second.items] == [c.id for c in reversed(created)]
    assert second.next_cursor is None


def test_list_by_status(clock, make_campaign):
    draft = campaigns.create(make_campaign())
    active = campaigns.create(make_campaign())
    campaigns.transition_status(active.id, [CampaignStatus.DRAFT], CampaignStatus.ACTIVE)

    assert [c.id for c in campaigns.list_by_status(CampaignStatus.ACTIVE).items] == [active.id]
    assert [c.id for c in campaigns.list_by_status(CampaignStatus.DRAFT).items] == [draft.id]
    assert campaigns.list_by_status(CampaignStatus.COMPLETED).items == []


def _paused_elsewhere(campaign_id: str) -> None:
    """Another process pauses the campaign (a write this process's module never saw)."""
    campaigns.CampaignRecord(campaign_id).update(actions=[campaigns.CampaignRecord.status.set("paused")])


def test_a_recent_copy_serves_until_it_expires(clock, make_campaign, monkeypatch):
    campaign = campaigns.create(make_campaign(status=CampaignStatus.ACTIVE))
    assert campaigns.get_recent(campaign.id).status is CampaignStatus.ACTIVE

    _paused_elsewhere(campaign.id)

    assert campaigns.get_recent(campaign.id).status is CampaignStatus.ACTIVE  # this process's copy
    assert campaigns.get(campaign.id).status is CampaignStatus.PAUSED
    monkeypatch.setattr(campaigns, "RECENT_SECONDS", 0.0)
    assert campaigns.get_recent(campaign.id).status is CampaignStatus.PAUSED


def test_a_write_in_this_process_or_a_new_binding_drops_the_recent_copy(clock, make_campaign):
    campaign = campaigns.create(make_campaign(status=CampaignStatus.ACTIVE))
    campaigns.get_recent(campaign.id)

    campaigns.transition_status(campaign.id, [CampaignStatus.ACTIVE], CampaignStatus.PAUSED)
    assert campaigns.get_recent(campaign.id).status is CampaignStatus.PAUSED

    campaigns.transition_status(campaign.id, [CampaignStatus.PAUSED], CampaignStatus.ACTIVE)
    campaigns.get_recent(campaign.id)
    _paused_elsewhere(campaign.id)
    bind()  # other tables or another endpoint: nothing read under the old binding is served
    assert campaigns.get_recent(campaign.id).status is CampaignStatus.PAUSED
    with pytest.raises(NotFound):
        campaigns.get_recent("missing")
