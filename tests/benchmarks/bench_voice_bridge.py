"""Voice bridge under load: N concurrent simulated calls on loopback.

    .venv/bin/python tests/benchmarks/bench_voice_bridge.py [--calls 50 200] [--seconds 4]

The bridge runs in this process (over in-process moto, as in the tests); the two peers (Twilio Media
Streams clients and the fake Realtime server) run in a child process, so the CPU and memory measured
here are the bridge's. Each call: Twilio sends 20 ms μ-law frames (160 bytes) at real time, the model
sends 100 ms deltas (800 bytes) at real time, every mark is echoed at once; at the end the model
streams a reply the caller does not "play" and the caller barges in.

Printed per run: p50/p99 added relay latency per frame (Twilio→Realtime: media sent → append
received; Realtime→Twilio: delta sent → media received, both timed in the peer process), barge-in
reaction (speech_started sent → clear received), the bridge's CPU% (time.process_time) and its
memory per call (/proc/self/status VmRSS before and during the calls).
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
RAMP_SECONDS = 1.0
SETTLE_SECONDS = 0.5  # latency is measured once every call is set up and this long has passed


# --------------------------------------------------------------------------------------------------
# The peers (child process)
# --------------------------------------------------------------------------------------------------


def _audio(seq: int, size: int) -> str:
    return base64.b64encode(struct.pack(">I", seq) + bytes(size - 4)).decode()


def _seq(payload: str) -> int:
    return int(struct.unpack(">I", base64.b64decode(payload[:8])[:4])[0])


async def _peers(
    ws_url: str, calls: list[dict[str, str]], seconds: float, port_queue: Any, go: Any
) -> dict[str, Any]:
    import websockets

    up: list[float] = []
    down: list[float] = []
    barge: list[float] = []
    sent_up: dict[tuple[str, int], float] = {}
    peers: dict[str, asyncio.Future[Any]] = {}
    steady = [float("inf")]  # frames sent before every call is set up are not counted

    async def realtime(ws: Any) -> None:
        await ws.send(json.dumps({"type": "session.created", "session": {"id": "s"}}))
        first = json.loads(await ws.recv())
        name = first["session"]["instructions"].split("se chama ", 1)[1].split(".", 1)[0]
        await ws.send(json.dumps({"type": "session.updated", "session": {"id": "s"}}))
        done: asyncio.Future[Any] = peers[name]
        done.set_result(ws)
        async for raw in ws:
            event = json.loads(raw)
            if event["type"] == "input_audio_buffer.append":
                sent = sent_up.pop((name, _seq(event["audio"])), None)
                if sent is not None and sent >= steady[0]:
                    up.append(time.perf_counter() - sent)

    server = await websockets.serve(realtime, "127.0.0.1", 0, compression=None, max_size=None)
    port_queue.put(next(iter(server.sockets)).getsockname()[1])
    await asyncio.to_thread(go.wait)
    steady[0] = time.perf_counter() + RAMP_SECONDS + SETTLE_SECONDS

    async def call(index: int, spec: dict[str, str]) -> None:
        # Calls ramp up over a second (moto's DynamoDB is not thread-safe under a burst of set-ups).
        await asyncio.sleep(index * RAMP_SECONDS / len(calls))
        name = spec["name"]
        peers[name] = asyncio.get_running_loop().create_future()
        ws = await websockets.connect(ws_url, compression=None, max_size=None)
        stream = "MZ" + spec["call_sid"][2:]
        delta_sent: dict[int, float] = {}
        cleared = asyncio.Event()
        echo = True

        async def read() -> None:
            async for raw in ws:
                message = json.loads(raw)
                if message["event"] == "media":
                    sent = delta_sent.pop(_seq(message["media"]["payload"]), None)
                    if sent is not None and sent >= steady[0]:
                        down.append(time.perf_counter() - sent)
                elif message["event"] == "mark" and echo:
                    await ws.send(json.dumps({"event": "mark", "streamSid": stream, "mark": message["mark"]}))
                elif message["event"] == "clear":
                    cleared.set()

        reader = asyncio.create_task(read())
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        params = {"targetId": spec["target_id"], "callSid": spec["call_sid"], "token": spec["token"]}
        start = {
            "streamSid": stream,
            "callSid": spec["call_sid"],
            "customParameters": params,
            "tracks": ["inbound"],
        }
        await ws.send(
            json.dumps({"event": "start", "sequenceNumber": "1", "start": start, "streamSid": stream})
        )
        model = await peers[name]

        async def caller() -> None:
            for seq in range(int(seconds * 50)):
                sent_up[(name, seq)] = time.perf_counter()
                media = {
                    "track": "inbound",
                    "chunk": str(seq),
                    "timestamp": str(seq * 20),
                    "payload": _audio(seq, FRAME),
                }
                await ws.send(json.dumps({"event": "media", "streamSid": stream, "media": media}))
                await asyncio.sleep(0.02)

        async def assistant() -> None:
            await model.send(json.dumps({"type": "response.created", "response": {"id": "r1"}}))
            for seq in range(int(seconds * 10)):
                delta_sent[seq] = time.perf_counter()
                event = {
                    "type": "response.output_audio.delta",
                    "response_id": "r1",
                    "item_id": "i1",
                    "delta": _audio(seq, DELTA),
                }
                await model.send(json.dumps(event))
                await asyncio.sleep(0.1)

        await asyncio.gather(caller(), assistant())
        echo = False  # the last reply is not played: the caller barges in
        await model.send(
            json.dumps(
                {
                    "type": "response.output_audio.delta",
                    "response_id": "r1",
                    "item_id": "i1",
                    "delta": _audio(10**6, DELTA),
                }
            )
        )
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        await model.send(
            json.dumps({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "u1"})
        )
        await asyncio.wait_for(cleared.wait(), 10)
        barge.append(time.perf_counter() - started)
        await ws.send(
            json.dumps({"event": "stop", "streamSid": stream, "stop": {"callSid": spec["call_sid"]}})
        )
        await ws.close()
        reader.cancel()

    results = await asyncio.gather(*(call(i, spec) for i, spec in enumerate(calls)), return_exceptions=True)
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    server.close()
    return {"up": up, "down": down, "barge": barge, "errors": errors[:3], "failed": len(errors)}


def _peer_process(
    ws_url: str, calls: list[dict[str, str]], seconds: float, port_queue: Any, go: Any, out: Any
) -> None:
    out.put(asyncio.run(_peers(ws_url, calls, seconds, port_queue, go)))


# --------------------------------------------------------------------------------------------------
# The bridge (this process)
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


def run(n_calls: int, seconds: float) -> None:
    from containers.voice_bridge.app import Bridge, serve_in_thread
    from containers.voice_bridge.settings import BridgeSettings
    from shared.adapters import stream_tokens
    from shared.core.config import reset_settings
    from shared.data import targets as targets_data
    from shared.domain.ids import new_id, target_id
    from shared.domain.models import Invoice, Target

    now = __import__("shared.core.clock", fromlist=["now"]).now()
    targets = [
        Target(
            id=target_id(f"BENCH{i}", "52998224725"),  # one campaign per call: one case each
            campaign_id=f"BENCH{i}",
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
    calls = []
    for target in targets:
        sid = "CA" + new_id().lower().ljust(32, "0")[:32]
        calls.append(
            {
                "name": target.client_name,
                "target_id": target.id,
                "call_sid": sid,
                "token": stream_tokens.sign(target.id, sid, os.environ["TWILIO_AUTH_TOKEN"]),
            }
        )
    bridge = serve_in_thread(Bridge(BridgeSettings(drain_seconds=5)))
    ctx = mp.get_context("spawn")
    port_queue, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    child = ctx.Process(target=_peer_process, args=(bridge.ws_url, calls, seconds, port_queue, go, out))
    child.start()
    os.environ["OPENAI_REALTIME_URL"] = f"ws://127.0.0.1:{port_queue.get(timeout=30)}/v1/realtime"
    reset_settings()
    rss_before = _rss_kib()
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    go.set()
    peak_rss = rss_before
    while child.is_alive() and out.empty():
        peak_rss = max(peak_rss, _rss_kib())
        time.sleep(0.1)
    result = out.get(timeout=120)
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - wall_before
    child.join(10)
    bridge.shutdown(timeout=30)
    print(
        f"{n_calls} calls x {seconds:.0f}s | failed {result['failed']}"
        f" | T->R p50 {_pct(result['up'], 0.5):6.2f} ms p99 {_pct(result['up'], 0.99):7.2f} ms "
        f" | R->T p50 {_pct(result['down'], 0.5):6.2f} ms p99 {_pct(result['down'], 0.99):7.2f} ms "
        f" | barge-in p50 {_pct(result['barge'], 0.5):6.2f} ms p99 {_pct(result['barge'], 0.99):7.2f} ms"
        f" | bridge CPU {100 * cpu / wall:5.1f}% of a core ({100 * cpu / wall / n_calls:.2f}%/call)"
        f" | RSS +{(peak_rss - rss_before) / n_calls:.0f} KiB/call (peak {peak_rss / 1024:.0f} MiB)"
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
    parser.add_argument("--calls", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()

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
    with mock_aws():
        bind()
        create_tables()
        for n in args.calls:
            run(n, args.seconds)


if __name__ == "__main__":
    main()
