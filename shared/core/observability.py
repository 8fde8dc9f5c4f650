"""The one observability module: `logger`, `tracer`, `metrics`.

Once `install_log_masking()` has run (every entry point calls it first), every log line of the
process passes through `mask_text` after it is rendered, so a CPF/CNPJ or phone number is masked
whatever logger, field, message or exception it appears in. Use structured keyword logging
(`logger.info("target scheduled", target_id=...)`), never f-strings with data.
"""

from __future__ import annotations

import logging
from typing import Final

from aws_lambda_powertools import Logger, Metrics, Tracer

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


logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
