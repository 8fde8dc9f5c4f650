"""Lambda entry point: API Gateway HTTP API → Mangum → the FastAPI app."""

from mangum import Mangum

from functions.api.app import app

handler = Mangum(app, lifespan="off")
