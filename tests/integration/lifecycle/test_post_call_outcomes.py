"""functions/post_call: Twilio's status callbacks (their real forms, for calls placed through the Twilio
REST simulator) → outcomes, retries with backoff, channel fallback; duplicates and reordering."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shared.data import campaigns as campaigns_data
from shared.data import conversations
from shared.data import targets as targets_data
from shared.domain.models import Channel, Conversation, Outcome, TargetState
from shared.engine import handoff, postcall, promises
from shared.engine.reporting import campaign_stats
from tests.integration.lifecycle.lifecycle_world import Lifecycle, add_debtor, failed_ids

MACHINE_ANSWERS = ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("no-answer", Outcome.NO_ANSWER),
        ("busy", Outcome.BUSY),
        ("failed", Outcome.FAILED),
        ("canceled", Outcome.NO_ANSWER),
    ],
)
def test_unanswered_call_goes_back_to_pending_after_two_hours(
    world: Lifecycle, status: str, outcome: Outcome
) -> None:
    campaign = world.campaign()
    target = world.target(campaign)
    call = world.dial(target)

    assert failed_ids(world.status(call, status)) == []

    after = targets_data.get(target.id)
    assert after.state is TargetState.PENDING
    assert after.outcome is outcome
    assert after.channel is Channel.VOICE and after.channel_attempts == 1
    assert after.next_attempt_at == world.clock.now() + timedelta(hours=2)
    assert "nova tentativa por voz a partir de 10/03 11:00 (1/3)" in (after.outcome_details or "")
    assert targets_data.counts(campaign.id)[f"outcome:{outcome.value}"] == 1


def test_completed_call_is_answered_followed_up_and_counts_a_response(world: Lifecycle) -> None:
    campaign = world.campaign()
    target = world.target(campaign)
    call = world.dial(target)
    for status in ("initiated", "ringing", "in-progress"):
        world.status(call, status)

    world.status(call, "completed", duration=95)

    after = targets_data.get(target.id)
    assert (after.state, after.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert after.next_attempt_at == world.clock.now() + timedelta(days=campaign.follow_up_after_days)
    assert (after.outcome_details or "").startswith("Chamada atendida (95 s) sem resolver — novo contato")
    assert campaign_stats(campaign.id).responded == 1


def test_in_progress_updates_the_details_of_a_live_call_only(world: Lifecycle) -> None:
    target = world.target(world.campaign())
    call = world.dial(target)

    world.status(call, "ringing")
    assert targets_data.get(target.id).outcome_details is None
    world.status(call, "in-progress")

    after = targets_data.get(target.id)
    assert after.state is TargetState.CALLING
    assert after.outcome_details == "Chamada em andamento"
    assert campaign_stats(target.campaign_id).responded == 0  # a machine may have picked up


@pytest.mark.parametrize("answered_by", MACHINE_ANSWERS)
def test_completed_call_answered_by_a_machine_is_voicemail_and_retried(
    world: Lifecycle, answered_by: str
) -> None:
    campaign = world.campaign()
    target = world.target(campaign)
    call = world.dial(target)

    world.status(call, "completed", duration=20, answered_by=answered_by)

    after = targets_data.get(target.id)
    assert (after.state, after.outcome) == (TargetState.PENDING, Outcome.VOICEMAIL)
    assert after.channel_attempts == 1
    assert campaign_stats(campaign.id).responded == 0


def test_async_amd_machine_verdict_hangs_up_and_the_later_completed_changes_nothing(
    world: Lifecycle,
) -> None:
    campaign = world.campaign()
    target = world.target(campaign)
    call = world.dial(target)
    world.status(call, "in-progress")

    assert failed_ids(world.amd(call, "machine_end_beep")) == []

    assert world.twilio.hangups == [call.sid]  # hung up through the REST API, never left a message
    voicemail = targets_data.get(target.id)
    assert (voicemail.state, voicemail.outcome) == (TargetState.PENDING, Outcome.VOICEMAIL)

    world.status(call, "completed", duration=31)  # Twilio's status after our hang-up

    assert targets_data.get(target.id) == voicemail
    assert campaign_stats(campaign.id).responded == 0


def test_voicemail_drop_leaves_a_neutral_message_at_the_beep_and_concludes_voicemail_left(
    world: Lifecycle,
) -> None:
    campaign = world.campaign(voicemail_drop=True)
    target = world.target(campaign)
    call = world.dial(target)
    assert (call.machine_detection, call.async_amd) == ("DetectMessageEnd", "true")
    world.status(call, "in-progress")

    assert failed_ids(world.amd(call, "machine_end_beep")) == []

    assert world.twilio.hangups == []  # the message's own <Hangup/> ends the call
    [(sid, twiml)] = world.twilio.twiml_updates
    assert sid == call.sid
    assert twiml.startswith(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="pt-BR" voice="Polly.'
    )
    assert twiml.endswith("</Say><Hangup /></Response>")
    assert "TR Telecom" in twiml and "responda nossa mensagem no WhatsApp" in twiml
    for secret in ("Maria", "179", "débito", "dívida", "fatura", "pagamento", "CPF"):
        assert secret not in twiml  # anyone may play the recording back
    left = targets_data.get(target.id)
    assert (left.state, left.outcome) == (TargetState.PENDING, Outcome.VOICEMAIL_LEFT)
    assert left.channel_attempts == 1
    assert (left.outcome_details or "").startswith("Recado deixado na caixa postal — nova tentativa")
    assert targets_data.counts(campaign.id)["outcome:voicemail_left"] == 1

    world.status(call, "completed", duration=28, answered_by="machine_end_beep")  # after the <Hangup/>

    assert targets_data.get(target.id) == left
    assert campaign_stats(campaign.id).responded == 0


@pytest.mark.parametrize("answered_by", ["machine_end_silence", "machine_end_other", "fax"])
def test_voicemail_drop_hangs_up_on_a_machine_without_a_beep(world: Lifecycle, answered_by: str) -> None:
    campaign = world.campaign(voicemail_drop=True)
    target = world.target(campaign)
    call = world.dial(target)

    world.amd(call, answered_by)

    assert world.twilio.twiml_updates == [] and world.twilio.hangups == [call.sid]
    assert targets_data.get(target.id).outcome is Outcome.VOICEMAIL


def test_a_campaign_without_voicemail_drop_dials_plain_amd_and_leaves_no_message(world: Lifecycle) -> None:
    target = world.target(world.campaign())
    call = world.dial(target)
    assert call.machine_detection == "Enable"

    world.amd(call, "machine_end_beep")

    assert world.twilio.twiml_updates == [] and world.twilio.hangups == [call.sid]
    assert targets_data.get(target.id).outcome is Outcome.VOICEMAIL


def test_voicemail_drop_switched_off_after_dialing_leaves_no_message(world: Lifecycle) -> None:
    campaign = world.campaign(voicemail_drop=True)
    target = world.target(campaign)
    call = world.dial(target)
    campaigns_data.update(campaign.id, voicemail_drop=False)

    world.amd(call, "machine_end_beep")

    assert world.twilio.twiml_updates == [] and world.twilio.hangups == [call.sid]
    assert targets_data.get(target.id).outcome is Outcome.VOICEMAIL


def test_a_voicemail_drop_twilio_refuses_concludes_as_plain_voicemail(world: Lifecycle) -> None:
    campaign = world.campaign(voicemail_drop=True)
    target = world.target(campaign)
    call = world.dial(target)
    del world.twilio.calls[call.sid]  # the call is gone at Twilio: updates answer 404

    assert failed_ids(world.amd(call, "machine_end_beep")) == []

    after = targets_data.get(target.id)
    assert (after.state, after.outcome) == (TargetState.PENDING, Outcome.VOICEMAIL)


def test_async_amd_human_verdict_keeps_the_call_live_and_its_end_counts_the_response(
    world: Lifecycle,
) -> None:
    campaign = world.campaign()
    target = world.target(campaign)
    call = world.dial(target)

    world.amd(call, "human")
    world.amd(call, "human")  # delivered twice

    assert targets_data.get(target.id).state is TargetState.CALLING
    # Whoever picked up may still say the number is not the customer's: not a response yet.
    assert campaign_stats(campaign.id).responded == 0
    assert world.twilio.hangups == []
    world.status(call, "completed", duration=200)
    world.status(call, "completed", duration=200)  # delivered twice: counted once
    assert targets_data.get(target.id).state is TargetState.PENDING  # the cadence's follow-up
    assert campaign_stats(campaign.id).responded == 1


def test_a_machine_verdict_arriving_after_completed_corrects_answered_to_voicemail(
    world: Lifecycle,
) -> None:
    campaign = world.campaign()
    target = world.target(campaign)
    call = world.dial(target)
    world.status(call, "completed", duration=12)  # reordered by the queue: before the AMD verdict

    world.amd(call, "machine_start")

    after = targets_data.get(target.id)
    assert (after.state, after.outcome, after.channel_attempts) == (
        TargetState.PENDING,
        Outcome.VOICEMAIL,
        1,
    )
    assert world.twilio.hangups == []  # the call had already ended


def test_duplicate_completed_is_a_no_op(world: Lifecycle) -> None:
    campaign = world.campaign()
    target = world.target(campaign)
    call = world.dial(target)
    form = world.twilio.status_params(call, "completed", duration=40)
    world.post_call(form)
    first = targets_data.get(target.id)
    counts = targets_data.counts(campaign.id)

    assert failed_ids(world.post_call(form, form)) == []

    assert targets_data.get(target.id) == first
    assert targets_data.counts(campaign.id) == counts
    assert counts["state:pending"] == 1 and counts["outcome:answered"] == 1


def test_duplicate_no_answer_does_not_count_a_second_attempt(world: Lifecycle) -> None:
    target = world.target(world.campaign())
    call = world.dial(target)
    form = world.twilio.status_params(call, "no-answer")

    world.post_call(form, form)
    world.post_call(form)

    assert targets_data.get(target.id).channel_attempts == 1


def test_late_intermediate_statuses_never_overwrite_a_final_outcome(world: Lifecycle) -> None:
    target = world.target(world.campaign())
    call = world.dial(target)
    initiated = world.twilio.status_params(call, "initiated")
    ringing = world.twilio.status_params(call, "ringing")
    in_progress = world.twilio.status_params(call, "in-progress")
    world.status(call, "busy")
    final = targets_data.get(target.id)

    assert failed_ids(world.post_call(in_progress, ringing, initiated)) == []

    assert targets_data.get(target.id) == final


def test_the_conversation_outcome_set_during_the_call_is_kept(world: Lifecycle) -> None:
    add_debtor(world.crm)
    campaign = world.campaign()
    target = world.target(campaign)
    call = world.dial(target)
    world.status(call, "in-progress")
    # The voice assistant's tool, mid-call:
    promises.register(
        document=target.document,
        amount=Decimal("179.80"),
        day=world.clock.now().date() + timedelta(days=5),
        open_total=Decimal("179.80"),
        tz=ZoneInfo("America/Sao_Paulo"),
        target_id=target.id,
    )

    world.status(call, "completed", duration=300)

    after = targets_data.get(target.id)  # deferred to the promise's end; the late status changes nothing
    assert (after.state, after.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE)
    assert after.outcome_details == "Promessa registrada até 15/03/2025"
    assert after.next_attempt_at == datetime(2025, 3, 16, 3, 0, tzinfo=UTC)  # 16/03 00:00 in São Paulo
    stats = campaign_stats(campaign.id)
    assert (stats.responded, stats.promised) == (1, 1)


def test_a_transferred_call_ends_contacted_and_stays_transferred(
    world: Lifecycle, make_conversation: Callable[..., Conversation]
) -> None:
    target = world.target(world.campaign())
    call = world.dial(target)
    conversation = conversations.create(
        make_conversation(
            chat_id=f"voice_{call.sid}", target_id=target.id, call_sid=call.sid, source="voice_campaign"
        )
    )
    handoff.transfer(conversation.id, by="assistant", reason="cliente pediu um atendente")

    world.status(call, "completed", duration=150)

    after = targets_data.get(target.id)
    assert (after.state, after.outcome) == (TargetState.CONTACTED, Outcome.TRANSFERRED)


def test_attempts_exhausted_on_voice_fall_back_to_whatsapp(world: Lifecycle) -> None:
    campaign = world.campaign(max_attempts_per_channel=3)
    target = world.target(campaign)
    outcomes = ["no-answer", "busy", "no-answer"]
    retry_waits = []
    for status in outcomes:
        before = world.clock.now()
        world.status(world.dial(target), status)
        after = targets_data.get(target.id)
        retry_waits.append(after.next_attempt_at - before)
        world.clock.set(max(after.next_attempt_at, world.clock.now()))

    final = targets_data.get(target.id)
    assert final.state is TargetState.PENDING
    assert final.channel is Channel.WHATSAPP and final.channel_attempts == 0
    assert final.outcome is Outcome.NO_ANSWER
    assert final.outcome_details == "Não atendeu — 3 tentativa(s) por voz; próximo canal: WhatsApp"
    assert retry_waits == [timedelta(hours=2), timedelta(days=1), timedelta(0)]  # last: due now
    assert final.attempt_count == 3


def test_attempts_exhausted_on_the_last_channel_complete_with_the_last_outcome(world: Lifecycle) -> None:
    campaign = world.campaign(
        contact_method="voice",
        allowed_methods=[Channel.VOICE],
        fallback_order=[Channel.VOICE],
        max_attempts_per_channel=2,
    )
    target = world.target(campaign)
    world.status(world.dial(target), "no-answer")
    world.status(world.dial(target), "busy")

    final = targets_data.get(target.id)
    assert (final.state, final.outcome) == (TargetState.COMPLETED, Outcome.BUSY)
    assert final.outcome_details == "Linha ocupada — tentativas esgotadas em todos os canais"
    assert targets_data.counts(campaign.id)["state:completed"] == 1


def test_whatsapp_fallback_is_skipped_when_not_allowed_or_for_a_landline(world: Lifecycle) -> None:
    not_allowed = world.campaign(
        allowed_methods=[Channel.VOICE],
        fallback_order=[Channel.VOICE, Channel.WHATSAPP],
        max_attempts_per_channel=1,
    )
    landline_campaign = world.campaign(max_attempts_per_channel=1)
    first = world.target(not_allowed)
    landline = world.target(landline_campaign, phone="551133334444", document="11144477735")

    world.status(world.dial(first), "no-answer")
    world.status(world.dial(landline), "no-answer")

    assert targets_data.get(first.id).state is TargetState.COMPLETED
    assert targets_data.get(landline.id).state is TargetState.COMPLETED


def test_a_final_status_for_an_unknown_call_is_retried_but_progress_is_dropped(world: Lifecycle) -> None:
    target = world.target(world.campaign())
    call = world.dial(target)
    unknown_final = world.twilio.status_params(call, "completed") | {"CallSid": "CA" + "f" * 32}
    unknown_ringing = world.twilio.status_params(call, "ringing") | {"CallSid": "CA" + "e" * 32}

    event_ids = failed_ids(world.post_call(unknown_final, unknown_ringing))

    assert len(event_ids) == 1 and event_ids[0].startswith("msg-0-")  # only the final one fails
    assert targets_data.get(target.id).state is TargetState.CALLING


def test_malformed_bodies_fail_alone_and_unknown_statuses_are_ignored(world: Lifecycle) -> None:
    target = world.target(world.campaign())
    call = world.dial(target)
    good = world.twilio.status_params(call, "busy")
    odd_status = world.twilio.status_params(call, "exploded")

    response = world.post_call("not json", {"CallStatus": "busy"}, odd_status, good)

    assert [i.split("-")[1] for i in failed_ids(response)] == ["0", "1"]
    assert targets_data.get(target.id).outcome is Outcome.BUSY


def test_the_dialer_concludes_a_refused_call_like_a_failed_one(world: Lifecycle) -> None:
    campaign = world.campaign()
    target = world.target(campaign)
    targets_data.transition(target.id, [TargetState.PENDING], TargetState.SCHEDULED, channel=Channel.VOICE)

    result = postcall.conclude_attempt(
        targets_data.get(target.id), Outcome.FAILED, details="Twilio recusou a chamada"
    )

    assert result.action is postcall.Action.RETRY
    after = targets_data.get(target.id)
    assert (after.state, after.outcome, after.channel_attempts) == (TargetState.PENDING, Outcome.FAILED, 1)
    assert (after.outcome_details or "").startswith("Twilio recusou a chamada — nova tentativa por voz")
