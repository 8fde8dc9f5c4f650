"""Lambda entry point: API Gateway HTTP API → Mangum → the FastAPI app."""

from mangum import Mangum

from functions.api.app import app
from shared.core.observability import install_log_masking

install_log_masking()
handler = Mangum(app, lifespan="off")
