"""The Lambda functions, one package each (`functions/<name>/handler.py`).

A cold start imports a handler through this package, so it runs first: in a Lambda (the runtime sets
AWS_LAMBDA_FUNCTION_NAME) it pauses the cyclic garbage collector while the handler loads, and the
handler's module calls `loaded()` once everything it imports is in. The import creates a few hundred
thousand objects that live as long as the process and makes no cyclic garbage worth collecting, yet
without this the collector would walk all of them in a full collection or more (≈ 5 % of the import's
instructions). `loaded()` is the sequence the `gc` documentation gives for a preloading parent process —
`gc.disable()` early, `gc.freeze()` once loaded, then `gc.enable()`: the loaded objects move to the
permanent generation, so the collections of the invocations skip them too. Anywhere else (tests, the
sandbox) nothing changes.

Each worker's handler imports boto3 before anything else, at the depth the cold-start baseline does.
CPython 3.11 and 3.12 allocate a thread's frames in 16 KB chunks and map and unmap a chunk on every
call that crosses a chunk's end (3.13 keeps a spare). urllib3 (boto3's HTTP layer) compiles large
regexes when imported, a deep recursion; reached at the bottom of a handler's import chain it sat on
a chunk's end in two handlers and cost ≈ 6,000 map/unmap pairs, ≈ 6,000 page faults and ≈ 0.3 of
the baseline's import time. Every worker uses boto3 anyway: only the order changes.
"""

from __future__ import annotations

import gc
import os

_COLD_START = "AWS_LAMBDA_FUNCTION_NAME" in os.environ and gc.isenabled()


def loaded() -> None:
    """The handler is loaded: the objects so far are frozen out of every collection and the collector
    resumes (a Lambda's cold start only; called again, or outside a Lambda, it does nothing)."""
    global _COLD_START
    if _COLD_START:
        _COLD_START = False
        gc.freeze()
        gc.enable()


if _COLD_START:
    gc.disable()
