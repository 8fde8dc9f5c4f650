"""The deployed Lambda handler modules, their entry points and the environment Lambda starts them with, for the tests and
the benchmark that import a handler in a fresh interpreter (`tests/unit/test_cold_start_imports.py`,
`tests/integration/test_log_masking.py`, `tests/benchmarks/bench_cold_start.py`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Final

from infra.local.topology import QUEUES, UPLOADS

ROOT: Final = Path(__file__).resolve().parents[1]
# One module per deployed function directory: `functions/<name>/handler.py`.
HANDLER_MODULES: Final = tuple(
    sorted(f"functions.{path.parent.name}.handler" for path in (ROOT / "functions").glob("*/handler.py"))
)
# What each deployed function runs, `module.function` as the deployment names it. One module may serve
# several functions (`functions.whatsapp.handler`: outreach and inbound), each loading only its half.
ENTRY_POINTS: Final = tuple(
    sorted({"functions.api.handler.handler", UPLOADS.consumer, *(queue.consumer for queue in QUEUES)})
)


def import_statement(entry_point: str) -> str:
    """What Lambda's runtime does at a cold start: import the module, then take the function from it."""
    module, _, function = entry_point.rpartition(".")
    return f"from {module} import {function}"


# What Lambda itself sets, plus the wiring the CDK app passes (dummies: importing reads none of it,
# and no secret ARN, so nothing is fetched). AWS_* of the caller are replaced, never inherited.
_LAMBDA: Final = {
    "AWS_REGION": "sa-east-1",
    "AWS_DEFAULT_REGION": "sa-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_LAMBDA_FUNCTION_NAME": "cobranca-cold-start",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "LAMBDA_TASK_ROOT": str(ROOT),
    "POWERTOOLS_SERVICE_NAME": "cold-start",
    "POWERTOOLS_METRICS_NAMESPACE": "Cobranca",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
    "COBRANCA_TABLE_PREFIX": "cobranca",
    "IMPORT_BUCKET": "cobranca-imports",
    "WEBHOOK_BASE_URL": "https://api.example.invalid",
    **{
        f"{queue.upper()}_QUEUE_URL": f"https://sqs.sa-east-1.amazonaws.com/000000000000/{queue}"
        for queue in ("scheduler", "whatsapp", "dialer", "post_call", "inbound", "promise_monitor")
    },
}


def lambda_environment(*, traced: bool) -> dict[str, str]:
    """The environment of a deployed function: `traced` as deployed (active X-Ray tracing), or with
    POWERTOOLS_TRACE_DISABLED. The caller's own AWS and application settings are dropped."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "POWERTOOLS_", "COBRANCA_", "LAMBDA_", "_X_AMZN"))
    }
    kept["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {**kept, **_LAMBDA}
    if not traced:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


PYTHON: Final = sys.executable
