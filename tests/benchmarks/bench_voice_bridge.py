"""Voice bridge under load: N concurrent simulated calls on loopback, the bridge on one core and its
two peers on the other.

    .venv/bin/python tests/benchmarks/bench_voice_bridge.py [--calls 50 100 200] [--seconds 6]

The bridge runs in this process (over in-process moto, as in the tests), pinned to core 0
(`os.sched_setaffinity`); the peers — Twilio Media Streams clients and a Realtime server — run in a
child process pinned to core 1, so what is measured is the bridge's cost, not the load generator's.
The generator is cheap: every frame is serialized before the run, one loop ticks every 20 ms and sends
each call's frame, the peers read only what they time (a slice of the text, no JSON parse).

Each call, as a real one: the TwiML endpoint's `POST /prepare` (the Realtime server takes
`--realtime-setup-ms` to accept, as a remote one does), the stream `--stream-gap-ms` later
(`connected`, `start`), then the caller's 20 ms μ-law frames (160 bytes) at real time both ways of the
relay: the model answers `response.create` with 100 ms deltas (800 bytes) at real time, every mark is
echoed at once. Once during the relay (staggered across calls) the caller speaks over audio it has
not played: `speech_started` → Twilio `clear`.

Printed per run: relay latency p50/p99 each way (Twilio→Realtime: media sent → append received;
Realtime→Twilio: delta sent → media received; timed in the peer process), barge-in reaction p99
(speech_started sent → clear received), start→first audio p50/p99 (stream `start` sent → first
`media` received), the bridge's CPU per call (% of a core, during the relay) and its RSS per call.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import struct
import sys
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
RAMP_SECONDS = 2.0  # calls start spread over this long
SETTLE_SECONDS = 0.5
BRIDGE_CORE, PEER_CORE = 0, 1


def _audio(seq: int, size: int) -> str:
    return base64.b64encode(struct.pack(">I", seq) + bytes(size - 4)).decode()


def _seq(text: str, marker: str) -> int:
    """The frame number carried in the first bytes of the payload after `marker` (no JSON parse)."""
    at = text.find(marker) + len(marker)
    return int(struct.unpack(">I", base64.b64decode(text[at : at + 8])[:4])[0])


# --------------------------------------------------------------------------------------------------
# The peers (child process, core 1)
# --------------------------------------------------------------------------------------------------


class Call:
    """One call as its peers see it: pre-serialized frames and what was timed."""

    def __init__(self, index: int, spec: dict[str, str], ticks: int) -> None:
        self.index = index
        self.spec = spec
        self.stream = "MZ" + spec["call_sid"][2:]
        self.media = [
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
            )
            for seq in range(ticks)
        ]
        self.item = "i1"
        self.deltas = [self._delta(seq) for seq in range(ticks // DELTA_EVERY + 1)]
        self.twilio: Any = None
        self.model: Any = None
        self.live = False
        self.speaking = False
        self.echo = True
        self.up_sent: dict[int, float] = {}
        self.down_sent: dict[int, float] = {}
        self.started_at = 0.0
        self.first_audio: float | None = None
        self.barge_sent = 0.0
        self.cleared = asyncio.Event()

    def _delta(self, seq: int) -> str:
        return json.dumps(
            {
                "type": "response.output_audio.delta",
                "event_id": f"e{seq}",
                "response_id": "r1",
                "item_id": self.item,
                "output_index": 0,
                "content_index": 0,
                "delta": _audio(seq, DELTA),
            }
        )


async def _peers(
    bridge_url: str, specs: list[dict[str, str]], options: dict[str, Any], port_queue: Any, events: Any
) -> dict[str, Any]:
    import httpx
    import websockets

    ticks = int(options["seconds"] / TICK)
    calls = [Call(i, spec, ticks) for i, spec in enumerate(specs)]
    by_sid = {call.spec["call_sid"]: call for call in calls}
    up: list[float] = []
    down: list[float] = []
    barge: list[float] = []
    first: list[float] = []
    measuring = [False]

    async def setup_delay(connection: Any, request: Any) -> None:
        await asyncio.sleep(options["realtime_setup_ms"] / 1000)  # a remote Realtime accepts later

    async def realtime(ws: Any) -> None:
        call = by_sid[ws.request.headers["X-Client-Request-Id"]]
        call.model = ws
        await ws.send('{"type":"session.created","session":{"id":"s"}}')
        async for raw in ws:
            if raw.startswith('{"type":"input_audio_buffer.append"'):
                sent = call.up_sent.pop(_seq(raw, '"audio":"'), None)
                if sent is not None and measuring[0]:
                    up.append(time.perf_counter() - sent)
            elif raw == '{"type":"response.create"}':
                await ws.send('{"type":"response.created","response":{"id":"r1"}}')
                call.down_sent[0] = time.perf_counter()
                await ws.send(call.deltas[0])
                call.speaking = True
            elif '"session.update"' in raw[:40]:
                await ws.send('{"type":"session.updated","session":{"id":"s"}}')

    server = await websockets.serve(
        realtime, "127.0.0.1", 0, compression=None, max_size=None, process_request=setup_delay
    )
    port_queue.put(next(iter(server.sockets)).getsockname()[1])
    await asyncio.to_thread(events["go"].wait)

    async def twilio_reader(call: Call) -> None:
        async for raw in call.twilio:
            if raw.startswith('{"event": "media"'):
                now = time.perf_counter()
                if call.first_audio is None:
                    call.first_audio = now - call.started_at
                sent = call.down_sent.pop(_seq(raw, '"payload": "'), None)
                if sent is not None and measuring[0]:
                    down.append(now - sent)
            elif raw.startswith('{"event": "mark"') and call.echo:
                await call.twilio.send(raw)  # Twilio's echo has the same shape
            elif raw.startswith('{"event": "clear"'):
                barge.append(time.perf_counter() - call.barge_sent)
                call.cleared.set()

    async def place(call: Call, http: httpx.AsyncClient) -> None:
        await asyncio.sleep(call.index * RAMP_SECONDS / len(calls))
        spec = call.spec
        params = {"targetId": spec["target_id"], "callSid": spec["call_sid"], "token": spec["token"]}
        if options["prepare"]:
            answer = await http.post(bridge_url + "/prepare", json=params)
            assert answer.status_code == 202, answer.text
            await asyncio.sleep(options["stream_gap_ms"] / 1000)
        call.twilio = await websockets.connect(
            bridge_url.replace("http://", "ws://") + "/media", compression=None, max_size=None
        )
        asyncio.get_running_loop().create_task(twilio_reader(call))
        await call.twilio.send('{"event":"connected","protocol":"Call","version":"1.0.0"}')
        start = {
            "accountSid": "AC" + "0" * 32,
            "streamSid": call.stream,
            "callSid": spec["call_sid"],
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": params,
        }
        call.started_at = time.perf_counter()
        await call.twilio.send(
            json.dumps({"event": "start", "sequenceNumber": "1", "start": start, "streamSid": call.stream})
        )
        call.live = True

    async def barge_in(call: Call) -> None:
        """The caller speaks over audio still queued (marks not echoed): the bridge must clear."""
        call.echo = False
        await asyncio.sleep(2 * TICK)
        call.barge_sent = time.perf_counter()
        await call.model.send(
            '{"type":"input_audio_buffer.speech_started","audio_start_ms":0,"item_id":"u1"}'
        )
        await asyncio.wait_for(call.cleared.wait(), 10)
        call.echo = True
        call.item = "i2"  # the model answers with a new item; the interrupted one is dropped
        call.deltas = [call._delta(seq) for seq in range(len(call.deltas))]
        call.down_sent.clear()

    async with httpx.AsyncClient(timeout=30) as http:
        placing = await asyncio.gather(*(place(call, http) for call in calls), return_exceptions=True)
    failed = [repr(r) for r in placing if isinstance(r, BaseException)]
    await asyncio.sleep(SETTLE_SECONDS)
    live = [call for call in calls if call.live and call.model is not None]
    # One loop sends every call's frames: a frame per call each 20 ms, a delta each 100 ms.
    measuring[0] = True
    events["steady"].set()
    barge_at = {
        call.index: DELTA_EVERY * (5 + i % max(1, (ticks // DELTA_EVERY) - 10)) for i, call in enumerate(live)
    }
    barges: list[asyncio.Task[None]] = []
    origin = time.perf_counter()
    for tick in range(ticks):
        for call in live:
            call.up_sent[tick] = time.perf_counter()
            await call.twilio.send(call.media[tick])
            if tick % DELTA_EVERY == 0 and call.speaking:
                seq = tick // DELTA_EVERY + 1
                call.down_sent[seq] = time.perf_counter()
                await call.model.send(call.deltas[seq])
                if barge_at[call.index] == tick:
                    barges.append(asyncio.get_running_loop().create_task(barge_in(call)))
        delay = origin + (tick + 1) * TICK - time.perf_counter()
        await asyncio.sleep(max(0.0, delay))
    measuring[0] = False
    events["done"].set()
    outcomes = await asyncio.gather(*barges, return_exceptions=True)
    failed += [repr(r) for r in outcomes if isinstance(r, BaseException)]
    for call in live:
        first.append(call.first_audio if call.first_audio is not None else float("inf"))
        await call.twilio.send(
            json.dumps(
                {"event": "stop", "streamSid": call.stream, "stop": {"callSid": call.spec["call_sid"]}}
            )
        )
        await call.twilio.close()
    server.close()
    return {
        "up": up,
        "down": down,
        "barge": barge,
        "first": first,
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
    os.sched_setaffinity(0, {PEER_CORE})
    out.put(asyncio.run(_peers(bridge_url, specs, options, port_queue, events)))


# --------------------------------------------------------------------------------------------------
# The bridge (this process, core 0)
# --------------------------------------------------------------------------------------------------


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
    rss_before = _rss_kib()
    events["go"].set()
    events["steady"].wait(120)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    peak_rss = _rss_kib()
    while not events["done"].wait(0.1):
        peak_rss = max(peak_rss, _rss_kib())
    cpu = time.process_time() - cpu_before
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
        f" | RSS +{(peak_rss - rss_before) / n_calls:.0f} KiB/call",
        flush=True,
    )
    if result["errors"]:
        print("   errors:", result["errors"])


def _serialize_aws_calls() -> None:
    """In-process moto is not thread-safe (tests/integration/test_data_concurrency.py): the bridge's
    DynamoDB calls, made from worker threads, are serialized here. Real DynamoDB needs no such lock."""
    import threading

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
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("the benchmark pins the bridge and its peers to two different cores: it needs two")
    os.sched_setaffinity(0, {BRIDGE_CORE})
    options = {
        "seconds": args.seconds,
        "realtime_setup_ms": args.realtime_setup_ms,
        "stream_gap_ms": args.stream_gap_ms,
        "prepare": args.prepare,
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
        f"bridge on core {BRIDGE_CORE}, peers on core {PEER_CORE}; {args.seconds:.0f} s of relay per run; "
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
