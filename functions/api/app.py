"""The FastAPI application: admin API, webhooks and the dashboard (SPEC §5).

A router module is imported — its routes, response models and the engine behind them built — with the
first request whose path it may serve, so a cold Lambda builds what its first request needs rather than
all thirteen. The OpenAPI document and `app.routes` load every router first: they list all the routes.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from functions.api import errors


@dataclass(frozen=True)
class RouterModule:
    """A module of `functions.api.routes` (its `router`) and the prefixes every one of its paths starts with."""

    name: str
    prefixes: tuple[str, ...]

    def may_serve(self, path: str) -> bool:
        return path.startswith(self.prefixes)


# In matching order: exports before promises (`/promises/export.csv` is not a promise id).
ROUTER_MODULES = (
    RouterModule("campaigns", ("/api/voice/campaigns",)),
    RouterModule("targets", ("/api/voice/campaigns/", "/api/voice/imports/", "/api/voice/targets/")),
    RouterModule("exports", ("/api/voice/campaigns/", "/api/voice/promises/export.csv")),
    RouterModule("promises", ("/api/voice/promises",)),
    RouterModule("conversations", ("/api/voice/conversations",)),
    RouterModule("customers", ("/api/voice/customers",)),
    RouterModule("optouts", ("/api/voice/optouts",)),
    RouterModule("metrics", ("/api/voice/metrics", "/api/voice/channels/", "/api/debug/")),
    RouterModule("me", ("/api/me",)),
    RouterModule("dashboard", ("/voice/monitor",)),
    RouterModule("whatsapp_webhook", ("/api/whatsapp/",)),
    RouterModule("whatsapp_templates", ("/api/voice/whatsapp/",)),
    RouterModule(
        "voice_webhooks",
        ("/api/voice/webhooks/", "/api/voice/twiml/", "/api/voice/transfer/", "/api/voice/menu/"),
    ),
)


class Api(FastAPI):
    """FastAPI with its routers included on demand, each at its place in `ROUTER_MODULES`' order."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.included: dict[RouterModule, list[BaseRoute]] = {}
        self._including = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self.include_routers(get_route_path(scope))
        await super().__call__(scope, receive, send)

    @property
    def routes(self) -> list[BaseRoute]:
        self.include_routers()
        return super().routes

    def openapi(self) -> dict[str, Any]:
        self.include_routers()
        return super().openapi()

    def include_routers(self, path: str | None = None) -> None:
        """Include every router that may serve `path` (every router, without one) not included yet."""
        if len(self.included) == len(ROUTER_MODULES):  # a warm app: every request skips the lock
            return
        with self._including:
            for module in ROUTER_MODULES:
                if module not in self.included and (path is None or module.may_serve(path)):
                    self._include(module)

    def _include(self, module: RouterModule) -> None:
        routes = self.router.routes
        start = len(routes)
        self.include_router(importlib.import_module(f"functions.api.routes.{module.name}").router)
        added = routes[start:]
        del routes[start:]
        rank = ROUTER_MODULES.index(module)
        later = [
            entries[0]
            for other, entries in self.included.items()
            if ROUTER_MODULES.index(other) > rank and entries
        ]
        at = min((routes.index(first) for first in later), default=len(routes))
        routes[at:at] = added
        self.included[module] = added


def create_app() -> Api:
    app = Api(
        title="Cobrança API",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    errors.install(app)
    return app


app = create_app()
