"""Speech on the sandbox's phone line: what a simulated speaker says travels as μ-law audio whose bytes
are the words' UTF-8, followed by silence (0xFF, μ-law's zero level, which UTF-8 never uses). The Twilio
simulator's caller and the Realtime simulator's voice speak it; each hears the other by decoding the
audio the voice bridge relays, byte-exact, in whatever chunks it was cut.
"""

from __future__ import annotations

from typing import Final

SILENCE: Final = 0xFF
FRAME_BYTES: Final = 160  # 20 ms of 8 kHz μ-law: Twilio's inbound frame
TRAILING_SILENCE: Final = bytes([SILENCE]) * FRAME_BYTES  # a pause: the utterance is over


def utterance(text: str) -> bytes:
    """`text` as audio: its words, then a pause."""
    return text.encode("utf-8") + TRAILING_SILENCE


def frames(audio: bytes, size: int = FRAME_BYTES) -> list[bytes]:
    """`audio` cut into frames of `size` bytes, the last one padded with silence."""
    chunks = [audio[at : at + size] for at in range(0, len(audio), size)]
    if chunks and len(chunks[-1]) < size:
        chunks[-1] = chunks[-1] + bytes([SILENCE]) * (size - len(chunks[-1]))
    return chunks


class Listener:
    """Hears utterances in a stream of audio chunks: `feed` returns those a pause has just ended;
    `speaking` says whether words have begun and not yet ended."""

    def __init__(self) -> None:
        self._words = bytearray()

    @property
    def speaking(self) -> bool:
        return bool(self._words)

    def feed(self, audio: bytes) -> list[str]:
        heard: list[str] = []
        for byte in audio:
            if byte != SILENCE:
                self._words.append(byte)
            elif self._words:
                heard.append(self._words.decode("utf-8", errors="replace"))
                self._words.clear()
        return heard
