"""Lambda entry points of the WhatsApp worker: outreach (first messages of a campaign) and inbound
(the assistant answering a customer). Each lives in its own module; this file names them for the
deployment (`functions.whatsapp.handler.outreach_handler` / `.inbound_handler`).

The two are separate functions, so each loads only its own module: Lambda imports this file, then
asks it for the handler, and the module `__getattr__` imports the half that serves it (the outreach
function never loads the assistant).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import boto3  # noqa: F401  (loaded first: see functions/__init__.py)

from shared.core.observability import install_log_masking

if TYPE_CHECKING:
    from functions.whatsapp.inbound import inbound_handler
    from functions.whatsapp.outreach import outreach_handler

install_log_masking()

_MODULES = {
    "inbound_handler": "functions.whatsapp.inbound",
    "outreach_handler": "functions.whatsapp.outreach",
}

__all__ = ["inbound_handler", "outreach_handler"]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    handler = getattr(importlib.import_module(_MODULES[name]), name)
    globals()[name] = handler
    return handler
