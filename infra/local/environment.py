"""The sandbox's environment rules, in a module that imports nothing heavy: the CLI applies them
before anything reads the environment (Powertools' tracer builds an AWS client at import time).

The AWS of the sandbox is local whatever the shell says: its own region and fake credentials, and no
profile or session, so a developer's real credentials never reach it. Other variables get the
sandbox's defaults only when they are not set.
"""

from __future__ import annotations

import os
from typing import Final

REGION: Final = "sa-east-1"
FAKE_CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}
# Channel capacity in the sandbox: the scheduler delays each job to its 1/capacity slot in real SQS
# seconds, so a low rate would make a virtual month wait for real. High rates keep delays under a few
# seconds; the send limiter still meters every send at this rate.
SANDBOX_RATE: Final = "100"

FORCED: Final = {**FAKE_CREDENTIALS, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
REMOVED: Final = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "COBRANCA_SECRETS_ARN")
DEFAULTS: Final = {
    "COBRANCA_TABLE_PREFIX": "cobranca",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "WHATSAPP_MESSAGES_PER_SECOND": SANDBOX_RATE,
    "VOICE_CALLS_PER_SECOND": SANDBOX_RATE,
    "COMPANY_NAME": "TR Telecom",
    "COMPANY_CNPJ": "11222333000181",
    "PIX_KEY": "financeiro@trtelecom.com.br",
    "PIX_MERCHANT_NAME": "TR TELECOM",
    "PIX_MERCHANT_CITY": "SAO PAULO",
}


class Environment:
    """Changes to `os.environ` that can be undone (`restore`)."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def isolate(self) -> None:
        """Apply the rules above."""
        for name, value in FORCED.items():
            self.set(name, value)
        for name in REMOVED:
            self.unset(name)
        for name, value in DEFAULTS.items():
            self.default(name, value)

    def set(self, name: str, value: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def unset(self, name: str) -> None:
        if name in os.environ:
            self._saved.setdefault(name, os.environ[name])
            del os.environ[name]

    def default(self, name: str, value: str) -> None:
        if not os.environ.get(name):
            self.set(name, value)

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()
