"""The sandbox end to end, as a user runs it: `cobranca` in a subprocess (its own process-wide clock,
environment and caches), driven over HTTP.

`run_cobranca(...)` runs a command to completion; `local_sandbox(...)` starts `cobranca local` on a free
port and yields its URL once it prints its "ready at URL" line. Service URL variables of the developer's shell are
removed, so every test starts from "all simulated" unless it sets one itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
READY = " ready at "  # `cobranca local`'s line once it answers: "Cobrança local ready at URL — …"
SERVICE_VARIABLES = (
    "CRM_API_URL",
    "CRM_API_KEY",
    "EVOLUTION_API_URL",
    "EVOLUTION_API_KEY",
    "TWILIO_API_BASE_URL",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "AWS_ENDPOINT_URL",
    "WEBHOOK_BASE_URL",
    "COBRANCA_API_TOKENS",
    "BILLING_SYSTEM",
    "IXC_API_URL",
    "IXC_API_USER",
    "IXC_API_TOKEN",
    "SGP_API_URL",
    "SGP_TOKEN",
    "SGP_APP",
    "HUBSOFT_API_URL",
    "HUBSOFT_CLIENT_ID",
    "HUBSOFT_CLIENT_SECRET",
    "HUBSOFT_USERNAME",
    "HUBSOFT_PASSWORD",
)


def sandbox_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    return env | overrides


def run_cobranca(*args: str, timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.local.cli", *args],
        cwd=REPO,
        env=sandbox_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class LocalSandbox:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.url = ""
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if READY in line:
                self.url = line.split(READY, 1)[1].split()[0]
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float) -> str:
        if not self._ready.wait(timeout) or not self.url:
            raise AssertionError("cobranca local never got ready:\n" + "\n".join(self.lines))
        return self.url

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def spawn_local(log_file: Path, *args: str, port: int = 0, **env: str) -> LocalSandbox:
    """`cobranca local` started on `port` (0: a free one), its output read as it comes; not waited for."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local.cli",
            "local",
            "--port",
            str(port),
            "--log-file",
            str(log_file),
            *args,
        ],
        cwd=REPO,
        env=sandbox_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return LocalSandbox(process)


@pytest.fixture
def local_sandbox(tmp_path: Path) -> Iterator[Callable[..., LocalSandbox]]:
    started: list[LocalSandbox] = []

    def start(*args: str, **env: str) -> LocalSandbox:
        sandbox = spawn_local(tmp_path / "local.log", *args, **env)
        started.append(sandbox)
        sandbox.wait_ready(90)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.process.terminate()
        try:
            sandbox.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            sandbox.process.kill()
            sandbox.process.wait(timeout=10)


def eventually(check: Callable[[], bool], timeout: float = 30.0, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError("the condition never held")
