"""The one place where domain exceptions become HTTP answers: JSON `{"detail": ...}`, never a 5xx
for bad input."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from shared.core.observability import logger
from shared.domain.errors import Conflict, DomainError, InvalidInput, NotFound, ServiceUnavailable

_STATUS: list[tuple[type[DomainError], int]] = [
    (InvalidInput, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (ServiceUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
]


# Where an error code has a more precise HTTP meaning than its class.
_STATUS_BY_CODE = {
    "file_too_large": status.HTTP_413_CONTENT_TOO_LARGE,
    "unsupported_file_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}


def status_for(exc: DomainError) -> int:
    if exc.code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[exc.code]
    for kind, code in _STATUS:
        if isinstance(exc, kind):
            return code
    return status.HTTP_400_BAD_REQUEST


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    code = status_for(exc)
    logger.info("request refused", path=request.url.path, status=code, error_code=exc.code)
    return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=code)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_handler)
