"""A Twilio REST simulator for the parts of Programmable Voice we use: `Calls.json` (create) and
`Calls/{Sid}.json` (fetch, and update, e.g. hang up), with HTTP basic auth, and status callbacks (and the
recording-status callback of a call created with `Record=true`) signed with `X-Twilio-Signature` exactly as
Twilio computes it (the SDK's `RequestValidator`).

A call updated with `Twiml` holding a `<Dial>` plays the dial as Twilio would, in the background
(`run_twiml`): the outcome is `dial_outcome` (`completed` — the agent answered —, `busy`, `no-answer`,
`failed`); answered, the `<Number url>` whisper is fetched first; then the `<Dial action>` gets
`DialCallStatus`, signed. Each dial played is in `dials`, with the TwiML our webhooks answered.

An answered call with a `caller` (a simulated person) plays as Twilio plays one: the call's TwiML is
fetched (signed POST to its `Url`), and its `<Connect><Stream>` opens a Media Streams websocket
(`media_stream`: `connected`, `start` with the `<Parameter>`s, `media`, mark echoes, `stop`) on which the
caller hears the assistant and answers (`speech`) until one side hangs up; then `completed`."""

from __future__ import annotations

import base64
import secrets
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from twilio.request_validator import RequestValidator

from infra.local.simulators.media_stream import Caller, StreamedCall, stream_call, stream_of
from infra.local.simulators.server import webhook_client


@dataclass
class SimCall:
    sid: str
    to: str
    from_: str
    url: str
    status_callback: str | None
    status_callback_events: list[str]
    machine_detection: str | None
    async_amd: str | None
    status: str = "queued"
    duration: int | None = None  # seconds, once the call has ended
    params: dict[str, list[str]] = field(default_factory=dict)
    callbacks_sent: int = 0  # Twilio numbers each status callback of a call: SequenceNumber 0, 1, ...


@dataclass
class SimDial:
    """A `<Dial>` the simulator played for a call."""

    call_sid: str
    number: str
    caller_id: str | None
    status: str  # the DialCallStatus posted to the action
    whisper: str | None = None  # the TwiML our whisper URL answered (only when answered)
    ending: str | None = None  # the TwiML our action URL answered
    done: threading.Event = field(default_factory=threading.Event, repr=False)


Poster = Callable[[str, dict[str, str], dict[str, str]], httpx.Response]


def _post(url: str, data: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    return webhook_client().post(url, data=data, headers=headers, timeout=10)


class TwilioSimulator:
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "twilio-test-token") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.calls: dict[str, SimCall] = {}
        self.hangups: list[str] = []
        self.twiml_updates: list[tuple[str, str]] = []  # (CallSid, TwiML) of calls updated with `Twiml`
        # Called with each new call once it is created (the sandbox's simulated customers pick up).
        self.on_call: Callable[[SimCall], None] | None = None
        # What a `<Dial>` gets: "completed" (answered), "busy", "no-answer" or "failed".
        self.dial_outcome = "completed"
        self.dials: list[SimDial] = []
        # How signed webhooks of a played dial are posted (tests may route them to an in-process app).
        self.post: Poster = _post
        self._lock = threading.Lock()
        self.app = self._build_app()

    def calls_to(self, e164_plus: str) -> list[SimCall]:
        with self._lock:
            return [c for c in self.calls.values() if c.to == e164_plus]

    def status_params(
        self, call: SimCall, status: str, *, duration: int | None = None, answered_by: str | None = None
    ) -> dict[str, str]:
        """The form Twilio posts to the status callback for `status`."""
        params = {
            "AccountSid": self.account_sid,
            "CallSid": call.sid,
            "CallStatus": status,
            "To": call.to,
            "From": call.from_,
            "Direction": "outbound-api",
            "ApiVersion": "2010-04-01",
            "Timestamp": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }
        if duration is not None:
            params["CallDuration"] = str(duration)
        if answered_by is not None:
            params["AnsweredBy"] = answered_by
        with self._lock:
            params["SequenceNumber"] = str(call.callbacks_sent)
            call.callbacks_sent += 1
        return params

    def amd_params(self, call: SimCall, answered_by: str, *, detection_ms: int = 2500) -> dict[str, str]:
        """The form Twilio posts to `AsyncAmdStatusCallback` once answering-machine detection decides
        (`human`, `machine_start`, `machine_end_beep`, ..., `fax`, `unknown`): no CallStatus."""
        return {
            "AccountSid": self.account_sid,
            "CallSid": call.sid,
            "AnsweredBy": answered_by,
            "MachineDetectionDuration": str(detection_ms),
        }

    def recording_params(self, call: SimCall, *, duration: int, status: str = "completed") -> dict[str, str]:
        """The form Twilio posts to `RecordingStatusCallback` once a recorded call's recording is done."""
        recording_sid = "RE" + secrets.token_hex(16)
        return {
            "AccountSid": self.account_sid,
            "CallSid": call.sid,
            "RecordingSid": recording_sid,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/"
            + recording_sid,
            "RecordingStatus": status,
            "RecordingDuration": str(duration),
            "RecordingChannels": "2" if call.params.get("RecordingChannels") == ["dual"] else "1",
            "RecordingStartTime": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "RecordingSource": "OutboundAPI",
        }

    def play(
        self, call: SimCall, ending: str, *, duration: int = 42, caller: Caller | None = None
    ) -> list[httpx.Response]:
        """Play a whole call's callbacks, as Twilio would, signed, to the URLs it was created with.

        `ending`: `answered` (a person: ringing, in-progress, AMD `human`, completed with a duration),
        `voicemail` (AMD `machine_start`, then completed with `AnsweredBy`), `no-answer`, `busy`,
        `failed`. Progress statuses go out only for the events the call subscribed to
        (`StatusCallbackEvent`); final statuses always do. An answered call with a `caller` fetches its
        TwiML and talks on its media stream before it completes, lasting as long as was said; a recorded
        answered call (`Record=true`) then posts its recording-status callback. Returns the responses, in
        order."""
        subscribed = set(call.status_callback_events) or {"completed"}
        amd_url = call.params.get("AsyncAmdStatusCallback", [None])[0]
        steps: list[tuple[str, dict[str, str]]] = []
        responses: list[httpx.Response] = []

        def status(name: str, event: str, **kwargs: Any) -> None:
            if event in subscribed or event == "completed":
                steps.append((str(call.status_callback), self.status_params(call, name, **kwargs)))

        def post_steps() -> None:
            responses.extend(signed_post(url, params, self.auth_token) for url, params in steps)
            steps.clear()

        status("initiated", "initiated")
        if ending in ("answered", "voicemail", "no-answer"):
            status("ringing", "ringing")
        if ending in ("answered", "voicemail"):
            status("in-progress", "answered")
            verdict = "human" if ending == "answered" else "machine_start"
            if amd_url and (call.async_amd or "").lower() == "true":
                steps.append((amd_url, self.amd_params(call, verdict)))
            if ending == "answered" and caller is not None:
                post_steps()
                duration = max(1, round(self.converse(call, caller).seconds))
            machine = {"answered_by": verdict} if ending == "voicemail" else {}
            status("completed", "completed", duration=duration if ending == "answered" else 4, **machine)
        else:
            status(ending, "completed", duration=0)
        if steps:
            final = steps[-1][1]
            call.status = final.get("CallStatus", call.status)
            call.duration = int(final["CallDuration"]) if "CallDuration" in final else call.duration
        recording_url = call.params.get("RecordingStatusCallback", [None])[0]
        if ending == "answered" and recording_url and call.params.get("Record") == ["true"]:
            steps.append((recording_url, self.recording_params(call, duration=duration)))
        post_steps()
        return responses

    def converse(self, call: SimCall, caller: Caller) -> StreamedCall:
        """The answered call's TwiML, fetched as Twilio does; its media stream played with `caller`."""
        params = {
            "AccountSid": self.account_sid,
            "CallSid": call.sid,
            "CallStatus": "in-progress",
            "To": call.to,
            "From": call.from_,
            "Direction": "outbound-api",
            "ApiVersion": "2010-04-01",
        }
        twiml = signed_post(call.url, params, self.auth_token)
        twiml.raise_for_status()
        stream = stream_of(twiml.text)
        if stream is None:  # the TwiML said goodbye (<Say>, <Hangup/>): no stream
            return StreamedCall(seconds=5, heard=[], said=[])
        return stream_call(stream, self.account_sid, call.sid, caller)

    def run_twiml(self, call_sid: str, twiml: str) -> SimDial | None:
        """Play what Twilio does with `twiml` on a live call, as far as the simulator goes: a `<Dial>`
        (whisper, then the action's `DialCallStatus`, both signed); None when there is no `<Dial>`."""
        dial = ET.fromstring(twiml).find("Dial")
        if dial is None:
            return None
        number = dial.find("Number")
        with self._lock:
            call = self.calls.get(call_sid)
        played = SimDial(
            call_sid,
            (number.text if number is not None else dial.text or "").strip(),
            dial.get("callerId"),
            self.dial_outcome,
        )
        with self._lock:
            self.dials.append(played)
        leg = "CA" + secrets.token_hex(16)
        common = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01"}
        whisper_url = number.get("url") if number is not None else None
        try:  # a webhook that cannot be reached ends the dial as Twilio would: nothing more happens
            if played.status == "completed" and whisper_url:
                whisper = common | {
                    "CallSid": leg,
                    "ParentCallSid": call_sid,
                    "CallStatus": "in-progress",
                    "Direction": "outbound-dial",
                    "From": played.caller_id or "",
                    "To": played.number,
                }
                played.whisper = self._signed_post(whisper_url, whisper).text
            action = dial.get("action")
            if action:
                params = common | {
                    "CallSid": call_sid,
                    "CallStatus": "in-progress",
                    "DialCallSid": leg,
                    "DialCallStatus": played.status,
                    "From": call.from_ if call else "",
                    "To": call.to if call else "",
                }
                if played.status == "completed":
                    params["DialCallDuration"] = "37"
                played.ending = self._signed_post(action, params).text
            if call is not None:
                call.status = "completed"
        except httpx.HTTPError:
            pass
        finally:
            played.done.set()
        return played

    def _signed_post(self, url: str, params: dict[str, str]) -> httpx.Response:
        headers = {"X-Twilio-Signature": signature_for(url, params, self.auth_token)}
        return self.post(url, params, headers)

    def send_status(self, call: SimCall, status: str, **kwargs: Any) -> httpx.Response:
        """Post a signed status callback to the URL the call was created with."""
        assert call.status_callback, "the call was created without a status callback"
        params = self.status_params(call, status, **kwargs)
        return signed_post(call.status_callback, params, self.auth_token)

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        base = "/2010-04-01/Accounts/{account_sid}"

        @app.post(base + "/Calls.json")
        async def create_call(account_sid: str, request: Request) -> Response:
            if not self._authorized(request) or account_sid != self.account_sid:
                return _error(401, 20003, "Authenticate")
            form = await request.form()
            params = {key: [str(v) for v in form.getlist(key)] for key in form.keys()}
            to, from_, url = (params.get(k, [""])[0] for k in ("To", "From", "Url"))
            if not to or not from_ or not url:
                return _error(400, 21201, "No 'To', 'From' or 'Url' number is specified")
            if not to.startswith("+55"):
                return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
            call = SimCall(
                sid="CA" + secrets.token_hex(16),
                to=to,
                from_=from_,
                url=url,
                status_callback=params.get("StatusCallback", [None])[0],
                status_callback_events=params.get("StatusCallbackEvent", []),
                machine_detection=params.get("MachineDetection", [None])[0],
                async_amd=params.get("AsyncAmd", [None])[0],
                params=params,
            )
            with self._lock:
                self.calls[call.sid] = call
            if self.on_call is not None:
                self.on_call(call)
            return JSONResponse(self._resource(call), status_code=201)

        @app.get(base + "/Calls/{call_sid}.json")
        async def fetch_call(account_sid: str, call_sid: str, request: Request) -> Response:
            found = self._call(account_sid, call_sid, request)
            return found if isinstance(found, Response) else JSONResponse(self._resource(found))

        @app.post(base + "/Calls/{call_sid}.json")
        async def update_call(account_sid: str, call_sid: str, request: Request) -> Response:
            found = self._call(account_sid, call_sid, request)
            if isinstance(found, Response):
                return found
            form = await request.form()
            twiml = form.get("Twiml")
            if isinstance(twiml, str):
                try:
                    ET.fromstring(twiml)
                except ET.ParseError:
                    return _error(400, 12100, "Document parse failure")
                with self._lock:
                    self.twiml_updates.append((call_sid, twiml))
                threading.Thread(target=self.run_twiml, args=(call_sid, twiml), daemon=True).start()
            if form.get("Status") == "completed":
                found.status = "completed"
                with self._lock:
                    self.hangups.append(call_sid)
            return JSONResponse(self._resource(found))

        return app

    def _call(self, account_sid: str, call_sid: str, request: Request) -> SimCall | Response:
        """The call a request names, or Twilio's error response (401 unauthenticated, 404 unknown)."""
        if not self._authorized(request) or account_sid != self.account_sid:
            return _error(401, 20003, "Authenticate")
        with self._lock:
            call = self.calls.get(call_sid)
        if call is None:
            return _error(404, 20404, f"The requested resource {call_sid} was not found")
        return call

    def _resource(self, call: SimCall) -> dict[str, Any]:
        return {
            "sid": call.sid,
            "account_sid": self.account_sid,
            "to": call.to,
            "from": call.from_,
            "status": call.status,
            "duration": None if call.duration is None else str(call.duration),
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call.sid}.json",
        }


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


def signature_for(url: str, params: dict[str, str], auth_token: str) -> str:
    return str(RequestValidator(auth_token).compute_signature(url, params))


def signed_post(url: str, params: dict[str, str], auth_token: str) -> httpx.Response:
    """Form-post `params` to `url` with the signature Twilio would send."""
    headers = {"X-Twilio-Signature": signature_for(url, params, auth_token)}
    return webhook_client().post(url, data=params, headers=headers, timeout=10)
