"""Lambda entry point: API Gateway HTTP API → Mangum → the FastAPI app.

The app includes its route modules on demand (`functions.api.app.ROUTER_MODULES`): the init phase
builds FastAPI and Mangum, and a cold start's first request builds only the routes its path may reach.
Figures, import and first request: tests/benchmarks/bench_cold_start.py.
"""

from mangum import Mangum

from functions import loaded
from functions.api.app import app
from shared.core.observability import install_log_masking

install_log_masking()
handler = Mangum(app, lifespan="off")


loaded()  # the cold start's imports are in: the garbage collector resumes (functions/__init__.py)
