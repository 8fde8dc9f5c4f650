"""What the ERP simulators (IXC, SGP, Hubsoft) share: the outages they can be switched into, and reading a
request body sent either form-encoded or as JSON."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

# "timeout": hang past the client's timeout; "html": a login page with HTTP 200 (a wrong base URL).
Outage = Literal["http_500", "timeout", "html"]

LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Login</title></head><body>Entrar</body></html>"


async def outage_response(outage: Outage | None, hang_seconds: float) -> Response | None:
    """The response an outage gives instead of the real answer; None when there is no outage."""
    if outage == "timeout":
        await asyncio.sleep(hang_seconds)
        return JSONResponse({"detail": "too late"}, status_code=504)
    if outage == "http_500":
        return PlainTextResponse("Internal Server Error", status_code=500)
    if outage == "html":
        return Response(LOGIN_PAGE, media_type="text/html", status_code=200)
    return None


async def request_fields(request: Request) -> dict[str, Any]:
    """The body's fields, form-encoded or JSON (clients of these ERPs send both)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = json.loads(await request.body() or b"{}")
        return body if isinstance(body, dict) else {}
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}


def query_day(value: Any) -> date | None:
    """An optional `YYYY-MM-DD` filter of a request."""
    return date.fromisoformat(str(value)) if value else None
