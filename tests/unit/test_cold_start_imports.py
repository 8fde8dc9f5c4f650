"""A function's cold start imports only what every invocation of that function needs: heavy SDKs and
whole subsystems load with the first call that uses them. Each entry point is loaded as Lambda loads
it (`from <module> import <function>`), in its own fresh interpreter. Figures:
tests/benchmarks/bench_cold_start.py."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.entrypoints import ENTRY_POINTS, PYTHON, ROOT, import_statement, lambda_environment

API = "functions.api.handler.handler"
INGEST = "functions.ingest.handler.handler"
POST_CALL = "functions.post_call.handler.handler"
SCHEDULER = "functions.scheduler.handler.handler"
DIALER = "functions.dialer.handler.handler"
WHATSAPP_OUTREACH = "functions.whatsapp.handler.outreach_handler"
WHATSAPP_INBOUND = "functions.whatsapp.handler.inbound_handler"

# Loaded by no entry point at import time (with tracing disabled).
NEVER = (
    "openai",  # the chat model's SDK (≈1 s): the first model call
    "aws_xray_sdk.core",  # only where tracing is on
    "shared.assistant",  # an inbound turn; the API's webhook only enqueues
    "httpx",  # the CRM's and Evolution's clients, built on first use
    "twilio.rest",  # Twilio's REST client: the first call placed or hung up
    # Twilio's voice adapter and its SDK: the first call placed or hung up, or voicemail dropped
    "shared.adapters.twilio_voice",
    "twilio",
    "twilio.twiml",  # the API's TwiML route
    "twilio.request_validator",  # the API's voice webhooks
    "openpyxl",  # a workbook too large for calamine
    # Every event model of Powertools' parser (≈0.1 s): records are read as data classes, bodies by the job's model
    "aws_lambda_powertools.utilities.parser.models",
    # The API's routes: a route module is included by the first request whose path it may serve
    "functions.api.routes.campaigns",
    "functions.api.routes.voice_webhooks",
    "shared.data.schema",  # every table at once: the sandbox, the tests and the CDK app
    # What the counters say (funnel, KPIs, daily series): the API's stats and metrics routes; workers only count
    "shared.engine.reporting",
    "shared.adapters.erp.generic",  # the generic CRM as a billing system: the first `clients.crm()`
)
# Loaded only by the entry points named.
ONLY = {
    "fastapi": {API},
    "mangum": {API},
    "shared.imports": {INGEST},  # the import pipeline
    "shared.engine": set(ENTRY_POINTS) - {API, INGEST},
    # The outreach workers load these only for a refusal for good or a number without WhatsApp.
    "shared.engine.postcall": {POST_CALL, SCHEDULER},
    "shared.engine.sweep": {SCHEDULER},
    # Outreach's two channels: the dialer sends no WhatsApp message, the WhatsApp worker places no call.
    "shared.engine.outreach": {DIALER, WHATSAPP_OUTREACH},
    "shared.engine.outreach_voice": {DIALER},
    "shared.engine.outreach_whatsapp": {WHATSAPP_OUTREACH},
    "shared.engine.whatsapp_out": {WHATSAPP_OUTREACH, WHATSAPP_INBOUND},
    "shared.adapters.evolution": {WHATSAPP_OUTREACH, WHATSAPP_INBOUND},
    "shared.engine.conversations": {WHATSAPP_OUTREACH, WHATSAPP_INBOUND},
    # Twilio's webhooks (an API route); the scheduler's upkeep needs one only to pass on a lost final
    # call status.
    "shared.engine.calls": set(),
}


def _run_each(entry_points: tuple[str, ...], probe: str, *, traced: bool = False) -> dict[str, Any]:
    """Per entry point, in parallel fresh interpreters: `probe` with `{statement}` replaced by the
    entry point's import, as Lambda does it; the JSON its last line prints."""
    running = {
        entry_point: subprocess.Popen(
            [PYTHON, "-c", probe.format(statement=import_statement(entry_point))],
            env=lambda_environment(traced=traced),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for entry_point in entry_points
    }
    printed = {}
    for entry_point, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        printed[entry_point] = json.loads(out.splitlines()[-1])
    return printed


def _probe(entry_points: tuple[str, ...], *, traced: bool, watched: tuple[str, ...]) -> dict[str, list[str]]:
    probe = (
        f"import json, sys; {{statement}}; print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    )
    return _run_each(entry_points, probe, traced=traced)


def test_entry_points_are_the_deployed_functions() -> None:
    assert len(ENTRY_POINTS) >= 8, ENTRY_POINTS
    assert {
        "functions.whatsapp.handler.outreach_handler",
        "functions.whatsapp.handler.inbound_handler",
    } <= set(ENTRY_POINTS)


def test_each_entry_point_loads_only_what_its_path_needs() -> None:
    watched = (*NEVER, *ONLY)
    loaded = _probe(ENTRY_POINTS, traced=False, watched=watched)
    expected = {
        entry_point: [module for module in ONLY if entry_point in ONLY[module]]
        for entry_point in ENTRY_POINTS
    }
    assert loaded == expected


def test_job_models_are_built_by_the_first_body_they_parse() -> None:
    # Each worker parses one kind of job: building the validators of all five at every cold start
    # would pay for four it never reads (`defer_build` on `shared.core.jobs._Job`).
    jobs = ("SchedulerTick", "OutreachJob", "CallStatusEvent", "PromiseCheck", "InboundMessage")
    probe = (
        "import json; {statement}; from shared.core import jobs; "
        f"print(json.dumps([name for name in {jobs!r} if getattr(jobs, name).__pydantic_complete__]))"
    )
    built = _run_each(ENTRY_POINTS, probe)
    assert built == {entry_point: [] for entry_point in ENTRY_POINTS}


def test_tracing_as_deployed_still_loads_xray() -> None:
    # Active tracing (no POWERTOOLS_TRACE_DISABLED): the Tracer is X-Ray's, and the probe sees it.
    assert _probe((DIALER,), traced=True, watched=("aws_xray_sdk.core",)) == {DIALER: ["aws_xray_sdk.core"]}


def test_traced_libraries_are_patched_when_first_imported_not_imported_to_be_patched() -> None:
    # X-Ray's patch_all would import httpx, requests and sqlite3 at every traced cold start; AWS's
    # clients are patched at once (already loaded), the HTTP clients by the import that first needs them.
    probe = (
        f"import json, sys; {import_statement(DIALER)}; from aws_xray_sdk.core import patcher; "
        "at_start = sorted(patcher._PATCHED_MODULES); "
        "unloaded = [m for m in ('httpx', 'requests', 'sqlite3') if m not in sys.modules]; "
        "import httpx, requests; "
        "print(json.dumps([at_start, unloaded, sorted(patcher._PATCHED_MODULES), httpx.Client.__name__]))"
    )
    done = subprocess.run(
        [PYTHON, "-c", probe],
        env=lambda_environment(traced=True),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [
        ["botocore", "pynamodb"],
        ["httpx", "requests", "sqlite3"],
        ["botocore", "httpx", "pynamodb", "requests"],
        "_InstrumentedClient",
    ]


def test_the_collector_is_paused_while_a_handler_loads_and_resumes_after() -> None:
    # functions/__init__.py: no collection during the import, the loaded objects frozen, then enabled.
    probe = (
        "import gc, json; import functions; paused = not gc.isenabled(); {statement}; "
        "print(json.dumps([paused, gc.isenabled(), gc.get_freeze_count() > 10_000, gc.get_stats()[2]['collections']]))"
    )
    seen = _run_each(ENTRY_POINTS, probe)
    assert seen == {entry_point: [True, True, True, 0] for entry_point in ENTRY_POINTS}


def test_outside_a_lambda_importing_a_handler_leaves_the_collector_alone() -> None:
    env = {
        name: value
        for name, value in lambda_environment(traced=False).items()
        if name != "AWS_LAMBDA_FUNCTION_NAME"
    }
    probe = f"import gc; {import_statement(DIALER)}; print(gc.isenabled(), gc.get_freeze_count())"
    done = subprocess.run(
        [PYTHON, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "0"]
