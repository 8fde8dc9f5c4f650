"""The one observability module: `logger`, `tracer`, `metrics`.

Once `install_log_masking()` has run (every entry point calls it first), every log line of the
process passes through `mask_text` after it is rendered, so a CPF/CNPJ or phone number is masked
whatever logger, field, message or exception it appears in. Use structured keyword logging
(`logger.info("target scheduled", target_id=...)`), never f-strings with data.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from types import ModuleType
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from shared.domain.masking import mask_text

SERVICE = "cobranca"
METRICS_NAMESPACE = "Cobranca"
_MASKING_MARK: Final = "_masks_personal_identifiers"


def install_log_masking() -> None:
    """Mask CPF/CNPJ and phone numbers in every log line this process writes, whoever logs it.

    Wraps `logging.Handler.format`, which every handler calls to render a record, so the rendered
    line (message, `%s` arguments, Powertools' JSON keys, exception text) passes through `mask_text`.
    Being on the class, it covers handlers created later too: the ones botocore, httpx, uvicorn,
    twilio or openai add, or a `dictConfig` installs. Call it first thing wherever a process starts;
    calling it again does nothing.
    """
    if getattr(logging.Handler.format, _MASKING_MARK, False):
        return
    unmasked = logging.Handler.format

    def format(self: logging.Handler, record: logging.LogRecord) -> str:
        return mask_text(unmasked(self, record))

    setattr(format, _MASKING_MARK, True)
    logging.Handler.format = format  # type: ignore[method-assign]


class _UntracedSegment(BaseSegment):
    """What `_Untraced` hands the Tracer's decorators: every call does nothing."""

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: list[Any], remote: bool = False) -> None:
        pass


class _Untraced(BaseProvider):
    """The tracing provider where nothing is traced: the X-Ray SDK (≈0.2 s to import, and its
    `patch_all` imports every library it can patch) is then never imported."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _UntracedSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _UntracedSegment()

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


# The libraries this code calls out through, as X-Ray patches them: AWS (boto3's botocore, PynamoDB),
# the HTTP clients of the CRM, ERPs, Evolution and OpenAI (httpx) and Twilio's SDK (requests).
TRACED_LIBRARIES: Final = ("botocore", "pynamodb", "httpx", "requests")


def _build_tracer() -> Tracer:
    """X-Ray where Powertools would trace (in a Lambda, unless POWERTOOLS_TRACE_DISABLED); elsewhere
    (tests, the sandbox, the voice bridge) a Tracer whose decorators do nothing.

    Each of `TRACED_LIBRARIES` is patched once it is imported (at once for those already loaded):
    Powertools' default, X-Ray's `patch_all`, would import every library it can patch at the cold
    start (httpx, requests, sqlite3...) although most invocations never use them."""
    if Tracer._is_tracer_disabled():  # Powertools' own rule, asked before it imports the SDK
        return Tracer(service=SERVICE, disabled=True, provider=_Untraced())
    traced = Tracer(service=SERVICE, auto_patch=False)
    import wrapt  # the X-Ray SDK's own dependency, loaded with it by the Tracer above

    for library in TRACED_LIBRARIES:
        wrapt.register_post_import_hook(partial(_patch, traced, library), library)
    return traced


def _patch(traced: Tracer, library: str, _module: ModuleType) -> None:
    traced.patch([library])


logger = Logger(service=SERVICE)
tracer = _build_tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
