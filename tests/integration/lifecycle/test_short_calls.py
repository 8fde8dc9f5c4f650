"""Short calls watched: every ended call counted once per day by duration bucket (AMD hang-ups
included), and the share of short ones slowing the dialer past SHORT_CALL_MAX_SHARE."""

from __future__ import annotations

import pytest

from shared.core.config import get_settings, reset_settings
from shared.data import counters
from shared.engine import short_calls
from tests.integration.lifecycle.lifecycle_world import Lifecycle


def test_completed_calls_are_counted_once_per_day_by_duration_bucket(world: Lifecycle) -> None:
    campaign = world.campaign()
    durations = {"5511999990001": 2, "5511999990002": 3, "5511999990003": 5, "5511999990004": 95}
    for index, (phone, seconds) in enumerate(durations.items()):
        call = world.dial(world.target(campaign, phone=phone, document=DOCUMENTS[index]))
        form = world.twilio.status_params(call, "completed", duration=seconds)
        world.post_call(form)
        world.post_call(form)  # SQS delivered it twice: counted once

    today = world.clock.now().astimezone(get_settings().default_zone).date()
    assert short_calls.day_counts(today) == {"calls:le3s": 2, "calls:le6s": 1, "calls:longer": 1}


def test_a_machine_hung_up_on_counts_its_short_call(world: Lifecycle) -> None:
    call = world.dial(world.target(world.campaign()))
    world.amd(call, "machine_start")  # we hang up: the target is concluded

    world.status(call, "completed", duration=2, answered_by="machine_start")  # Twilio's after our hang-up

    today = world.clock.now().astimezone(get_settings().default_zone).date()
    assert short_calls.day_counts(today)["calls:le3s"] == 1


@pytest.mark.parametrize(
    ("short", "long", "factor"),
    [(6, 14, 1.0), (7, 13, 0.5), (10, 5, 1.0)],  # 30% is allowed; 35% slows; 15 calls are too few
)
def test_voice_capacity_halves_when_short_calls_pass_the_allowed_share(
    world: Lifecycle, short: int, long: int, factor: float
) -> None:
    now = world.clock.now()
    scope = short_calls.day_scope(now.astimezone(get_settings().default_zone).date())
    counters.increment_many(scope, {"calls:le3s": short, "calls:longer": long})

    assert short_calls.voice_capacity_factor(now) == factor


def test_the_allowed_share_is_configurable(world: Lifecycle, monkeypatch: pytest.MonkeyPatch) -> None:
    now = world.clock.now()
    scope = short_calls.day_scope(now.astimezone(get_settings().default_zone).date())
    counters.increment_many(scope, {"calls:le6s": 7, "calls:longer": 13})
    monkeypatch.setenv("SHORT_CALL_MAX_SHARE", "0.5")
    reset_settings()
    try:
        assert short_calls.voice_capacity_factor(now) == 1.0
    finally:
        monkeypatch.delenv("SHORT_CALL_MAX_SHARE")
        reset_settings()


DOCUMENTS = ["52998224725", "11144477735", "39053344705", "86288366757"]
