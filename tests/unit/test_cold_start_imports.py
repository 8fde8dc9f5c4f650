"""A handler's cold start imports only what every invocation needs: the openai SDK (≈1 s) loads on the
first model call, the X-Ray SDK only where tracing is on. Figures: tests/benchmarks/bench_cold_start.py."""

from __future__ import annotations

import json
import subprocess

from tests.entrypoints import HANDLER_MODULES, PYTHON, ROOT, lambda_environment

# Modules that must not be loaded by importing a handler (with tracing disabled).
HEAVY = ("openai", "aws_xray_sdk.core")

_PROBE = f"""
import importlib, json, sys
loaded = {{}}
for module in sys.argv[1:]:
    importlib.import_module(module)
    loaded[module] = [name for name in {HEAVY!r} if name in sys.modules]
print(json.dumps(loaded))
"""


def test_handlers_import_neither_openai_nor_xray() -> None:
    assert len(HANDLER_MODULES) >= 7, HANDLER_MODULES
    done = subprocess.run(
        [PYTHON, "-c", _PROBE, *HANDLER_MODULES],
        env=lambda_environment(traced=False),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert loaded == {module: [] for module in HANDLER_MODULES}


def test_tracing_as_deployed_still_loads_xray() -> None:
    # Active tracing (no POWERTOOLS_TRACE_DISABLED): the Tracer is X-Ray's, and the probe sees it.
    done = subprocess.run(
        [PYTHON, "-c", _PROBE, "functions.dialer.handler"],
        env=lambda_environment(traced=True),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == {"functions.dialer.handler": ["aws_xray_sdk.core"]}
