"""`/api/voice/campaigns`: validation, the status machine `draft → active ⇄ paused → completed`."""

from __future__ import annotations

import json

import pytest

from tests.integration.api.conftest import GOOD_CSV, Api


def test_create_returns_the_campaign_in_camel_case_as_draft(api: Api) -> None:
    campaign = api.create_campaign(
        name="  Cobrança Janeiro 2025 ",
        contactMethod="whatsapp_primary",
        allowedMethods=["whatsapp", "voice"],
        fallbackOrder=["whatsapp", "voice"],
        scheduleStart="08:00",
        scheduleEnd="20:00",
    )
    assert campaign["name"] == "Cobrança Janeiro 2025"
    assert campaign["status"] == "draft"
    assert campaign["contactMethod"] == "whatsapp_primary"
    assert campaign["allowedMethods"] == ["whatsapp", "voice"]
    assert campaign["fallbackOrder"] == ["whatsapp", "voice"]
    assert campaign["weekdays"] == [1, 2, 3, 4, 5, 6]
    assert campaign["startedAt"] is None
    assert api.get(f"/api/voice/campaigns/{campaign['id']}").json() == campaign


@pytest.mark.parametrize(
    ("method", "allowed", "order"),
    [
        ("voice", ["voice"], ["voice"]),
        ("whatsapp_primary", ["whatsapp", "voice"], ["whatsapp", "voice"]),
        ("whatsapp_fallback", ["voice", "whatsapp"], ["voice", "whatsapp"]),
    ],
)
def test_channels_default_from_the_contact_method(
    api: Api, method: str, allowed: list[str], order: list[str]
) -> None:
    campaign = api.create_campaign(contactMethod=method)
    assert campaign["allowedMethods"] == allowed
    assert campaign["fallbackOrder"] == order


def test_whatsapp_only_campaign_when_voice_is_not_allowed(api: Api) -> None:
    campaign = api.create_campaign(contactMethod="whatsapp_primary", allowedMethods=["whatsapp"])
    assert campaign["fallbackOrder"] == ["whatsapp"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {
                "contactMethod": "whatsapp_primary",
                "allowedMethods": ["whatsapp"],
                "fallbackOrder": ["whatsapp", "voice"],
            },
            "fallbackOrder uses channels not in allowedMethods: voice",
        ),
        (
            {
                "contactMethod": "whatsapp_primary",
                "fallbackOrder": ["voice", "whatsapp"],
                "allowedMethods": ["voice", "whatsapp"],
            },
            "contactMethod whatsapp_primary starts with whatsapp, but fallbackOrder starts with voice",
        ),
        (
            {
                "contactMethod": "voice",
                "allowedMethods": ["voice", "whatsapp"],
                "fallbackOrder": ["voice", "whatsapp"],
            },
            "contactMethod voice never uses WhatsApp: remove it from fallbackOrder",
        ),
        (
            {"contactMethod": "whatsapp_fallback", "allowedMethods": ["voice"], "fallbackOrder": ["voice"]},
            "contactMethod whatsapp_fallback needs whatsapp in fallbackOrder",
        ),
        (
            {"contactMethod": "voice", "allowedMethods": ["voice"], "fallbackOrder": ["voice", "voice"]},
            "allowedMethods and fallbackOrder must not repeat a channel",
        ),
        ({"contactMethod": "voice", "fallbackOrder": []}, "fallbackOrder must name at least one channel"),
        ({"contactMethod": "voice", "weekdays": [1, 7]}, "weekdays must be 1 (Monday) to 6 (Saturday)"),
        ({"contactMethod": "voice", "weekdays": []}, "weekdays must list at least one day"),
    ],
)
def test_inconsistent_channels_or_days_are_422_with_the_reason(api: Api, body: dict, detail: str) -> None:
    response = api.post("/api/voice/campaigns", json={"name": "X", **body})
    assert response.status_code == 422
    assert detail in response.json()["detail"]


def test_start_must_be_before_end(api: Api) -> None:
    response = api.post(
        "/api/voice/campaigns",
        json={"name": "X", "contactMethod": "voice", "scheduleStart": "18:00", "scheduleEnd": "09:00"},
    )
    assert response.status_code == 422
    assert "18:00" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "contactMethod": "sms"},
        {"name": "X", "contactMethod": "voice", "scheduleStart": "8h"},
        {"name": "X", "contactMethod": "voice", "scheduleEnd": "24:00"},
        {"name": "", "contactMethod": "voice"},
        {"contactMethod": "voice"},
        {"name": "X", "contactMethod": "voice", "unknownField": 1},
        {"name": "X", "contactMethod": "voice", "allowedMethods": ["fax"]},
        {"name": "X", "contactMethod": "voice", "maxAttemptsPerChannel": 0},
    ],
)
def test_malformed_bodies_are_422_never_5xx(api: Api, body: dict) -> None:
    response = api.post("/api/voice/campaigns", json=body)
    assert response.status_code == 422
    assert "detail" in response.json()


def test_non_json_body_is_422(api: Api) -> None:
    response = api.client.post(
        "/api/voice/campaigns",
        content=b"{not json",
        headers={**api.headers("admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_unknown_campaign_is_404(api: Api) -> None:
    response = api.get("/api/voice/campaigns/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "campaign nope not found", "code": "not_found"}


def test_list_pages_with_a_cursor_header(api: Api) -> None:
    ids = [api.create_campaign(name=f"C{i}")["id"] for i in range(3)]
    first = api.get("/api/voice/campaigns", params={"limit": 2})
    assert first.status_code == 200
    cursor = first.headers["x-next-cursor"]
    second = api.get("/api/voice/campaigns", params={"limit": 2, "cursor": cursor})
    listed = [c["id"] for c in first.json() + second.json()]
    assert sorted(listed) == sorted(ids)
    assert "x-next-cursor" not in second.headers


def test_a_foreign_cursor_is_422(api: Api) -> None:
    response = api.get("/api/voice/campaigns", params={"cursor": "garbage"})
    assert response.status_code == 422


def test_patch_edits_settings_and_revalidates_the_whole(api: Api) -> None:
    campaign = api.create_campaign(contactMethod="voice")
    changed = api.patch(
        f"/api/voice/campaigns/{campaign['id']}", json={"name": "Nova", "scheduleEnd": "18:00"}
    )
    assert changed.status_code == 200
    assert changed.json()["name"] == "Nova" and changed.json()["scheduleEnd"] == "18:00"
    switched = api.patch(f"/api/voice/campaigns/{campaign['id']}", json={"contactMethod": "whatsapp_primary"})
    assert switched.json()["fallbackOrder"] == ["whatsapp", "voice"]
    bad = api.patch(f"/api/voice/campaigns/{campaign['id']}", json={"scheduleStart": "19:00"})
    assert bad.status_code == 422


def test_activate_sets_started_at_and_kicks_the_scheduler(api: Api) -> None:
    campaign = api.create_campaign()
    response = api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["campaign"]["status"] == "active"
    assert body["campaign"]["startedAt"] is not None
    messages = [json.loads(m) for m in api.scheduler_messages()]
    assert messages == [{"campaignId": campaign["id"], "reason": "activated"}]


@pytest.mark.parametrize(
    ("path", "start", "expected_status", "code"),
    [
        ("pause", "draft", None, 409),
        ("complete", "draft", None, 409),
        ("activate", "active", None, 409),
        ("pause", "active", "paused", 200),
        ("complete", "active", "completed", 200),
        ("activate", "paused", "active", 200),
        ("pause", "paused", None, 409),
        ("complete", "paused", "completed", 200),
        ("activate", "completed", None, 409),
        ("pause", "completed", None, 409),
    ],
)
def test_status_machine(api: Api, path: str, start: str, expected_status: str | None, code: int) -> None:
    campaign = api.create_campaign()
    route = f"/api/voice/campaigns/{campaign['id']}"
    steps = {
        "draft": [],
        "active": ["activate"],
        "paused": ["activate", "pause"],
        "completed": ["activate", "complete"],
    }
    for step in steps[start]:
        assert api.post(f"{route}/{step}", role="supervisor").status_code == 200
    response = api.post(f"{route}/{path}", role="supervisor")
    assert response.status_code == code, response.text
    if code == 200:
        assert response.json()["campaign"]["status"] == expected_status
    else:
        assert response.json()["detail"].startswith(f"campaign {campaign['id']} cannot go from {start} to")


def test_patch_status_follows_the_same_machine(api: Api) -> None:
    campaign = api.create_campaign()
    route = f"/api/voice/campaigns/{campaign['id']}"
    assert api.patch(route, json={"status": "paused"}).status_code == 409
    assert api.patch(route, json={"status": "active"}).json()["status"] == "active"


def test_completed_campaign_cannot_be_edited(api: Api) -> None:
    campaign = api.create_campaign()
    route = f"/api/voice/campaigns/{campaign['id']}"
    api.post(f"{route}/activate", role="supervisor")
    api.post(f"{route}/complete", role="supervisor")
    response = api.patch(route, json={"name": "again"})
    assert response.status_code == 409


def test_delete_draft_removes_it_and_its_targets(api: Api) -> None:
    campaign = api.create_campaign()
    api.import_csv(campaign["id"], GOOD_CSV)
    assert api.delete(f"/api/voice/campaigns/{campaign['id']}").json() == {"success": True}
    assert api.get(f"/api/voice/campaigns/{campaign['id']}").status_code == 404
    from shared.data import targets

    assert targets.list_for_campaign(campaign["id"]).items == []


def test_a_campaign_that_ran_cannot_be_deleted(api: Api) -> None:
    campaign = api.create_campaign()
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    response = api.delete(f"/api/voice/campaigns/{campaign['id']}")
    assert response.status_code == 409
    assert "only draft campaigns can be deleted" in response.json()["detail"]


def test_supervisor_cannot_delete(api: Api) -> None:
    campaign = api.create_campaign()
    assert api.delete(f"/api/voice/campaigns/{campaign['id']}", role="supervisor").status_code == 403


def test_trust_unlock_is_off_by_default_set_on_create_and_toggled_by_patch(api: Api) -> None:
    assert api.create_campaign()["trustUnlock"] is False
    campaign = api.create_campaign(trustUnlock=True)
    assert campaign["trustUnlock"] is True
    route = f"/api/voice/campaigns/{campaign['id']}"

    assert api.patch(route, json={"trustUnlock": False}).json()["trustUnlock"] is False
    assert api.get(route).json()["trustUnlock"] is False
    assert api.patch(route, json={"name": "renamed"}).json()["trustUnlock"] is False  # untouched


@pytest.mark.parametrize("field", ["voicemailDrop", "recordCalls"])
def test_voice_switches_are_off_by_default_set_on_create_and_toggled_by_patch(api: Api, field: str) -> None:
    assert api.create_campaign()[field] is False
    campaign = api.create_campaign(**{field: True})
    assert campaign[field] is True
    route = f"/api/voice/campaigns/{campaign['id']}"

    assert api.patch(route, json={field: False}).json()[field] is False
    assert api.get(route).json()[field] is False
    assert api.patch(route, json={field: True}).json()[field] is True
    assert api.patch(route, json={"name": "renamed"}).json()[field] is True  # untouched


@pytest.mark.parametrize("field", ["trustUnlock", "voicemailDrop", "recordCalls"])
@pytest.mark.parametrize("value", [None, "yes", 1])
def test_campaign_switches_must_be_booleans(api: Api, field: str, value: object) -> None:
    campaign = api.create_campaign()
    patched = api.patch(f"/api/voice/campaigns/{campaign['id']}", json={field: value})
    created = api.post("/api/voice/campaigns", json={"name": "X", "contactMethod": "voice", field: value})
    assert patched.status_code == 422 and created.status_code == 422


def test_the_cadence_and_the_message_texts_are_stored_and_returned(api: Api) -> None:
    campaign = api.create_campaign(contactMethod="whatsapp_primary")
    assert (campaign["followUpAfterDays"], campaign["maxContacts"], campaign["messages"]) == (3, 6, {})

    texts = {"follow_up": "{nome}, voltando ao assunto com a {empresa} ({cnpj}). Responda PARAR para sair."}
    response = api.patch(
        f"/api/voice/campaigns/{campaign['id']}",
        json={"followUpAfterDays": 5, "maxContacts": 2, "messages": texts},
    )

    assert response.status_code == 200, response.text
    assert api.get(f"/api/voice/campaigns/{campaign['id']}").json()["messages"] == texts
    assert (response.json()["followUpAfterDays"], response.json()["maxContacts"]) == (5, 2)


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"followUpAfterDays": 0}, "followUpAfterDays"),
        ({"followUpAfterDays": 31}, "followUpAfterDays"),
        ({"maxContacts": 21}, "maxContacts"),
        ({"messages": {"first_contact": "Oi {nome}, seu débito é {valor}. PARAR para sair."}}, "{valor}"),
        ({"messages": {"first_contact": "Oi {nome}, tudo bem?"}}, "PARAR"),
        ({"messages": {"second_try": "Oi {nome}. PARAR"}}, "second_try"),
    ],
)
def test_a_cadence_out_of_range_or_an_unknown_placeholder_is_422_naming_it(
    api: Api, extra: dict, named: str
) -> None:
    response = api.post("/api/voice/campaigns", json={"name": "X", "contactMethod": "voice", **extra})
    assert response.status_code == 422
    assert named in json.dumps(response.json(), ensure_ascii=False)

    campaign = api.create_campaign(contactMethod="voice")
    patched = api.patch(f"/api/voice/campaigns/{campaign['id']}", json=extra)
    assert patched.status_code == 422
    assert named in json.dumps(patched.json(), ensure_ascii=False)


@pytest.mark.parametrize("field", ["followUpAfterDays", "maxContacts", "messages"])
def test_patching_a_cadence_field_to_null_is_422(api: Api, field: str) -> None:
    campaign = api.create_campaign(contactMethod="voice")
    response = api.patch(f"/api/voice/campaigns/{campaign['id']}", json={field: None})
    assert response.status_code == 422
    assert field in json.dumps(response.json())
