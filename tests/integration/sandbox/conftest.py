"""The sandbox's local AWS (moto's server, in process, single-threaded) and runtime, with tiny fake
handlers standing in for the workers.

One server per test module (starting moto costs ~0.3 s); every test gets its own virtual clock,
its own resources (a fresh name prefix) and its own runtime, stopped afterwards.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.local.aws import LocalAws, Provisioned, provision
from infra.local.clock import SandboxClock
from infra.local.runtime import LocalRuntime
from infra.local.topology import QueueSpec
from shared.core import clock as clock_module

# Monday 2025-03-10, 09:00 in São Paulo.
START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
VISIBILITY = 30  # seconds: failed records come back once the clock has passed this
_prefixes = itertools.count(1)


@dataclass
class Recorder:
    """A fake handler: records every event, fails the records `fail(body)` says to."""

    fail: Callable[[str], bool] = lambda body: False
    raises: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self._lock:
            self.events.append(event)
        if self.raises:
            raise RuntimeError("the fake handler blew up")
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if self.fail(r["body"])]
        return {"batchItemFailures": failures}

    @property
    def bodies(self) -> list[str]:
        with self._lock:
            return [r["body"] for e in self.events for r in e["Records"]]


@dataclass
class World:
    aws: LocalAws
    clock: SandboxClock
    provisioned: Provisioned
    runtime: LocalRuntime
    handlers: dict[str, Recorder]

    def sqs(self) -> Any:
        return self.aws.client("sqs")

    def send(self, queue: str, body: str, **kwargs: Any) -> None:
        self.sqs().send_message(QueueUrl=self.provisioned.queues[queue].url, MessageBody=body, **kwargs)

    def dead_letters(self, queue: str) -> list[str]:
        found = self.sqs().receive_message(
            QueueUrl=self.provisioned.queues[queue].dead_letter_url, MaxNumberOfMessages=10
        )
        return [m["Body"] for m in found.get("Messages", [])]

    def settle(self) -> None:
        assert self.runtime.settle(timeout=10), "the runtime never became idle"


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    aws = LocalAws(clock=SandboxClock(START)).start()
    yield aws
    aws.stop()


@pytest.fixture
def make_world(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., World]]:
    """Build a world: queues from `QueueSpec`s (consumer paths are keys of `handlers`), a fresh
    frozen clock installed process-wide, the runtime started."""
    runtimes: list[LocalRuntime] = []
    previous = clock_module.get_clock()

    def build(queues: tuple[QueueSpec, ...], handlers: dict[str, Recorder], **runtime_options: Any) -> World:
        monkeypatch.setenv("AWS_REGION", "sa-east-1")
        virtual = SandboxClock(START)
        local_aws.use_clock(virtual)
        clock_module.set_clock(virtual)
        provisioned = provision(local_aws, prefix=f"t{next(_prefixes)}", queues=queues, create_tables=False)
        runtime = LocalRuntime(local_aws, provisioned, handlers=handlers, **runtime_options).start()
        virtual.on_jump(runtime.clock_jumped)
        runtimes.append(runtime)
        return World(local_aws, virtual, provisioned, runtime, handlers)

    yield build
    for runtime in runtimes:
        runtime.stop()
    clock_module.set_clock(previous)


def work_queue(
    name: str = "work", *, batch_size: int = 10, fifo: bool = False, max_receive: int = 3
) -> QueueSpec:
    return QueueSpec(
        name,
        f"fake.{name}",
        batch_size=batch_size,
        function_timeout_seconds=5,
        fifo=fifo,
        max_receive_count=max_receive,
        visibility_timeout_override=VISIBILITY,
    )
