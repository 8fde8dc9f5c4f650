"""Voice bridge under load: N concurrent simulated calls on loopback, the bridge on one core and its
two peers on the other.

    .venv/bin/python tests/benchmarks/bench_voice_bridge.py [--calls 50 100 200] [--seconds 6]

The bridge runs in this process (over in-process moto, as in the tests), pinned to core 0
(`os.sched_setaffinity`); the peers — Twilio Media Streams clients and a Realtime server — run in a
child process pinned to core 1, so what is measured is the bridge's cost, not the load generator's.
The generator is cheap: every websocket frame is built before the run (a minimal RFC 6455 framing:
the client's all-zero masking key leaves its text as is), one loop sends them from a timeline built
before the run, and the peers read only what they time (a slice of the text, no JSON parse).

The generator is fair: real calls start at independent moments, so their 20 ms frames are not due at
one instant. Each call's frames are due at its own phase of the tick (call k at millisecond k mod 20:
as many calls at each millisecond), its 100 ms deltas at one of the five ticks of a delta. Latency is
timed from the moment a frame was due, not from when the generator got to send it: the generator's own
lateness counts against the bridge, and is printed (`generator lag`) so a reader sees whether the load
side kept up. `--nice -10` (root) gives the bridge and its peers priority over other work on the
machine — the process's and its session's (autogroup) nice; the load average is printed.

Each call, as a real one: the TwiML endpoint's `POST /prepare` (the Realtime server takes
`--realtime-setup-ms` to accept, as a remote one does), the stream `--stream-gap-ms` later
(`connected`, `start`), then the caller's 20 ms μ-law frames (160 bytes) at real time both ways of the
relay: the model answers `response.create` with 100 ms deltas (800 bytes) at real time, every mark is
echoed at once. Once during the relay (staggered across calls) the caller speaks over audio it has
not played: `speech_started` → Twilio `clear`.

Printed per run: relay latency p50/p99 each way (Twilio→Realtime: media due → append received;
Realtime→Twilio: delta due → media received; timed in the peer process), barge-in reaction p99
(speech_started sent → clear received), start→first audio p50/p99 (stream `start` sent → first
`media` received), the bridge's CPU per call (% of a core, during the relay), its RSS per call, the
generator's lag (how late it sent what was due: p50/p99/max), the peers' CPU and the load average (what
else ran on the machine: 1-minute load of both cores).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import gc
import hashlib
import json
import multiprocessing as mp
import os
import struct
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

FRAME = 160  # 20 ms of μ-law
DELTA = 800  # 100 ms
TICK = 0.02
DELTA_EVERY = 5  # ticks: a 100 ms delta every 5 frames
CALLS_PER_SECOND = 20.0  # calls are answered at this pace (a dialer paces its calls; moto sets them up)
SETTLE_SECONDS = 0.5
SPEAKING_TIMEOUT = 60.0  # every call's greeting must have begun before the relay is measured
BRIDGE_CORE, PEER_CORE = 0, 1
PHASES = 20  # a call's frames are due at one of the tick's 1 ms phases (call k at phase k mod 20)
PHASE = TICK / PHASES
FRAME_DUE, DELTA_DUE, BARGE_DUE = range(3)  # what the generator's timeline sends


def _audio(seq: int, size: int) -> str:
    return base64.b64encode(struct.pack(">I", seq) + bytes(size - 4)).decode()


def _seq(text: bytes, marker: bytes) -> int:
    """The frame number carried in the first bytes of the payload after `marker` (no JSON parse)."""
    at = text.find(marker) + len(marker)
    return int(struct.unpack(">I", base64.b64decode(text[at : at + 8])[:4])[0])


# --------------------------------------------------------------------------------------------------
# A minimal websocket for the peers (RFC 6455 text frames, no extensions): frames are built once, before
# the run; a client's frames use the all-zero masking key, so a masked frame is its text as is.
# --------------------------------------------------------------------------------------------------

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_frame(text: str | bytes, *, masked: bool, opcode: int = 0x1) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    size = len(data)
    mask_bit = 0x80 if masked else 0
    if size < 126:
        header = bytes((0x80 | opcode, mask_bit | size))
    elif size < 1 << 16:
        header = bytes((0x80 | opcode, mask_bit | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, mask_bit | 127)) + size.to_bytes(8, "big")
    return header + (b"\0\0\0\0" if masked else b"") + data


class RawSocket(asyncio.Protocol):
    """One websocket connection; `on_text(bytes)` for each text message, after the HTTP upgrade."""

    def __init__(self, on_text: Any, *, client: bool) -> None:
        self.on_text = on_text
        self.client = client
        self.transport: Any = None
        self.buffer = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.head: bytes = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def send(self, frame: bytes) -> None:
        self.transport.write(frame)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head, self.buffer = bytes(self.buffer[:end]), self.buffer[end + 4 :]
            self.upgraded.set_result(self.head)
        buffer, start, end = self.buffer, 0, len(self.buffer)
        while end - start >= 2:
            opcode, size, at = buffer[start] & 0x0F, buffer[start + 1] & 0x7F, start + 2
            if size == 126:
                size, at = int.from_bytes(buffer[at : at + 2], "big"), at + 2
            elif size == 127:
                size, at = int.from_bytes(buffer[at : at + 8], "big"), at + 8
            key = b""
            if buffer[start + 1] & 0x80:
                key, at = bytes(buffer[at : at + 4]), at + 4
            if end < at + size:
                break
            payload = bytes(buffer[at : at + size])
            start = at + size
            if key and key != b"\0\0\0\0":
                stream = (key * (size // 4 + 1))[:size]
                payload = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(
                    size, "big"
                )
            if opcode == 0x1:
                self.on_text(payload)
            elif opcode == 0x9:  # ping → pong
                self.send(ws_frame(payload, masked=self.client, opcode=0xA))
            elif opcode == 0x8:
                self.transport.close()
                break
        del buffer[:start]  # once per read: the frames parsed


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def _header(head: bytes, name: str) -> str:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        field, _, value = line.partition(":")
        if field.strip().lower() == name.lower():
            return value.strip()
    return ""


# --------------------------------------------------------------------------------------------------
# The peers (child process, core 1)
# --------------------------------------------------------------------------------------------------


class Call:
    """One call as its peers see it: frames built before the run, and what was timed."""

    def __init__(self, index: int, spec: dict[str, str], ticks: int) -> None:
        self.index = index
        self.spec = spec
        self.stream = "MZ" + spec["call_sid"][2:]
        self.media = [
            ws_frame(
                json.dumps(
                    {
                        "event": "media",
                        "sequenceNumber": str(seq + 3),
                        "streamSid": self.stream,
                        "media": {
                            "track": "inbound",
                            "chunk": str(seq + 1),
                            "timestamp": str(seq * 20),
                            "payload": _audio(seq, FRAME),
                        },
                    }
                ),
                masked=True,
            )
            for seq in range(ticks)
        ]
        self.deltas = {item: self._deltas(item, ticks // DELTA_EVERY + 2) for item in ("i1", "i2")}
        self.item = "i1"
        self.twilio: RawSocket | None = None
        self.write: Any = None  # the Twilio socket's transport.write
        self.model: RawSocket | None = None
        self.speaking = False
        self.echo = True
        self.up_sent: dict[int, float] = {}
        self.down_sent: dict[int, float] = {}
        self.started_at = 0.0
        self.first_audio: float | None = None
        self.barge_sent = 0.0
        self.cleared = asyncio.Event()

    def _deltas(self, item: str, count: int) -> list[bytes]:
        return [
            ws_frame(
                json.dumps(
                    {
                        "type": "response.output_audio.delta",
                        "event_id": f"e{seq}",
                        "response_id": "r1",
                        "item_id": item,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": _audio(seq, DELTA),
                    }
                ),
                masked=False,
            )
            for seq in range(count)
        ]

    def send_delta(self, seq: int, due: float) -> None:
        assert self.model is not None
        self.down_sent[seq] = due
        self.model.send(self.deltas[self.item][seq])


APPEND = b'{"type":"input_audio_buffer.append"'
RESPONSE_CREATE = b'{"type":"response.create"}'
MEDIA = b'{"event": "media"'
MARK = b'{"event": "mark"'
CLEAR = b'{"event": "clear"'
CREATED = ws_frame('{"type":"response.created","response":{"id":"r1"}}', masked=False)
SESSION_CREATED = ws_frame('{"type":"session.created","session":{"id":"s"}}', masked=False)
SESSION_UPDATED = ws_frame('{"type":"session.updated","session":{"id":"s"}}', masked=False)
SPEECH_STARTED = ws_frame(
    '{"type":"input_audio_buffer.speech_started","audio_start_ms":0,"item_id":"u1"}', masked=False
)


async def _peers(
    bridge_url: str, specs: list[dict[str, str]], options: dict[str, Any], port_queue: Any, events: Any
) -> dict[str, Any]:
    import httpx

    loop = asyncio.get_running_loop()
    ticks = int(options["seconds"] / TICK)
    calls = [Call(i, spec, ticks) for i, spec in enumerate(specs)]
    by_sid = {call.spec["call_sid"]: call for call in calls}
    up: list[float] = []
    down: list[float] = []
    barge: list[float] = []
    lag: list[float] = []  # how late the generator sent what was due
    measuring = [False]

    def realtime_socket() -> RawSocket:
        """The Realtime server's side of one session."""
        holder: dict[str, Call] = {}

        def on_text(text: bytes) -> None:
            call = holder["call"]
            if text.startswith(APPEND):
                sent = call.up_sent.pop(_seq(text, b'"audio":"'), None)
                if sent is not None and measuring[0]:
                    up.append(time.perf_counter() - sent)
            elif text == RESPONSE_CREATE:
                assert call.model is not None
                call.model.send(CREATED)
                call.send_delta(0, time.perf_counter())
                call.speaking = True
            elif b'"session.update"' in text[:40]:
                socket.send(SESSION_UPDATED)

        socket = RawSocket(on_text, client=False)

        def upgraded(future: asyncio.Future[bytes]) -> None:
            head = future.result()
            call = holder["call"] = by_sid[_header(head, "X-Client-Request-Id")]
            call.model = socket
            answer = (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(_header(head, 'Sec-WebSocket-Key'))}\r\n\r\n"
            ).encode()

            def accept() -> None:  # a remote Realtime accepts later
                socket.send(answer)
                socket.send(SESSION_CREATED)

            loop.call_later(options["realtime_setup_ms"] / 1000, accept)

        socket.upgraded.add_done_callback(upgraded)
        return socket

    server = await loop.create_server(realtime_socket, "127.0.0.1", 0)
    port_queue.put(server.sockets[0].getsockname()[1])
    await asyncio.to_thread(events["go"].wait)
    host, port = bridge_url.removeprefix("http://").split(":")

    def twilio_socket(call: Call) -> RawSocket:
        def on_text(text: bytes) -> None:
            if text.startswith(MEDIA):
                now = time.perf_counter()
                if call.first_audio is None:
                    call.first_audio = now - call.started_at
                sent = call.down_sent.pop(_seq(text, b'"payload": "'), None)
                if sent is not None and measuring[0]:
                    down.append(now - sent)
            elif text.startswith(MARK) and call.echo:
                socket.send(ws_frame(text, masked=True))  # Twilio's echo has the same shape
            elif text.startswith(CLEAR):
                barge.append(time.perf_counter() - call.barge_sent)
                call.cleared.set()

        socket = RawSocket(on_text, client=True)
        return socket

    async def place(call: Call, http: httpx.AsyncClient) -> None:
        await asyncio.sleep(call.index / CALLS_PER_SECOND)
        spec = call.spec
        params = {"targetId": spec["target_id"], "callSid": spec["call_sid"], "token": spec["token"]}
        if options["prepare"]:
            answer = await http.post(bridge_url + "/prepare", json=params)
            assert answer.status_code == 202, answer.text
            await asyncio.sleep(options["stream_gap_ms"] / 1000)
        _, socket = await loop.create_connection(lambda: twilio_socket(call), host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        socket.send(
            (
                f"GET /media HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await socket.upgraded
        assert head.startswith(b"HTTP/1.1 101"), head
        call.twilio = socket
        call.write = socket.transport.write
        socket.send(ws_frame('{"event":"connected","protocol":"Call","version":"1.0.0"}', masked=True))
        start = {
            "accountSid": "AC" + "0" * 32,
            "streamSid": call.stream,
            "callSid": spec["call_sid"],
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": params,
        }
        call.started_at = time.perf_counter()
        socket.send(
            ws_frame(
                json.dumps(
                    {"event": "start", "sequenceNumber": "1", "start": start, "streamSid": call.stream}
                ),
                masked=True,
            )
        )

    async def barge_in(call: Call) -> None:
        """The caller speaks over audio still queued (marks not echoed): the bridge must clear."""
        assert call.model is not None
        await asyncio.sleep(2 * TICK)
        call.barge_sent = time.perf_counter()
        call.model.send(SPEECH_STARTED)
        await asyncio.wait_for(call.cleared.wait(), 10)
        call.echo = True
        call.item = "i2"  # the model answers with a new item; the interrupted one's audio is dropped
        call.down_sent.clear()

    async with httpx.AsyncClient(timeout=30) as http:
        placing = await asyncio.gather(*(place(call, http) for call in calls), return_exceptions=True)
    failed = [repr(r) for r in placing if isinstance(r, BaseException)]
    deadline = time.perf_counter() + SPEAKING_TIMEOUT
    # Greetings begin in the socket callbacks: polling is the simple wait.
    while not all(call.speaking for call in calls if call.twilio) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(SETTLE_SECONDS)
    live = [call for call in calls if call.twilio is not None and call.speaking]
    # One loop sends every call's frames: a frame per call each 20 ms, a delta each 100 ms; each call
    # barges in once, the calls' moments spread over the run.
    # One loop sends every call's frames, each call at its own phase: calls start at independent
    # moments, so their 20 ms ticks are spread uniformly over the tick (call k at its k mod 20th
    # millisecond: as many calls at each), and their 100 ms deltas over the 5 ticks of a delta. Every send is on a timeline built before the
    # run; latency is timed from the moment a frame was due, so the generator's own lateness counts
    # against the bridge (and is reported as the generator's lag).
    span = max(1, ticks // DELTA_EVERY - 10)
    timeline: list[tuple[float, int, int, Call]] = []  # (due, kind, seq, call), due from the origin
    for k, call in enumerate(live):
        phase = (k % PHASES) * PHASE
        barge_tick = DELTA_EVERY * (5 + k % span) + k % DELTA_EVERY
        for tick in range(ticks):
            due = tick * TICK + phase
            timeline.append((due, FRAME_DUE, tick, call))
            if tick % DELTA_EVERY == k % DELTA_EVERY:
                timeline.append((due, DELTA_DUE, tick // DELTA_EVERY + 1, call))
            if tick == barge_tick:
                timeline.append((due, BARGE_DUE, 0, call))
    timeline.sort(key=lambda entry: entry[0])
    measuring[0] = True
    _realtime_priority(0, options["fifo"])
    events["steady"].set()
    peer_cpu = time.process_time()
    barges: list[asyncio.Task[None]] = []
    clock = time.perf_counter
    origin = clock() + TICK
    at, total = 0, len(timeline)
    while at < total:
        now = clock()
        while at < total and timeline[at][0] + origin <= now:  # everything due by now, in order
            due, kind, seq, call = timeline[at]
            due += origin
            at += 1
            lag.append(now - due)
            if kind == FRAME_DUE:
                call.up_sent[seq] = due
                call.write(call.media[seq])
            elif kind == DELTA_DUE:
                call.send_delta(seq, due)
            else:
                call.echo = False  # from now on its marks stay pending: the audio is "playing"
                barges.append(loop.create_task(barge_in(call)))
        if at < total:  # the loop's timers count whole milliseconds: a shorter sleep would spin
            await asyncio.sleep(max(timeline[at][0] + origin - clock(), PHASE))
    measuring[0] = False
    _realtime_priority(0, False)
    events["done"].set()
    peer_cpu = (time.process_time() - peer_cpu) / (clock() - origin)
    outcomes = await asyncio.gather(*barges, return_exceptions=True)
    failed += [repr(r) for r in outcomes if isinstance(r, BaseException)]
    first = [call.first_audio if call.first_audio is not None else float("inf") for call in live]
    for call in live:
        assert call.twilio is not None
        stop = {"event": "stop", "streamSid": call.stream, "stop": {"callSid": call.spec["call_sid"]}}
        call.twilio.send(ws_frame(json.dumps(stop), masked=True))
    await asyncio.sleep(0.5)
    for call in live:
        assert call.twilio is not None
        call.twilio.transport.close()
    server.close()
    return {
        "up": up,
        "down": down,
        "barge": barge,
        "first": first,
        "peer_cpu": peer_cpu,
        "lag": lag,
        "errors": failed[:3],
        "failed": len(failed) + len(calls) - len(live),
    }


def _peer_process(
    bridge_url: str,
    specs: list[dict[str, str]],
    options: dict[str, Any],
    port_queue: Any,
    events: Any,
    out: Any,
) -> None:
    import uvloop

    os.sched_setaffinity(0, {PEER_CORE})
    out.put(uvloop.run(_peers(bridge_url, specs, options, port_queue, events)))


# --------------------------------------------------------------------------------------------------
# The bridge (this process, core 0)
# --------------------------------------------------------------------------------------------------


def _realtime_priority(thread: int, on: bool) -> None:
    """The relay's threads (the bridge's event loop, the peers' process) first on their cores while
    measured (`--fifo`, root): a woken one runs at once instead of after the machine's other work.
    The kernel keeps 5% of each core for the rest (`sched_rt_runtime_us`)."""
    if on:
        os.sched_setscheduler(thread, os.SCHED_FIFO, os.sched_param(1))
    elif os.sched_getscheduler(thread) != os.SCHED_OTHER:
        os.sched_setscheduler(thread, os.SCHED_OTHER, os.sched_param(0))


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(n_calls: int, options: dict[str, Any]) -> None:
    from containers.voice_bridge.app import Bridge, serve_in_thread
    from containers.voice_bridge.settings import BridgeSettings
    from shared.adapters import stream_tokens
    from shared.core import clock
    from shared.core.config import reset_settings
    from shared.data import targets as targets_data
    from shared.domain.ids import new_id, target_id
    from shared.domain.models import Invoice, Target

    now = clock.now()
    run_id = new_id()[-6:]
    targets = [
        Target(
            id=target_id(f"B{run_id}{i}", "52998224725"),  # one campaign per call: one case each
            campaign_id=f"B{run_id}{i}",
            client_name=f"Cliente{i}",
            phone="5511999998888",
            document="52998224725",
            invoices=[Invoice(invoice_number=f"F{i}", amount=Decimal("10.00"), due_date=date(2025, 1, 1))],
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        for i in range(n_calls)
    ]
    targets_data.insert_new(targets)
    specs = []
    for target in targets:
        sid = "CA" + new_id().lower().ljust(32, "0")[:32]
        token = stream_tokens.sign(target.id, sid, os.environ["TWILIO_AUTH_TOKEN"])
        specs.append({"target_id": target.id, "call_sid": sid, "token": token})
    bridge = serve_in_thread(Bridge(BridgeSettings(drain_seconds=5)))
    ctx = mp.get_context("spawn")
    port_queue, out = ctx.Queue(), ctx.Queue()
    events = {name: ctx.Event() for name in ("go", "steady", "done")}
    child = ctx.Process(target=_peer_process, args=(bridge.url, specs, options, port_queue, events, out))
    child.start()
    os.environ["OPENAI_REALTIME_URL"] = f"ws://127.0.0.1:{port_queue.get(timeout=30)}/v1/realtime"
    reset_settings()
    # What the bridge's own process does after start-up (`containers.voice_bridge.__main__`): the
    # objects loaded so far — here moto and boto's models too — are left out of garbage collection.
    gc.collect()
    gc.freeze()
    rss_before = _rss_kib()
    events["go"].set()
    events["steady"].wait(120)
    loop_thread = next(t for t in threading.enumerate() if t.name == "voice-bridge").native_id
    _realtime_priority(loop_thread, options["fifo"])
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    peak_rss = _rss_kib()
    while not events["done"].wait(0.1):
        peak_rss = max(peak_rss, _rss_kib())
    cpu = time.process_time() - cpu_before
    _realtime_priority(loop_thread, False)
    wall = time.perf_counter() - wall_before
    result = out.get(timeout=120)
    child.join(10)
    bridge.shutdown(timeout=30)
    per_call = 100 * cpu / wall / n_calls
    print(
        f"{n_calls:>3} calls | failed {result['failed']}"
        f" | relay T->R p50 {_pct(result['up'], 0.5):5.2f} p99 {_pct(result['up'], 0.99):6.2f} ms"
        f" | R->T p50 {_pct(result['down'], 0.5):5.2f} p99 {_pct(result['down'], 0.99):6.2f} ms"
        f" | barge-in p99 {_pct(result['barge'], 0.99):6.2f} ms"
        f" | start->first audio p50 {_pct(result['first'], 0.5):6.1f} p99 {_pct(result['first'], 0.99):6.1f} ms"
        f" | bridge CPU {100 * cpu / wall:5.1f}% of a core, {per_call:.2f}%/call"
        f" | RSS +{(peak_rss - rss_before) / n_calls:.0f} KiB/call"
        f" | generator lag p50 {_pct(result['lag'], 0.5):4.2f} p99 {_pct(result['lag'], 0.99):5.2f}"
        f" max {_pct(result['lag'], 1.0):5.1f} ms, peers' CPU {100 * result['peer_cpu']:.0f}% of their core"
        f" | load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if result["errors"]:
        print("   errors:", result["errors"])


def _serialize_aws_calls() -> None:
    """In-process moto is not thread-safe (tests/integration/test_data_concurrency.py): the bridge's
    DynamoDB calls, made from worker threads, are serialized here. Real DynamoDB needs no such lock."""
    from botocore.client import BaseClient

    lock = threading.Lock()
    original = BaseClient._make_api_call

    def locked(self: Any, operation: str, params: Any) -> Any:
        with lock:
            return original(self, operation, params)

    BaseClient._make_api_call = locked  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--seconds", type=float, default=6.0, help="relay time measured per run")
    parser.add_argument("--realtime-setup-ms", type=float, default=300.0, help="Realtime accepts this late")
    parser.add_argument("--stream-gap-ms", type=float, default=300.0, help="TwiML fetched → stream start")
    parser.add_argument(
        "--no-prepare", dest="prepare", action="store_false", help="streams prepare their calls"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority of the bridge and its peers (negative needs root): on a machine other "
        "work shares, the cores they are pinned to are theirs only if they come first",
    )
    parser.add_argument(
        "--fifo",
        action="store_true",
        help="while the relay is measured, the bridge's event loop and its peers run SCHED_FIFO (root): on a "
        "machine other work shares, the only way a woken relay thread runs at once",
    )
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
        # With the kernel's autogroups, a process's nice weighs only within its session: the session's
        # own nice (Linux `/proc/<pid>/autogroup`, "/autogroup-N nice K") is what competes with other
        # sessions' work. It is the shell's too: given back at exit.
        autogroup = Path("/proc/self/autogroup")
        if autogroup.exists():
            before = autogroup.read_text().split()[-1]
            autogroup.write_text(str(args.nice))
            atexit.register(autogroup.write_text, before)
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("the benchmark pins the bridge and its peers to two different cores: it needs two")
    os.sched_setaffinity(0, {BRIDGE_CORE})
    options = {
        "seconds": args.seconds,
        "realtime_setup_ms": args.realtime_setup_ms,
        "stream_gap_ms": args.stream_gap_ms,
        "prepare": args.prepare,
        "fifo": args.fifo,
    }

    from moto import mock_aws

    _serialize_aws_calls()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "sa-east-1",
        "AWS_DEFAULT_REGION": "sa-east-1",
        "COBRANCA_TABLE_PREFIX": "bench",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "bench-token",
        "TWILIO_PHONE_NUMBER": "+5511400000000",
        "OPENAI_API_KEY": "sk-bench",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(env)
    from shared.core.config import reset_settings
    from shared.data import bind, create_tables

    reset_settings()
    print(
        f"bridge on core {BRIDGE_CORE}, peers on core {PEER_CORE} (nice {os.nice(0)}"
        + (", SCHED_FIFO while measured" if args.fifo else "")
        + f", load average "
        f"{os.getloadavg()[0]:.1f}); {args.seconds:.0f} s of relay per run, each call's frames at its own "
        f"phase of the 20 ms tick ({PHASES} phases), latency from when a frame was due; "
        f"Realtime accepts in {args.realtime_setup_ms:.0f} ms; "
        + (f"prepared at TwiML, stream {args.stream_gap_ms:.0f} ms later" if args.prepare else "no prepare")
    )
    with mock_aws():
        bind()
        create_tables()
        for n in args.calls:
            run(n, options)


if __name__ == "__main__":
    main()
