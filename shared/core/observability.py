"""The one observability module: `logger`, `tracer`, `metrics`.

Every log line passes through `mask_text` after it is rendered, so a CPF/CNPJ or phone number is
masked whatever field, message or exception it appears in. Use structured keyword logging
(`logger.info("target scheduled", target_id=...)`), never f-strings with data.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from shared.domain.masking import mask_text

SERVICE = "cobranca"
METRICS_NAMESPACE = "Cobranca"


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with personal identifiers masked in the final line."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class MaskingFilter(logging.Filter):
    """For loggers we do not format ourselves (uvicorn, botocore...): mask the rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = ()
        return True


def mask_third_party_logs(*names: str) -> None:
    """Attach the masking filter to the handlers of the named loggers and of the root logger."""
    for name in ("", *names):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())


logger = Logger(service=SERVICE, logger_formatter=MaskingFormatter())
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
