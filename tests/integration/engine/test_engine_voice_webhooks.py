"""Twilio's webhooks on the API: signed status callbacks onto the post-call queue, and the TwiML of an
answered call. Signatures are computed exactly as Twilio does (the SDK's validator, via the simulator)
over the public URL the dialer gave Twilio — not the host the app sees."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from infra.local.simulators.twilio import SimCall, signature_for
from shared.adapters import stream_tokens
from shared.domain.models import Channel, ContactMethod
from tests.integration.engine.engine_world import BRIDGE_URL, TWILIO_TOKEN, WEBHOOK_BASE, Engine

STATUS_PATH = "/api/voice/webhooks/twilio/status"


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    from functions.api.app import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def call(engine: Engine) -> SimCall:
    """A call the dialer really placed through the Twilio simulator."""
    campaign = engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE])
    engine.scheduled(campaign, 1, channel=Channel.VOICE)
    engine.drain("dialer")
    [placed] = engine.twilio.calls.values()
    return placed


def _signed(url: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": signature_for(url, params, TWILIO_TOKEN)}


def test_a_status_callback_without_a_signature_is_refused(engine: Engine, api: TestClient, call: SimCall):
    params = engine.twilio.status_params(call, "completed", duration=42)

    response = api.post(STATUS_PATH, data=params)

    assert response.status_code == 403
    assert engine.bodies("post_call") == []


def test_a_badly_signed_status_callback_is_refused(engine: Engine, api: TestClient, call: SimCall):
    params = engine.twilio.status_params(call, "completed", duration=42)
    forged = signature_for(call.status_callback or "", params, "not-the-auth-token")

    response = api.post(STATUS_PATH, data=params, headers={"X-Twilio-Signature": forged})

    assert response.status_code == 403
    assert engine.bodies("post_call") == []


def test_a_signature_over_the_internal_host_is_refused(engine: Engine, api: TestClient, call: SimCall):
    params = engine.twilio.status_params(call, "completed")

    response = api.post(STATUS_PATH, data=params, headers=_signed(f"http://testserver{STATUS_PATH}", params))

    assert response.status_code == 403  # Twilio signs the public URL (WEBHOOK_BASE_URL), nothing else


def test_a_signed_status_callback_is_queued_for_the_post_call_worker(
    engine: Engine, api: TestClient, call: SimCall
):
    params = engine.twilio.status_params(call, "completed", duration=42, answered_by="human")
    assert call.status_callback == WEBHOOK_BASE + STATUS_PATH

    response = api.post(STATUS_PATH, data=params, headers=_signed(call.status_callback, params))

    assert response.status_code == 204
    [body] = engine.bodies("post_call")
    assert body["CallSid"] == call.sid
    assert (body["CallStatus"], body["CallDuration"], body["AnsweredBy"]) == ("completed", 42, "human")
    assert body["SequenceNumber"] == int(params["SequenceNumber"])


def test_a_signed_form_that_is_not_a_status_callback_is_a_precise_4xx(engine: Engine, api: TestClient):
    params = {"AccountSid": "AC123", "CallStatus": "completed"}

    response = api.post(STATUS_PATH, data=params, headers=_signed(WEBHOOK_BASE + STATUS_PATH, params))

    assert response.status_code == 422
    assert "CallSid" in response.json()["detail"]
    assert engine.bodies("post_call") == []


def test_the_answered_call_streams_to_the_bridge_with_a_verifiable_token(
    engine: Engine, api: TestClient, call: SimCall
):
    target_id = call.url.rsplit("/", 1)[1]
    params = {"AccountSid": engine.twilio.account_sid, "CallSid": call.sid, "CallStatus": "in-progress"}

    response = api.post(call.url.removeprefix(WEBHOOK_BASE), data=params, headers=_signed(call.url, params))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    stream = ET.fromstring(response.text).find("./Connect/Stream")
    assert stream is not None and stream.get("url") == BRIDGE_URL
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert parameters["targetId"] == target_id and parameters["callSid"] == call.sid
    token = parameters["token"]
    assert stream_tokens.verify(token, target_id, call.sid, TWILIO_TOKEN)
    assert not stream_tokens.verify(token, "ANOTHERTARGET", call.sid, TWILIO_TOKEN)
    assert not stream_tokens.verify(token, target_id, "CA-other-call", TWILIO_TOKEN)
    assert not stream_tokens.verify(
        token, target_id, call.sid, TWILIO_TOKEN, now=engine.clock.now() + timedelta(minutes=6)
    )


def test_twiml_fetched_with_get_is_signed_over_its_query_string(
    engine: Engine, api: TestClient, call: SimCall
):
    url = f"{call.url}?CallSid={call.sid}&AccountSid={engine.twilio.account_sid}"

    response = api.get(url.removeprefix(WEBHOOK_BASE), headers=_signed(url, {}))

    assert response.status_code == 200
    assert "<Connect><Stream" in response.text


def test_unsigned_twiml_requests_are_refused(engine: Engine, api: TestClient, call: SimCall):
    response = api.post(call.url.removeprefix(WEBHOOK_BASE), data={"CallSid": call.sid})

    assert response.status_code == 403
    assert "Stream" not in response.text


@pytest.mark.parametrize("target_id", ["UNKNOWNTARGET0000000", "not a valid id!"])
def test_twiml_for_an_unknown_target_says_goodbye_and_hangs_up(
    engine: Engine, api: TestClient, target_id: str
):
    url = f"{WEBHOOK_BASE}/api/voice/twiml/{target_id}"
    params = {"CallSid": "CA" + "0" * 32}

    response = api.post(
        url.removeprefix(WEBHOOK_BASE), data=params, headers=_signed(url.replace(" ", "%20"), params)
    )

    assert response.status_code == 200
    root = ET.fromstring(response.text)
    say = root.find("Say")
    assert say is not None and say.get("language") == "pt-BR" and "até logo" in (say.text or "")
    assert root.find("Hangup") is not None and root.find("Connect") is None


def test_the_status_route_never_leaks_the_auth_token(engine: Engine, api: TestClient, call: SimCall):
    params = engine.twilio.status_params(call, "ringing")

    response = api.post(STATUS_PATH, data=params, headers={"X-Twilio-Signature": "x"})

    assert TWILIO_TOKEN not in response.text and TWILIO_TOKEN not in json.dumps(dict(response.headers))
