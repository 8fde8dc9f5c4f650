"""Hostile websockets at the voice bridge (issue 14, finding 10): idle, unauthenticated and garbage
sockets get a clean close, never a crash, and are never counted as calls by `/health`."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from containers.voice_bridge.app import MAX_FRAME_BYTES
from tests.integration.voice.conftest import FakeRealtime, VoiceWorld
from tests.integration.voice.test_voice_bridge import connected_call

GARBAGE_FRAMES = [
    "not json",
    "[" * 10_000,
    json.dumps({"event": "start"}),
    json.dumps({"event": "start", "start": {"customParameters": "x" * 100_000}}),
    json.dumps({"event": "media", "media": {"payload": "%%%"}}),
    "\x00" * 1000,
]


def calls(url: str) -> int:
    response = httpx.get(url + "/health")
    assert response.status_code == 200
    return int(response.json()["calls"])


def test_idle_and_unauthenticated_sockets_are_not_calls(voice: VoiceWorld) -> None:
    bridge = voice.make_bridge(start_timeout_seconds=5.0)

    async def scenario() -> None:
        idle = [await websockets.connect(bridge.ws_url, compression=None) for _ in range(50)]
        await asyncio.sleep(0.2)
        assert calls(bridge.url) == 0
        async with FakeRealtime() as realtime:
            twilio, _ = await connected_call(voice, realtime, bridge=bridge)
            assert calls(bridge.url) == 1
            await twilio.stop()
        for socket in idle:
            await socket.close()
        await voice.settled()

    asyncio.run(scenario())
    assert calls(bridge.url) == 0


def test_garbage_frames_get_a_clean_close_and_the_bridge_stays_up(voice: VoiceWorld) -> None:
    bridge = voice.make_bridge()

    async def scenario() -> None:
        for garbage in GARBAGE_FRAMES:
            async with websockets.connect(bridge.ws_url, compression=None) as socket:
                await socket.send(garbage)
                async with asyncio.timeout(5):
                    await socket.wait_closed()
                # Policy violation, or message too big for a frame over the bridge's bound.
                assert socket.close_code == (1009 if len(garbage) > MAX_FRAME_BYTES else 1008), garbage[:40]
        async with websockets.connect(bridge.ws_url, compression=None) as socket:
            await socket.send(b"\xff" * 1000)  # a binary frame
            async with asyncio.timeout(5):
                await socket.wait_closed()
            assert socket.close_code in (1003, 1008)
        await voice.settled()

    asyncio.run(scenario())
    assert calls(bridge.url) == 0
