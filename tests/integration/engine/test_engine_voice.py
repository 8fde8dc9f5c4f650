"""The dialer: a call placed through the Twilio REST simulator with the SPEC §3 parameters, exactly
once, and Twilio's refusals and outages."""

from __future__ import annotations

from datetime import timedelta

from shared.adapters import clients
from shared.adapters.twilio_voice import TwilioVoice
from shared.core.config import get_settings
from shared.data import counters
from shared.data import targets as targets_data
from shared.domain.models import Channel, ContactMethod, Outcome, TargetState
from shared.engine import outreach
from tests.integration.engine.engine_world import TWILIO_NUMBER, WEBHOOK_BASE, Engine


def test_a_call_is_placed_with_twiml_status_callbacks_and_async_amd(engine: Engine):
    campaign = engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE])
    target = engine.scheduled(campaign, 1, channel=Channel.VOICE)

    report = engine.drain("dialer")

    assert report.succeeded == 1
    [call] = engine.twilio.calls.values()
    assert call.to == f"+{target.phone}" and call.from_ == TWILIO_NUMBER
    assert call.url == f"{WEBHOOK_BASE}/api/voice/twiml/{target.id}"
    assert call.status_callback == f"{WEBHOOK_BASE}/api/voice/webhooks/twilio/status"
    assert call.status_callback_events == ["initiated", "ringing", "answered", "completed"]
    assert call.machine_detection == "Enable" and call.async_amd == "true"
    assert call.params["AsyncAmdStatusCallback"] == [call.status_callback]
    stored = engine.get(target)
    assert stored.state is TargetState.CALLING and stored.call_sid == call.sid
    assert stored.attempt_count == 1 and stored.last_attempt_at == engine.clock.now()
    assert stored.channel is Channel.VOICE and stored.channel_attempts == 0  # post-call counts concluded ones
    scope = counters.read(counters.campaign_scope(campaign.id))
    assert scope["contacts:voice"] == 1 and scope["contacted"] == 1


def test_a_dialer_batch_delivered_twice_places_one_call_per_target(engine: Engine):
    campaign = engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE])
    targets = [engine.scheduled(campaign, seed, channel=Channel.VOICE) for seed in (2, 3, 4)]
    event = engine.event("dialer", engine.receive("dialer"))

    engine.invoke("dialer", event)
    engine.invoke("dialer", event)

    assert sorted(c.to for c in engine.twilio.calls.values()) == sorted(f"+{t.phone}" for t in targets)


def test_a_call_twilio_refuses_is_concluded_as_a_failed_attempt(engine: Engine):
    campaign = engine.campaign(
        contact_method=ContactMethod.WHATSAPP_FALLBACK,
        fallback_order=[Channel.VOICE, Channel.WHATSAPP],
        max_attempts_per_channel=1,
    )
    target = engine.scheduled(campaign, 5, channel=Channel.VOICE)
    config = get_settings().twilio()
    clients.install(
        voice=TwilioVoice(
            type(config)(
                config.account_sid, type(config.auth_token)("wrong"), config.phone_number, config.api_base_url
            ),
            WEBHOOK_BASE,
            timeout=5.0,
        )
    )  # Twilio answers 401: a refusal retrying will not fix

    report = engine.drain("dialer")

    assert report.failed == 0
    stored = engine.get(target)
    assert stored.outcome is Outcome.FAILED and "Twilio recusou a chamada" in (stored.outcome_details or "")
    # The campaign's only voice attempt is spent: on to WhatsApp, due now (the scheduler takes it).
    assert stored.state is TargetState.PENDING and stored.channel is Channel.WHATSAPP
    assert stored.next_attempt_at == engine.clock.now()
    assert engine.twilio.calls == {}


def test_twilio_unreachable_leaves_the_job_for_sqs_and_calls_once_it_is_back(engine: Engine):
    campaign = engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE])
    target = engine.scheduled(campaign, 6, channel=Channel.VOICE)
    config = get_settings().twilio()
    dead = type(config)(config.account_sid, config.auth_token, config.phone_number, "http://127.0.0.1:9")
    clients.install(voice=TwilioVoice(dead, WEBHOOK_BASE, timeout=0.5))

    first = engine.drain("dialer", max_rounds=1)

    assert first.failed == 1
    stored = engine.get(target)
    assert stored.state is TargetState.SCHEDULED and stored.attempt_count == 0 and stored.call_sid is None

    clients.install(voice=TwilioVoice(config, WEBHOOK_BASE, timeout=5.0))
    engine.drain("dialer")

    assert len(engine.twilio.calls_to(f"+{target.phone}")) == 1
    assert engine.get(target).state is TargetState.CALLING


def test_a_dialer_without_its_webhook_url_gives_the_target_back_and_calls_nobody(engine: Engine):
    campaign = engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE])
    target = engine.scheduled(campaign, 7, channel=Channel.VOICE)
    clients.install(voice=TwilioVoice(get_settings().twilio(), "", timeout=5.0))  # WEBHOOK_BASE_URL unset

    first = engine.drain("dialer", max_rounds=1)

    assert first.failed == 1 and engine.twilio.calls == {}
    stored = engine.get(target)
    assert stored.state is TargetState.SCHEDULED and stored.attempt_count == 0  # the job still owns it


def test_a_call_claimed_but_never_recorded_is_not_placed_again(engine: Engine):
    campaign = engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE])
    target = engine.scheduled(campaign, 7, channel=Channel.VOICE)
    # A worker claimed the call and died before recording the CallSid (or even before dialing).
    targets_data.transition(
        target.id,
        [TargetState.SCHEDULED],
        TargetState.CALLING,
        attempt_count=1,
        last_attempt_at=engine.clock.now() - timedelta(minutes=1),
        outcome_details=outreach.sending_marker(Channel.VOICE, 1),
    )

    engine.drain("dialer")

    assert engine.twilio.calls == {}
    stored = engine.get(target)  # concluded as a failed call: retried later, never off the agenda for good
    assert (stored.state, stored.outcome, stored.channel_attempts) == (TargetState.PENDING, Outcome.FAILED, 1)
    assert (stored.outcome_details or "").startswith("Entrega desconhecida")
    assert stored.next_attempt_at == engine.clock.now() + timedelta(hours=2)
