"""The app includes a router with the first request whose path it may serve (`functions/api/app.py`):
the prefix table covers every route, a request builds only the routers its path may need, routers
included out of order still match in the table's order, and the OpenAPI document lists every route."""

from __future__ import annotations

import importlib

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from functions.api.app import ROUTER_MODULES, Api, RouterModule, create_app
from tests.integration.api.conftest import Api as Client

UNKNOWN_ID = "01JNZZZZZZZZZZZZZZZZZZZZZZ"


def _routes(module: RouterModule) -> list[APIRoute]:
    routes = importlib.import_module(f"functions.api.routes.{module.name}").router.routes
    assert routes and all(isinstance(route, APIRoute) for route in routes)
    return routes


def _app(api: Client) -> Api:
    app = api.client.app
    assert isinstance(app, Api)
    return app


@pytest.mark.parametrize("module", ROUTER_MODULES, ids=lambda module: module.name)
def test_every_path_a_router_serves_starts_with_one_of_its_prefixes(module: RouterModule) -> None:
    for route in _routes(module):
        # A route matches only paths that begin with its text before the first parameter; a
        # parameterless one is also reached, by a redirect, from its twin without the trailing slash.
        head = route.path.split("{")[0]
        reached = {head} if "{" in route.path else {head, head.rstrip("/")}
        assert all(module.may_serve(path) for path in reached), route.path


def test_a_request_includes_only_the_routers_its_path_may_need(api: Client) -> None:
    app = _app(api)
    assert app.included == {}
    assert api.get("/api/voice/campaigns").status_code == 200
    assert [module.name for module in app.included] == ["campaigns"]
    assert api.get("/api/me").json()["role"] == "viewer"
    assert sorted(module.name for module in app.included) == ["campaigns", "me"]
    assert api.get("/api/nowhere").status_code == 404
    assert len(app.included) == 2


def test_routers_included_out_of_order_match_in_the_tables_order(api: Client) -> None:
    # promises first (its /{promise_id} would take "export.csv"), then exports, which goes before it
    assert api.get(f"/api/voice/promises/{UNKNOWN_ID}").status_code == 404
    export = api.get("/api/voice/promises/export.csv", role="supervisor")
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("text/csv")
    app = _app(api)
    assert [module.name for module in app.included] == ["promises", "exports"]
    first = {module.name: app.router.routes.index(routes[0]) for module, routes in app.included.items()}
    assert first["exports"] < first["promises"]


def test_the_openapi_document_of_a_cold_app_lists_every_route() -> None:
    with TestClient(create_app()) as client:
        paths = client.get("/api/openapi.json").json()["paths"]
    expected = {
        (route.path, method.lower())
        for module in ROUTER_MODULES
        for route in _routes(module)
        if route.include_in_schema
        for method in route.methods
    }
    assert {(path, method) for path, operations in paths.items() for method in operations} == expected
