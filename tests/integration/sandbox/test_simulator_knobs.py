"""The simulators' sandbox knobs speak the real wire formats: Twilio's signed status callbacks for a
whole call, Evolution's webhooks with the token, and the hooks the simulated customers listen on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from twilio.request_validator import RequestValidator

from infra.local.simulators.evolution import EvolutionSimulator
from infra.local.simulators.server import RunningServer, serve_in_thread
from infra.local.simulators.twilio import SimCall, TwilioSimulator

TOKEN = "twilio-knob-token"


class Receiver:
    """A webhook endpoint that records what it gets (and whether Twilio's signature checks out)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.app = FastAPI()

        @self.app.post("/{path:path}")
        async def receive(path: str, request: Request) -> Response:
            body = await request.body()
            form = {k: str(v) for k, v in (await request.form()).items()} if b"=" in body else {}
            signed = RequestValidator(TOKEN).validate(
                str(request.url), form, request.headers.get("x-twilio-signature", "")
            )
            self.posts.append(
                {
                    "path": path,
                    "form": form,
                    "json": None if form else await request.json(),
                    "signed": signed,
                    "authorization": request.headers.get("authorization"),
                }
            )
            return Response(status_code=204)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, RunningServer]]:
    rec = Receiver()
    server = serve_in_thread(rec.app)
    yield rec, server
    server.stop()


def _call(base: str) -> SimCall:
    return SimCall(
        sid="CA" + "1" * 32,
        to="+5511970000001",
        from_="+551140040000",
        url=f"{base}/twiml",
        status_callback=f"{base}/status",
        status_callback_events=["initiated", "ringing", "answered", "completed"],
        machine_detection="Enable",
        async_amd="true",
        params={"AsyncAmdStatusCallback": [f"{base}/amd"]},
    )


def test_a_voicemail_call_plays_signed_progress_then_the_machine_verdict(receiver) -> None:
    rec, server = receiver
    twilio = TwilioSimulator(auth_token=TOKEN)

    twilio.play(_call(server.url), "voicemail")

    assert all(p["signed"] for p in rec.posts)
    steps = [(p["path"], p["form"].get("CallStatus"), p["form"].get("AnsweredBy")) for p in rec.posts]
    assert steps == [
        ("status", "initiated", None),
        ("status", "ringing", None),
        ("status", "in-progress", None),
        ("amd", None, "machine_start"),
        ("status", "completed", "machine_start"),
    ]
    assert [p["form"].get("SequenceNumber") for p in rec.posts if p["path"] == "status"] == [
        "0",
        "1",
        "2",
        "3",
    ]


def test_a_recorded_answered_call_posts_its_signed_recording_status_after_completed(receiver) -> None:
    rec, server = receiver
    twilio = TwilioSimulator(auth_token=TOKEN)
    recorded = _call(server.url)
    recorded.params |= {
        "Record": ["true"],
        "RecordingChannels": ["dual"],
        "RecordingStatusCallback": [f"{server.url}/recording"],
    }

    twilio.play(recorded, "answered", duration=75)
    twilio.play(_call(server.url), "answered")  # not recorded: no recording callback

    assert all(p["signed"] for p in rec.posts)
    assert [p["path"] for p in rec.posts].count("recording") == 1
    done = next(i for i, p in enumerate(rec.posts) if p["form"].get("CallStatus") == "completed")
    recording = rec.posts[done + 1]
    assert recording["path"] == "recording"
    form = recording["form"]
    assert form["CallSid"] == recorded.sid and form["RecordingSid"].startswith("RE")
    assert (form["RecordingStatus"], form["RecordingDuration"], form["RecordingChannels"]) == (
        "completed",
        "75",
        "2",
    )
    assert recorded.status == "completed" and recorded.duration == 75


def test_busy_and_unanswered_calls_end_with_their_final_status(receiver) -> None:
    rec, server = receiver
    twilio = TwilioSimulator(auth_token=TOKEN)

    twilio.play(_call(server.url), "busy")
    twilio.play(_call(server.url), "no-answer")

    statuses = [p["form"]["CallStatus"] for p in rec.posts]
    assert statuses == ["initiated", "busy", "initiated", "ringing", "no-answer"]
    assert all(p["signed"] for p in rec.posts)


def test_a_created_call_is_handed_to_the_on_call_hook() -> None:
    twilio = TwilioSimulator(account_sid="AC" + "2" * 32, auth_token=TOKEN)
    seen: list[SimCall] = []
    twilio.on_call = seen.append
    server = serve_in_thread(twilio.app)
    try:
        created = httpx.post(
            f"{server.url}/2010-04-01/Accounts/{twilio.account_sid}/Calls.json",
            data={"To": "+5511970000001", "From": "+551140040000", "Url": "http://x/twiml"},
            auth=(twilio.account_sid, TOKEN),
            timeout=5,
        )
    finally:
        server.stop()
    assert created.status_code == 201
    assert [c.sid for c in seen] == [created.json()["sid"]]


def test_a_customer_message_is_posted_as_evolutions_upsert_with_the_token(receiver) -> None:
    rec, server = receiver
    evolution = EvolutionSimulator(instance="cobranca")
    evolution.webhook_url, evolution.webhook_token = f"{server.url}/api/whatsapp/webhook", "hook-secret"

    message_id = evolution.customer_says("5511970000001", "Oi, sou eu", push_name="Ana")

    [post] = rec.posts
    assert post["authorization"] == "Bearer hook-secret"
    envelope = post["json"]
    assert envelope["event"] == "messages.upsert" and envelope["instance"] == "cobranca"
    assert envelope["data"]["key"] == {
        "remoteJid": "5511970000001@s.whatsapp.net",
        "fromMe": False,
        "id": message_id,
    }
    assert envelope["data"]["message"] == {"conversation": "Oi, sou eu"}
    assert envelope["data"]["pushName"] == "Ana"
