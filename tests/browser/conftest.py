"""The dashboard in a real browser: the real app (`create_app()`) on a loopback port over moto,
driven by Debian's headless Chromium through Playwright's sync API.

- `browser` (per process): Chromium from `/usr/bin/chromium` (`make browser` installs it); tests skip
  with a clear message only where it cannot be found or launched. Playwright's own browser downloads
  are never used (`executable_path`). `launch()` gives every run a fresh temporary user-data dir.
- `dashboard`: tables, the import bucket and the scheduler queue in moto, one token per role, and the
  app serving on 127.0.0.1 with a fast refresh (0.3 s) so live updates show within a test.
- `page`: a fresh 1280×720 pt-BR context (closed before the server stops); any JavaScript error on
  the page fails the test.
- `shot(page, name)` saves `build/screenshots/<name>.png`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from functions.api.routes.dashboard import DashboardSettings, get_dashboard_settings
from infra.local.simulators.server import RunningServer, serve_in_thread
from shared.adapters import queues, storage
from shared.core import clock as clock_module
from shared.core.config import reset_settings

TOKENS = {"viewer": "viewer-token", "supervisor": "supervisor-token", "admin": "admin-token"}
BUCKET = "cobranca-imports-browser"
POLL_SECONDS = 0.3
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 720}
# How long a step may wait for the page (generous for a loaded CI machine; passing steps take ms).
TIMEOUT_MS = 30_000  # generous: CI machines have 2 cores and the suite runs in parallel


def chromium_path() -> str | None:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


# Per module, not per session: while Playwright's sync API is started it keeps an asyncio loop marked
# running in this thread, so a later test of the same worker that runs a loop of its own (Mangum, the
# voice bridge) would fail with "event loop is already running".
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium not found: `make browser` installs Debian's chromium package")
    try:
        from playwright.sync_api import Error, expect, sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    expect.set_options(timeout=TIMEOUT_MS)
    driver = sync_playwright().start()
    try:
        launched = driver.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, timeout=30_000)
    except Error as exc:
        driver.stop()
        pytest.skip(f"Chromium at {path} cannot be launched: {exc.message.splitlines()[0]}")
    yield launched
    launched.close()
    driver.stop()


@dataclass
class Dashboard:
    url: str
    scheduler_queue_url: str
    app: Any
    http: httpx.Client

    @property
    def monitor(self) -> str:
        return f"{self.url}/voice/monitor"

    def get(self, path: str, role: str = "viewer", **kwargs: Any) -> httpx.Response:
        """The API straight, as the page calls it (to compare what the page shows with what it says)."""
        return self.http.get(path, headers={"Authorization": f"Bearer {TOKENS[role]}"}, **kwargs)

    def scheduler_messages(self) -> list[str]:
        found = boto3.client("sqs").receive_message(QueueUrl=self.scheduler_queue_url, MaxNumberOfMessages=10)
        return [m["Body"] for m in found.get("Messages", [])]


@pytest.fixture
def dashboard(
    tables: None, clock: clock_module.VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Dashboard]:
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "sa-east-1"}
    )
    queue_url = boto3.client("sqs").create_queue(QueueName="scheduler")["QueueUrl"]
    monkeypatch.setenv("COBRANCA_API_TOKENS", ",".join(f"{role}:{token}" for role, token in TOKENS.items()))
    monkeypatch.setenv("IMPORT_BUCKET", BUCKET)
    monkeypatch.setenv("SCHEDULER_QUEUE_URL", queue_url)
    _reset()
    from functions.api.app import create_app

    app = create_app()
    app.dependency_overrides[get_dashboard_settings] = lambda: DashboardSettings(
        cognito_domain=None, cognito_client_id=None, dashboard_poll_seconds=POLL_SECONDS
    )
    server: RunningServer = serve_in_thread(app)
    http = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield Dashboard(server.url, queue_url, app, http)
    finally:
        http.close()
        server.stop()
        _reset()


def _reset() -> None:
    reset_settings()
    queues.reset()
    storage.reset()


@pytest.fixture
def page(browser: Any, dashboard: Dashboard) -> Iterator[Any]:
    """A fresh tab on the dashboard's server (closed before the server stops)."""
    context = browser.new_context(
        viewport=VIEWPORT, locale="pt-BR", timezone_id="America/Sao_Paulo", accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" and _unexpected(msg.text) else None,
    )
    yield tab
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _unexpected(console_text: str) -> bool:
    # The browser logs every 4xx answer as a console error; those are the tests' own bad requests. A
    # 503 is the API's designed answer when WhatsApp is down, which the desk's tests provoke on purpose.
    return not re.search(r"status of (4\d\d|503)", console_text)


def sign_in(page: Any, dashboard: Dashboard, role: str) -> None:
    """Open the dashboard and sign in with the role's token, as a supervisor would."""
    page.goto(dashboard.monitor)
    page.get_by_label("Token de acesso").fill(TOKENS[role])
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("navigation", name="Seções").wait_for()


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def brazilian(number: int) -> str:
    """How pt-BR writes an integer (1.834)."""
    return f"{number:,}".replace(",", ".")
