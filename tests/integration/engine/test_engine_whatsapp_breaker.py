"""The WhatsApp channel that notices it is blocked: Evolution's `connection.update`, a send finding the
instance disconnected, and WhatsApp's 463 refusals open the breaker; WhatsApp outreach pauses with no
target burned, calls go out instead where the campaign allows them, and `open` resumes it.

Evolution's webhooks reach the real API (served on loopback) from the simulator, as in production."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from infra.local.simulators.server import serve_in_thread
from shared.core.config import reset_settings
from shared.domain.models import Campaign, Channel, ContactMethod, Target, TargetState
from shared.engine import whatsapp_channel
from tests.integration.engine.engine_world import Engine

WEBHOOK_TOKEN = "evolution-webhook-secret"
VIEWER = "viewer-token"


@pytest.fixture
def api_url(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The API on loopback, Evolution's webhooks pointed at it."""
    monkeypatch.setenv("EVOLUTION_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
    monkeypatch.setenv("COBRANCA_API_TOKENS", f"viewer:{VIEWER}")
    reset_settings()
    from functions.api.app import create_app

    server = serve_in_thread(create_app())
    engine.evolution.webhook_url = f"{server.url}/api/whatsapp/webhook"
    engine.evolution.webhook_token = WEBHOOK_TOKEN
    yield server.url
    server.stop()


def _whatsapp_only(engine: Engine) -> Campaign:
    return engine.campaign(
        contact_method=ContactMethod.WHATSAPP_PRIMARY,
        allowed_methods=[Channel.WHATSAPP],
        fallback_order=[Channel.WHATSAPP],
    )


def _channel(api_url: str) -> dict[str, object]:
    response = httpx.get(
        f"{api_url}/api/voice/channels/whatsapp", headers={"Authorization": f"Bearer {VIEWER}"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _untouched(engine: Engine, targets: list[Target]) -> None:
    for target in targets:
        stored = engine.get(target)
        assert stored.state is TargetState.PENDING
        assert stored.attempt_count == 0 and stored.outcome is None


def test_connection_close_pauses_whatsapp_calls_instead_and_open_resumes(engine: Engine, api_url: str):
    with_voice = engine.campaign()
    only_whatsapp = _whatsapp_only(engine)

    engine.evolution.disconnect()

    shown = _channel(api_url)
    assert shown["blocked"] is True and shown["reason"] == "disconnected"
    assert "desconectou" in str(shown["message"])
    called = engine.targets(with_voice, range(1, 6))
    waiting = engine.targets(only_whatsapp, range(10, 14))
    engine.tick()
    assert engine.receive("whatsapp") == []
    engine.drain("dialer")
    assert engine.evolution.sent == []
    assert sorted(call.to for call in engine.twilio.calls.values()) == sorted(f"+{t.phone}" for t in called)
    _untouched(engine, waiting)

    engine.evolution.reconnect()

    assert _channel(api_url)["blocked"] is False
    engine.tick()
    engine.drain("whatsapp")
    assert sorted(s.number for s in engine.evolution.sent) == sorted(t.phone for t in waiting)
    assert all(engine.get(t).state is TargetState.CONTACTED for t in waiting)


def test_jobs_queued_before_the_close_are_given_back_untouched(engine: Engine, api_url: str):
    campaign = _whatsapp_only(engine)
    queued = [engine.scheduled(campaign, seed) for seed in (1, 2, 3)]

    engine.evolution.disconnect()
    report = engine.drain("whatsapp")

    assert report.failed == 0 and engine.evolution.sent == []
    _untouched(engine, queued)
    assert engine.tick() and engine.receive("whatsapp") == []  # the sweep leaves them pending
    _untouched(engine, queued)


def test_a_send_finding_the_instance_disconnected_opens_the_breaker(engine: Engine):
    campaign = engine.campaign()
    queued = [engine.scheduled(campaign, seed) for seed in (1, 2)]
    engine.evolution.state = "close"  # the webhook never came

    engine.drain("whatsapp")

    health = whatsapp_channel.health()
    assert health.blocked and health.reason is not None and health.reason.value == "send_disconnected"
    _untouched(engine, queued)
    engine.tick()
    engine.drain("dialer")
    assert len(engine.twilio.calls) == 2 and engine.evolution.sent == []
    # the next sweep probes the channel: connected again, WhatsApp resumes without any webhook
    engine.evolution.state = "open"
    engine.clock.advance(timedelta(minutes=5))
    engine.tick()
    assert not whatsapp_channel.is_blocked()


def test_three_463_refusals_pause_whatsapp_and_calls_go_out_instead(engine: Engine):
    campaign = engine.campaign()
    first = [engine.scheduled(campaign, seed) for seed in (1, 2)]
    engine.evolution.refuse_next(2)

    engine.drain("whatsapp")

    assert not whatsapp_channel.is_blocked()  # two refusals are not a block
    _untouched(engine, first)
    engine.evolution.refuse_next(1)
    engine.clock.advance(timedelta(minutes=10))
    third = engine.scheduled(campaign, 3)
    engine.drain("whatsapp")

    health = whatsapp_channel.health()
    assert health.blocked and health.reason is not None and health.reason.value == "reach_out_refused"
    _untouched(engine, [*first, third])
    assert engine.evolution.sent == [] and engine.evolution.refused == 3
    engine.tick()
    engine.drain("dialer")
    assert sorted(c.to for c in engine.twilio.calls.values()) == sorted(
        f"+{t.phone}" for t in [*first, third]
    )
    # connected all along, but the timelock outlasts a probe: still paused an hour later
    engine.clock.advance(timedelta(hours=1))
    assert not whatsapp_channel.probe()


def test_refusals_spread_beyond_the_window_do_not_trip(engine: Engine):
    campaign = _whatsapp_only(engine)
    for seed in (1, 2, 3):
        engine.evolution.refuse_next(1)
        engine.scheduled(campaign, seed)
        engine.drain("whatsapp")
        engine.clock.advance(timedelta(minutes=20))

    assert not whatsapp_channel.is_blocked()


def test_nothing_lost_while_the_instance_flaps_over_a_60_customer_campaign(engine: Engine, api_url: str):
    # 30 customers a campaign: the instance flips after every batch of 5 sends, so the two ticks that
    # send while it flaps see ~23 flips, each kind (webhook, silent) in each direction 5-6 times.
    # 200 customers only repeated the same cycle (79 flips) at 4x the time.
    only_whatsapp = _whatsapp_only(engine)
    with_voice = engine.campaign()
    targets = engine.targets(only_whatsapp, range(1, 31)) + engine.targets(with_voice, range(31, 61))

    flips = 0
    for _ in range(10):
        engine.tick()
        # The instance flips between batches of the queue: by webhook (close/open) every other time,
        # silently (a send finds it closed; the next sweep's probe finds it open) otherwise.
        while engine.bodies("whatsapp"):
            engine.drain("whatsapp", max_rounds=1, batch=5)
            flips += 1
            closing = engine.evolution.state == "open"
            if flips % 2:
                engine.evolution.disconnect() if closing else engine.evolution.reconnect()
            else:
                engine.evolution.state = "close" if closing else "open"
        engine.drain("dialer")
        engine.clock.advance(timedelta(minutes=4))
    _assert_once_or_pending(engine, targets, "while flapping")
    if engine.evolution.state != "open":
        engine.evolution.reconnect()
    for _ in range(3):  # the instance stays up: the rest goes out
        engine.tick()
        engine.drain("whatsapp")
        engine.drain("dialer")
        engine.clock.advance(timedelta(minutes=5))
    assert _assert_once_or_pending(engine, targets, "after it steadied") == 0


def _assert_once_or_pending(engine: Engine, targets: list[Target], when: str) -> int:
    """Each customer contacted exactly once (a message or a call) or still pending, its attempt unused;
    returns how many are pending."""
    messages = Counter(s.number for s in engine.evolution.sent)
    calls = Counter(c.to for c in engine.twilio.calls.values())
    stored = [engine.get(t) for t in targets]
    pending = sum(1 for t in stored if t.state is TargetState.PENDING)
    once = sum(1 for t in targets if messages[t.phone] + calls[f"+{t.phone}"] == 1)
    states = Counter(t.state.value for t in stored)
    print(
        f"\n{when}: {len(targets)} customers, WhatsApp messages {sum(messages.values())}, "
        f"calls {sum(calls.values())}, contacted exactly once {once}, still pending {pending}, "
        f"states {dict(states)}"
    )
    assert max(messages.values(), default=0) <= 1 and max(calls.values(), default=0) <= 1
    for target in stored:
        contacts = messages[target.phone] + calls[f"+{target.phone}"]
        if target.state is TargetState.PENDING:
            assert contacts == 0 and target.attempt_count == 0
        else:
            assert target.state in (TargetState.CONTACTED, TargetState.CALLING)
            assert contacts == 1 and target.attempt_count == 1
    assert once + pending == len(targets)
    return pending
