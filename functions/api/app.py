"""The FastAPI application: admin API, webhooks and the dashboard (SPEC §5)."""

from __future__ import annotations

from fastapi import FastAPI

from functions.api import errors
from functions.api.routes import (
    campaigns,
    conversations,
    customers,
    dashboard,
    exports,
    me,
    metrics,
    optouts,
    promises,
    targets,
    voice_webhooks,
    whatsapp_templates,
    whatsapp_webhook,
)


def create_app() -> FastAPI:
    app = FastAPI(
        title="Cobrança API",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    errors.install(app)
    for module in (
        campaigns,
        targets,
        exports,  # before promises: /promises/export.csv is not a promise id
        promises,
        conversations,
        customers,
        optouts,
        metrics,
        me,
        dashboard,
        whatsapp_webhook,
        whatsapp_templates,
        voice_webhooks,
    ):
        app.include_router(module.router)
    return app


app = create_app()
