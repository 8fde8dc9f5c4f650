"""Twilio Programmable Voice through the official SDK (SPEC §3): outbound calls (recorded on request),
hang-up, call updates, the TwiML we answer with (`<Connect><Stream>`, the warm transfer's `<Dial>`, the
keypad menu's `<Gather>`) and webhook signature validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from twilio.base.exceptions import TwilioRestException

from shared.core.config import TwilioConfig
from shared.domain.errors import ConfigError, DomainError, Refused, ServiceUnavailable

STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
TWIML_PATH = "/api/voice/twiml/{target_id}"
STATUS_PATH = "/api/voice/webhooks/twilio/status"
RECORDING_PATH = "/api/voice/webhooks/twilio/recording"
# The warm transfer: Twilio posts the `<Dial>`'s outcome here, and fetches the agent's whisper.
DIAL_STATUS_PATH = "/api/voice/transfer/{conversation_id}/status"
WHISPER_PATH = "/api/voice/transfer/{conversation_id}/whisper"
# The keypad menu a call falls back to when the model is down: each `<Gather>` posts its digits here.
MENU_PATH = "/api/voice/menu/{conversation_id}/{step}"


class TwilioUnavailable(ServiceUnavailable):
    code = "twilio_unavailable"


class CallRejected(Refused):
    """Twilio refused the call for a reason retrying will not fix (invalid number, blocked...)."""

    code = "call_rejected"


class CallState(NamedTuple):
    """What Twilio says of a call now: `status` as in its callbacks, `duration` once it ended."""

    status: str
    duration: int | None


class VoiceCaller(Protocol):
    def place_call(
        self, target_id: str, to_e164: str, *, detect_message_end: bool = False, record: bool = False
    ) -> str: ...

    def hang_up(self, call_sid: str) -> None: ...

    def play_twiml(self, call_sid: str, twiml: str) -> None: ...

    def call_state(self, call_sid: str) -> CallState: ...


class TwilioVoice:
    """`webhook_base_url` is our public URL, which Twilio calls back for a call's TwiML and status.
    It may be empty when the client only hangs up or asks for a call's state; `place_call` refuses
    then."""

    def __init__(self, config: TwilioConfig, webhook_base_url: str, *, timeout: float = 10.0):
        # The REST client and its `requests` stack load here, not with the module: most cold starts
        # that import this module (TwiML, signature checks) never call Twilio's API.
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self._config = config
        self._base = webhook_base_url.rstrip("/")
        self._client = Client(
            config.account_sid,
            config.auth_token.get_secret_value(),
            http_client=TwilioHttpClient(timeout=timeout),
        )
        # TWILIO_API_BASE_URL points the SDK at a simulator locally; the wire format is unchanged.
        self._client.api.base_url = config.api_base_url

    def place_call(
        self, target_id: str, to_e164: str, *, detect_message_end: bool = False, record: bool = False
    ) -> str:
        """Dial the customer; Twilio fetches our TwiML when they answer. Returns the CallSid.

        Answering-machine detection runs asynchronously; with `detect_message_end` its verdict on a
        machine waits for the greeting to end (`AnsweredBy=machine_end_beep`...), the moment a
        message can be left (`play_twiml`). With `record`, Twilio records the call (both parties, one
        channel each) and posts the finished recording to our recording-status callback.

        Raises `ConfigError` without a webhook base URL: Twilio would have nowhere to fetch the TwiML."""
        if not self._base:
            raise ConfigError("missing required environment variable(s): WEBHOOK_BASE_URL")
        status_url = self._base + STATUS_PATH
        recording: dict[str, Any] = {}
        if record:
            recording = {
                "record": True,
                "recording_channels": "dual",
                "recording_status_callback": self._base + RECORDING_PATH,
                "recording_status_callback_method": "POST",
                "recording_status_callback_event": ["completed"],
            }
        try:
            call = self._client.calls.create(
                to=f"+{to_e164}",
                from_=self._config.phone_number,
                url=self._base + TWIML_PATH.format(target_id=target_id),
                method="POST",
                status_callback=status_url,
                status_callback_method="POST",
                status_callback_event=STATUS_CALLBACK_EVENTS,
                machine_detection="DetectMessageEnd" if detect_message_end else "Enable",
                async_amd="true",
                async_amd_status_callback=status_url,
                async_amd_status_callback_method="POST",
                **recording,
            )
        except TwilioRestException as exc:
            raise _translate(exc) from None
        except OSError as exc:  # connection errors and timeouts from the HTTP client
            raise TwilioUnavailable(f"Twilio request failed: {type(exc).__name__}") from None
        return str(call.sid)

    def hang_up(self, call_sid: str) -> None:
        try:
            self._client.calls(call_sid).update(status="completed")
        except TwilioRestException as exc:
            raise _translate(exc) from None
        except OSError as exc:
            raise TwilioUnavailable(f"Twilio request failed: {type(exc).__name__}") from None

    def play_twiml(self, call_sid: str, twiml: str) -> None:
        """Replace what a live call is doing with `twiml` (a call update with `Twiml`)."""
        try:
            self._client.calls(call_sid).update(twiml=twiml)
        except TwilioRestException as exc:
            raise _translate(exc) from None
        except OSError as exc:
            raise TwilioUnavailable(f"Twilio request failed: {type(exc).__name__}") from None

    def call_state(self, call_sid: str) -> CallState:
        """Fetch the call (for a call whose final status callback never reached us)."""
        try:
            call = self._client.calls(call_sid).fetch()
        except TwilioRestException as exc:
            raise _translate(exc) from None
        except OSError as exc:
            raise TwilioUnavailable(f"Twilio request failed: {type(exc).__name__}") from None
        duration = call.duration
        return CallState(str(call.status), int(duration) if duration not in (None, "") else None)


def _translate(exc: TwilioRestException) -> DomainError:
    if exc.status == 429 or exc.status >= 500:
        return TwilioUnavailable(f"Twilio answered HTTP {exc.status}")
    return CallRejected(f"Twilio refused the call: HTTP {exc.status} (error {exc.code})")


# The TwiML builders and the signature validator serve the API's voice routes only: the SDK modules
# they need are imported by them, so the workers that import this module do not load them.


def connect_stream_twiml(stream_url: str, parameters: Mapping[str, str]) -> str:
    """`<Response><Connect><Stream url=...><Parameter .../></Stream></Connect></Response>`."""
    from twilio.twiml.voice_response import Connect, VoiceResponse

    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return str(response)


PT_BR_VOICE = "Polly.Camila"  # Amazon Polly's Brazilian Portuguese voice on Twilio's <Say>


def say_and_hang_up_twiml(text: str) -> str:
    """`<Response><Say language="pt-BR" voice="Polly.Camila">text</Say><Hangup/></Response>`."""
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.say(text, language="pt-BR", voice=PT_BR_VOICE)
    response.hangup()
    return str(response)


def hang_up_twiml() -> str:
    """`<Response><Hangup/></Response>`."""
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.hangup()
    return str(response)


def say_twiml(text: str) -> str:
    """`<Response><Say language="pt-BR" voice="Polly.Camila">text</Say></Response>` (a whisper)."""
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.say(text, language="pt-BR", voice=PT_BR_VOICE)
    return str(response)


def dial_twiml(
    announcement: str, *, number: str, caller_id: str, action_url: str, whisper_url: str, timeout: int = 25
) -> str:
    """Say `announcement` to the caller, then `<Dial callerId action><Number url=whisper>` to `number`;
    Twilio posts `DialCallStatus` to `action_url` when the dial ends, and plays the TwiML at
    `whisper_url` to the agent (only) once they pick up."""
    from twilio.twiml.voice_response import Dial, VoiceResponse

    response = VoiceResponse()
    response.say(announcement, language="pt-BR", voice=PT_BR_VOICE)
    dial = Dial(caller_id=caller_id, action=action_url, method="POST", timeout=timeout)
    dial.number(number, url=whisper_url, method="POST")
    response.append(dial)
    return str(response)


def gather_twiml(text: str, action_url: str, *, num_digits: int | None = None, timeout: int = 8) -> str:
    """`<Gather input="dtmf">` around `<Say>text</Say>`: the keys go to `action_url` (`Digits`), ended
    by `#` or at `num_digits`; with no keys the action is called anyway (empty `Digits`)."""
    from twilio.twiml.voice_response import Gather, VoiceResponse

    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        action=action_url,
        method="POST",
        finish_on_key="#",
        timeout=timeout,
        action_on_empty_result=True,
        **({"num_digits": num_digits} if num_digits is not None else {}),
    )
    gather.say(text, language="pt-BR", voice=PT_BR_VOICE)
    response.append(gather)
    return str(response)


def is_valid_signature(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """Check `X-Twilio-Signature` with the SDK's validator; a missing signature is invalid."""
    if not signature:
        return False
    from twilio.request_validator import RequestValidator

    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))
