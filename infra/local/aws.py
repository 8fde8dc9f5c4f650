"""The sandbox's AWS: moto's server, in process, on a loopback port — and the resources of
`infra.local.topology` created on it.

Single-threaded on purpose: moto's DynamoDB conditional writes are not atomic when its server handles
requests on several threads (two conditional UpdateItems can both succeed), and "two workers can
never both take the same target" is a rule we test. One request at a time makes every conditional
write atomic, as DynamoDB's are. The server speaks HTTP/1.0 (one connection per request), so no
client can hold it with an idle keep-alive connection, and the runtime never long-polls SQS.

Two small additions on top of moto, both in this file (and, in `infra.local.moto_speedups`, three
changes to how moto's DynamoDB does its work, never to what it answers):
- `Activity`: the server notes which queue each SQS send went to, with its delay (and S3 writes,
  schedule changes), so the runtime's pollers wake at once — or when a delay runs out — instead of
  polling the single-threaded server in a loop;
- SQS time follows the virtual clock's jumps: moto's SQS reads `time.time() + clock.skipped`, so a
  message's DelaySeconds and a failed record's visibility timeout run out when the virtual clock
  jumps past them, as they would have in real time on AWS.
"""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
from botocore.config import Config
from werkzeug.serving import BaseWSGIServer, make_server

from infra.local import moto_speedups
from infra.local.clock import SandboxClock
from infra.local.environment import FAKE_CREDENTIALS
from infra.local.topology import DLQ_RETENTION_SECONDS, QUEUES, QueueSpec

ACCOUNT_ID = "123456789012"  # moto's default account
WAKE_ALL = "*"
_CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)


Note = tuple[str, float | None]  # (topic, SQS-time instant a hidden message shows, if any)


class Activity:
    """Wake-up calls from the AWS endpoint to the runtime, by topic: `sqs:<queue name>`, `s3`,
    `scheduler`. A worker waits on its topic's event; a send to its queue wakes it, and a delayed
    message is remembered so its poller knows when to look again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = defaultdict(threading.Event)
        self._delayed: dict[str, list[float]] = defaultdict(list)  # topic -> SQS-time due instants

    def event(self, topic: str) -> threading.Event:
        with self._lock:
            return self._events[topic]

    def touch(self, topic: str) -> None:
        with self._lock:
            events = list(self._events.values()) if topic == WAKE_ALL else [self._events[topic]]
        for event in events:
            event.set()

    def apply(self, notes: list[Note]) -> None:
        """What one request did (see `_Observer`)."""
        for topic, due in notes:
            if due is not None:
                self.delayed(topic, due)
        for topic in {topic for topic, _ in notes}:
            self.touch(topic)

    def delayed(self, topic: str, due: float) -> None:
        """A hidden message of `topic` (delayed, or failed and invisible) shows at `due` (SQS time)."""
        with self._lock:
            self._delayed[topic].append(due)

    def next_due(self, topic: str, now: float) -> float | None:
        """Seconds from `now` to the earliest announced `due` of `topic` (negative: already due)."""
        with self._lock:
            pending = self._delayed.get(topic)
            return min(pending) - now if pending else None

    def clear_due(self, topic: str, now: float) -> None:
        """Forget what is due by `now`: the receive about to happen sees it."""
        with self._lock:
            if topic in self._delayed:
                self._delayed[topic] = [due for due in self._delayed[topic] if due > now]


class _Observer:
    """WSGI middleware in front of moto: notes what each request did (`emit`), before the client
    gets its answer, so a worker that sent a message can never look idle before its poller is woken."""

    def __init__(self, app: Any, emit: Callable[[list[Note]], None], sqs_time: Callable[[], float]) -> None:
        self._app = app
        self._emit = emit
        self._sqs_time = sqs_time
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.requests += 1
        service = _signed_service(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        notes: list[Note] = []
        if target.startswith("AmazonSQS."):
            notes = self._sqs(target.removeprefix("AmazonSQS."), _read_body(environ))
        elif service == "s3" and environ.get("REQUEST_METHOD") in ("PUT", "POST"):
            notes = [("s3", None)]
        elif service == "scheduler" and environ.get("REQUEST_METHOD") in ("POST", "PUT", "DELETE"):
            notes = [("scheduler", None)]
        try:
            return self._app(environ, start_response)
        finally:
            if notes:
                self._emit(notes)

    def _sqs(self, action: str, body: bytes) -> list[Note]:
        if action not in (
            "SendMessage",
            "SendMessageBatch",
            "ChangeMessageVisibility",
            "ChangeMessageVisibilityBatch",
        ):
            return []
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return [(WAKE_ALL, None)]
        topic = "sqs:" + _queue_name(str(request.get("QueueUrl", "")))
        entries = request.get("Entries") if action.endswith("Batch") else [request]
        now = self._sqs_time()
        notes: list[Note] = [(topic, None)]
        for entry in entries or ():
            delay = int(entry.get("DelaySeconds") or entry.get("VisibilityTimeout") or 0)
            if delay > 0:
                notes.append((topic, now + delay))
        return notes


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def _signed_service(environ: dict[str, Any]) -> str | None:
    """The service of a SigV4 request, from its credential scope (header or presigned query)."""
    scope = ""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
    elif "X-Amz-Credential=" in environ.get("QUERY_STRING", ""):
        from urllib.parse import parse_qs

        scope = parse_qs(environ["QUERY_STRING"]).get("X-Amz-Credential", [""])[0]
    parts = scope.split("/")
    return parts[3].lower() if len(parts) == 5 else None


def _queue_name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def _moto_server(
    host: str, port: int, emit: Callable[[list[Note]], None], sqs_time: Callable[[], float]
) -> Any:
    """moto's WSGI app behind `_Observer`, in a single-threaded werkzeug server."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    class Quiet(MotoRequestHandler):
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass  # one line per request would drown the sandbox's own output

    class Dispatcher(DomainDispatcherApplication):
        """moto's dispatcher, remembering which backend serves which host: moto lists its own
        package directory on every request to find out (a tenth of the server's time)."""

        def __init__(self, create_app: Any) -> None:
            super().__init__(create_app)
            self._backends: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self._backends:
                self._backends[host] = super().get_backend_for_host(host)
            return self._backends[host]

    moto_speedups.apply()
    observer = _Observer(Dispatcher(create_backend_app), emit, sqs_time)
    server = make_server(host, port, observer, threaded=False, request_handler=Quiet)
    server.observer = observer  # type: ignore[attr-defined]
    return server


@dataclass
class LocalAws:
    """moto's server on `host:port` (0: any free port), one request at a time.

    `in_child=True` runs it in a child process (`python -m infra.local.aws`): the server then has a
    core of its own instead of sharing this interpreter's lock with the workers, which roughly halves
    the demo's time on two cores. The child writes its notes to a pipe before answering each request,
    so `caught_up()` (the pipe is empty and nothing is being applied) can never miss a send a worker
    has already seen answered; the clock's jumps go to it on its stdin, and it exits when that closes."""

    clock: SandboxClock | None = None
    host: str = "127.0.0.1"
    port: int = 0
    region: str = "sa-east-1"
    in_child: bool = False
    activity: Activity = field(default_factory=Activity)
    _url: str | None = field(default=None, repr=False)
    _server: BaseWSGIServer | None = field(default=None, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)
    _restore_time: Callable[[], None] | None = field(default=None, repr=False)
    _child: subprocess.Popen[str] | None = field(default=None, repr=False)
    _notes_fd: int | None = field(default=None, repr=False)
    _notes_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _applying: bool = field(default=False, repr=False)
    _served: int = field(default=0, repr=False)
    _watched: set[int] = field(default_factory=set, repr=False)

    @property
    def url(self) -> str:
        assert self._url is not None, "start() first"
        return self._url

    def start(self) -> LocalAws:
        if self.in_child:
            self._start_child()
        else:
            self._restore_time = _shift_sqs_time(self.sqs_time)
            self._server = _moto_server(self.host, self.port, self.activity.apply, self.sqs_time)
            self._url = f"http://{self.host}:{self._server.server_port}"
            self._spawn_thread(self._server.serve_forever, "local-aws")
            httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()  # a clean account
        return self

    def _start_child(self) -> None:
        read_fd, write_fd = os.pipe()
        self._child = subprocess.Popen(
            [sys.executable, "-m", "infra.local.aws", self.host, str(self.port), str(write_fd)],
            stdin=subprocess.PIPE,
            pass_fds=(write_fd,),
            text=True,
        )
        os.close(write_fd)
        self._notes_fd = read_fd
        ready, _, _ = select.select([read_fd], [], [], 60)
        first = _read_line(read_fd) if ready else ""
        if not first.startswith("port "):
            self.stop()
            raise RuntimeError("the local AWS endpoint did not start (see its output above)")
        self._url = f"http://{self.host}:{int(first.split()[1])}"
        self._watch_clock()
        self._spawn_thread(self._read_notes, "local-aws-notes")

    def _read_notes(self) -> None:
        fd = self._notes_fd
        assert fd is not None
        pending = b""
        while True:
            try:
                ready, _, _ = select.select([fd], [], [], 1.0)
                if not ready:
                    continue
                with self._notes_lock:
                    self._applying = True
                chunk = os.read(fd, 1 << 16)
            except (OSError, ValueError):
                return
            try:
                if not chunk:
                    return
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    served, notes = json.loads(line)
                    self._served = served
                    self.activity.apply([(topic, due) for topic, due in notes])
            finally:
                with self._notes_lock:
                    self._applying = False

    def _spawn_thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, daemon=True, name=name)
        thread.start()
        self._threads.append(thread)

    def caught_up(self) -> bool:
        """Every note the endpoint wrote has been applied (always true in process)."""
        if not self.in_child or self._notes_fd is None:
            return True
        with self._notes_lock:
            if self._applying:
                return False
        readable, _, _ = select.select([self._notes_fd], [], [], 0)
        return not readable

    @property
    def requests_served(self) -> int:
        """Requests the endpoint has answered (in a child: as of its last note)."""
        if self.in_child:
            return self._served
        return self._server.observer.requests if self._server else 0  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._child is not None:
            if self._child.stdin:
                self._child.stdin.close()  # the child exits when its stdin closes
            try:
                self._child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait(timeout=5)
            self._child = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._notes_fd is not None:
            os.close(self._notes_fd)
            self._notes_fd = None
        if self._restore_time is not None:
            self._restore_time()
            self._restore_time = None

    def use_clock(self, clock: SandboxClock) -> None:
        """Follow another virtual clock (tests give each their own)."""
        self.clock = clock
        self._watch_clock()

    def _watch_clock(self) -> None:
        if self.in_child and self.clock is not None and id(self.clock) not in self._watched:
            self._watched.add(id(self.clock))
            self.clock.on_jump(lambda _now: self._publish_skipped())
            self._publish_skipped()

    def _publish_skipped(self) -> None:
        if self._child is not None and self._child.stdin is not None and self.clock is not None:
            try:
                self._child.stdin.write(f"{self.clock.skipped.total_seconds()}\n")
                self._child.stdin.flush()
            except (OSError, ValueError):  # the child is gone (stopping): nothing to tell
                pass

    def sqs_time(self) -> float:
        """What moto's SQS takes for "now": real time plus the virtual clock's jumps."""
        skipped = self.clock.skipped.total_seconds() if self.clock else 0.0
        return time.time() + skipped

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=_CLIENT_CONFIG,
        )


def _read_line(fd: int) -> str:
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        line += chunk
    return line.decode()


def _serve_child(host: str, port: int, notes_fd: int) -> None:
    """The child: moto on `host:port`; notes to `notes_fd`; clock jumps (seconds skipped) on stdin."""
    skipped = [0.0]

    def follow_clock() -> None:
        for line in sys.stdin:
            skipped[0] = float(line)
        os._exit(0)  # the parent is gone

    def sqs_time() -> float:
        return time.time() + skipped[0]

    notes_out = os.fdopen(notes_fd, "wb", buffering=0)
    server: Any = None

    def emit(notes: list[Note]) -> None:
        notes_out.write(json.dumps([server.observer.requests, notes]).encode() + b"\n")

    _shift_sqs_time(sqs_time)
    server = _moto_server(host, port, emit, sqs_time)
    threading.Thread(target=follow_clock, daemon=True).start()
    notes_out.write(f"port {server.server_port}\n".encode())
    server.serve_forever()


def _shift_sqs_time(now: Callable[[], float]) -> Callable[[], None]:
    """Point moto's SQS clock at `now`; returns the undo."""
    import moto.sqs.models as sqs_models

    originals = (sqs_models.unix_time, sqs_models.unix_time_millis)

    def unix_time(dt: Any = None) -> float:
        return now() if dt is None else float(originals[0](dt))

    def unix_time_millis(dt: Any = None) -> float:
        return now() * 1000.0 if dt is None else float(originals[1](dt))

    sqs_models.unix_time, sqs_models.unix_time_millis = unix_time, unix_time_millis

    def restore() -> None:
        sqs_models.unix_time, sqs_models.unix_time_millis = originals

    return restore


# --------------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvisionedQueue:
    spec: QueueSpec
    url: str
    arn: str
    dead_letter_url: str
    dead_letter_arn: str


@dataclass(frozen=True)
class Provisioned:
    """What `provision` made, and the environment that points the workers at it."""

    queues: Mapping[str, ProvisionedQueue]
    bucket: str
    schedule_group: str
    scheduler_role_arn: str
    tables: tuple[str, ...]

    def environment(self) -> dict[str, str]:
        env = {q.spec.url_variable: q.url for q in self.queues.values()}
        env |= {q.spec.arn_variable: q.arn for q in self.queues.values()}
        return env | {
            "IMPORT_BUCKET": self.bucket,
            "SCHEDULER_GROUP_NAME": self.schedule_group,
            "SCHEDULER_ROLE_ARN": self.scheduler_role_arn,
        }

    def queue_by_arn(self, arn: str) -> ProvisionedQueue | None:
        return next((q for q in self.queues.values() if q.arn == arn), None)


def provision(
    aws: LocalAws, *, prefix: str, queues: Iterable[QueueSpec] = QUEUES, create_tables: bool = True
) -> Provisioned:
    """Create the queues (each with its DLQ and redrive policy), the import bucket, the schedule
    group and — when the data layer is bound to `aws` — every DynamoDB table."""
    sqs = aws.client("sqs")
    made = {spec.name: _queue(sqs, spec, prefix) for spec in queues}
    bucket = f"{prefix}-imports"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": aws.region})
    aws.client("scheduler").create_schedule_group(Name=prefix)
    tables: tuple[str, ...] = ()
    if create_tables:
        from shared.data import create_tables as create

        tables = tuple(create())
    return Provisioned(
        queues=made,
        bucket=bucket,
        schedule_group=prefix,
        scheduler_role_arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{prefix}-promise-schedules",
        tables=tables,
    )


def _queue(sqs: Any, spec: QueueSpec, prefix: str) -> ProvisionedQueue:
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if spec.fifo else {}
    dlq_url = sqs.create_queue(
        QueueName=spec.dead_letter_name(prefix),
        Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS), **fifo},
    )["QueueUrl"]
    dlq_arn = _arn(sqs, dlq_url)
    if spec.fifo:
        fifo |= {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    url = sqs.create_queue(
        QueueName=spec.physical_name(prefix),
        Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}
            ),
            **fifo,
        },
    )["QueueUrl"]
    return ProvisionedQueue(spec, url, _arn(sqs, url), dlq_url, dlq_arn)


def _arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


if __name__ == "__main__":  # the child of `LocalAws(in_child=True)`
    from shared.core.observability import install_log_masking

    install_log_masking()  # moto's request lines carry queue bodies and keys
    _serve_child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
