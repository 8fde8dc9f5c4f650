"""Hostile requests to the admin API (issue 14, findings 5 and 9): a stranger gets 401 before any
body is read, whatever the body; a null where a field has no "nothing" value is a 422 naming it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from functions.api.app import create_app
from functions.api.deps import AuthenticateFirst, current_principal
from tests.integration.api.conftest import GOOD_CSV, Api


def _needs_principal(route: APIRoute) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if dependency.call is current_principal:
            return True
        stack.extend(dependency.dependencies)
    return False


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute of the app (FastAPI keeps an included router whole, as `original_router`)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_api_routes(route.original_router.routes))
    return found


PROTECTED_ROUTES = [route for route in _api_routes(create_app().routes) if _needs_principal(route)]
PROTECTED = [(method, route.path) for route in PROTECTED_ROUTES for method in sorted(route.methods)]
MALFORMED = [
    ("application/json", b"{not json"),
    ("application/json", b"[" * 5000),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nbroken"),
    ("application/x-www-form-urlencoded", b"%%%=&&&"),
]


def test_every_route_that_needs_a_caller_authenticates_before_reading_the_body() -> None:
    assert len(PROTECTED_ROUTES) > 20
    assert [route.path for route in PROTECTED_ROUTES if not isinstance(route, AuthenticateFirst)] == []


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_a_stranger_with_a_malformed_body_gets_401(api: Api, method: str, path: str) -> None:
    url = re.sub(r"\{[^}]+\}", "01JNZZZZZZZZZZZZZZZZZZZZZZ", path)
    for content_type, body in MALFORMED:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = api.client.request(
                method, url, content=body, headers=headers | {"Content-Type": content_type}
            )
            assert response.status_code == 401, (content_type, headers, response.text)


def test_a_known_caller_with_a_malformed_body_gets_a_4xx(api: Api) -> None:
    campaign = api.create_campaign()
    for content_type, body in MALFORMED:
        response = api.client.patch(
            f"/api/voice/campaigns/{campaign['id']}",
            content=body,
            headers=api.headers("admin") | {"Content-Type": content_type},
        )
        assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize(
    "field",
    ["name", "contactMethod", "scheduleStart", "scheduleEnd", "weekdays", "maxAttemptsPerChannel", "status"],
)
def test_null_for_a_campaign_field_without_a_nothing_value_is_a_422_naming_it(api: Api, field: str) -> None:
    campaign = api.create_campaign()
    response = api.patch(f"/api/voice/campaigns/{campaign['id']}", json={field: None})
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]
    assert api.get(f"/api/voice/campaigns/{campaign['id']}").json() == campaign


def test_null_channel_lists_still_mean_the_defaults(api: Api) -> None:
    campaign = api.create_campaign()
    response = api.patch(f"/api/voice/campaigns/{campaign['id']}", json={"allowedMethods": None})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("field", ["clientName", "nextAttemptAt"])
def test_null_for_a_target_field_without_a_nothing_value_is_a_422_naming_it(api: Api, field: str) -> None:
    campaign = api.create_campaign()
    assert api.import_csv(campaign["id"], GOOD_CSV).status_code == 200
    target: dict[str, Any] = api.get(f"/api/voice/campaigns/{campaign['id']}/targets").json()[0]
    response = api.patch(f"/api/voice/targets/{target['id']}", json={field: None}, role="supervisor")
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]
    cleared = api.patch(
        f"/api/voice/targets/{target['id']}", json={"outcomeDetails": None}, role="supervisor"
    )
    assert cleared.status_code == 200, cleared.text


TWILIO_PATHS = [
    "/api/voice/webhooks/twilio/status",
    "/api/voice/webhooks/twilio/recording",
    "/api/voice/twiml/01JNZZZZZZZZZZZZZZZZZZZZZZ",
]


@pytest.mark.parametrize("path", TWILIO_PATHS)
def test_twilio_webhooks_refuse_unsigned_and_malformed_requests_with_a_4xx(
    api: Api, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    from shared.core.config import reset_settings

    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "twilio-token")
    reset_settings()
    bodies = [*MALFORMED, ("application/x-www-form-urlencoded", b"CallSid=" + b"A" * 3_000_000)]
    for content_type, body in bodies:
        for signature in ({}, {"X-Twilio-Signature": "forged"}):
            response = api.client.post(path, content=body, headers=signature | {"Content-Type": content_type})
            assert response.status_code in (400, 403, 413), (content_type, response.text)


@pytest.mark.parametrize(
    "moment",
    [
        "0032-12-29T06:45:59.5Z",
        "2025-03-11T09:00:00",
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+05:00",
    ],
    ids=["year-32", "naive", "after-9999-in-utc", "before-year-1-in-utc"],
)
def test_a_reschedule_to_an_absurd_or_naive_moment_is_a_422_and_the_target_stays_readable(
    api: Api, moment: str
) -> None:
    """Found by `make fuzz`: year 32 was stored as "32-12-29…", which could never be read back (500)."""
    campaign = api.create_campaign()
    assert api.import_csv(campaign["id"], GOOD_CSV).status_code == 200
    target = api.get(f"/api/voice/campaigns/{campaign['id']}/targets").json()[0]
    response = api.patch(
        f"/api/voice/targets/{target['id']}", json={"nextAttemptAt": moment}, role="supervisor"
    )
    assert response.status_code == 422, response.text
    again = api.patch(f"/api/voice/targets/{target['id']}", json={}, role="supervisor")
    assert again.status_code == 200
    assert again.json()["nextAttemptAt"] == target["nextAttemptAt"]
