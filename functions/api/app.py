"""The FastAPI application: admin API, webhooks and the dashboard (SPEC §5)."""

from __future__ import annotations

from fastapi import FastAPI

from functions.api import errors
from functions.api.routes import campaigns, conversations, metrics, optouts, promises, targets


def create_app() -> FastAPI:
    app = FastAPI(
        title="Cobrança API",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    errors.install(app)
    for module in (campaigns, targets, promises, conversations, optouts, metrics):
        app.include_router(module.router)
    return app


app = create_app()
