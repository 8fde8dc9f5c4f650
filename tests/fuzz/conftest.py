"""OpenAPI fuzzing runs only through `make fuzz` (COBRANCA_FUZZ=1): minutes, not part of `make test`."""

from __future__ import annotations

import os

import pytest

if not os.environ.get("COBRANCA_FUZZ"):
    collect_ignore_glob = ["test_*.py"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.fuzz.test_openapi_fuzz import TALLY

    if TALLY["requests"]:
        terminalreporter.write_line(
            f"schemathesis: {TALLY['requests']} generated requests, {TALLY['server_errors']} server errors"
        )
