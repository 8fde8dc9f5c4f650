"""Lambda entry point: API Gateway HTTP API → Mangum → the FastAPI app.

Loading it installs the log masking and nothing else: the first invocation builds the app (FastAPI,
Mangum) and the routers its path needs (`functions.api.app`), so a cold start pays for one request's
routes instead of importing the framework and every route at init. Figures, import and first request:
tests/benchmarks/bench_cold_start.py.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from shared.core.observability import install_log_masking

if TYPE_CHECKING:
    from mangum import Mangum

install_log_masking()


@cache
def _adapter() -> Mangum:
    from mangum import Mangum

    from functions.api.app import app

    return Mangum(app, lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _adapter()(event, context)
