"""The sandbox's phone speech: words carried in μ-law bytes survive any chunking the bridge does."""

from __future__ import annotations

import pytest

from infra.local.simulators import speech


@pytest.mark.parametrize("chunk", [1, 7, 160, 320, 800, 4096])
def test_utterances_are_heard_whole_whatever_the_chunks(chunk: int) -> None:
    said = ["Olá! Aqui é a Lia, da TR Telecom. Falo com Maria?", "Sim, sou eu. Meu CPF é 529.982.247-25."]
    audio = b"".join(speech.utterance(text) for text in said)
    listener = speech.Listener()

    heard = [text for at in range(0, len(audio), chunk) for text in listener.feed(audio[at : at + chunk])]

    assert heard == said
    assert not listener.speaking


def test_words_without_a_pause_are_not_heard_yet() -> None:
    listener = speech.Listener()

    assert listener.feed(b"Consigo pagar") == []
    assert listener.speaking
    assert listener.feed(speech.TRAILING_SILENCE) == ["Consigo pagar"]


def test_frames_are_twilio_sized_and_padded_with_silence() -> None:
    frames = speech.frames(speech.utterance("sim"))

    assert [len(frame) for frame in frames] == [160, 160]
    assert frames[0].startswith(b"sim") and set(frames[0][3:]) == {speech.SILENCE}
