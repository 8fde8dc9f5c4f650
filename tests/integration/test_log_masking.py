"""Once a process has started (a Lambda handler imported, the voice bridge's `main`, the sandbox), no
log line carries a CPF, CNPJ or phone number — whichever library writes it, and whenever that library
set up its handler."""

from __future__ import annotations

import io
import json
import logging
import subprocess
from collections.abc import Iterator

import pytest
import uvicorn

from shared.core.observability import install_log_masking, logger
from tests.entrypoints import HANDLER_MODULES, PYTHON, ROOT, lambda_environment

CPF = "111.444.777-35"
CPF_DIGITS = "11144477735"
CNPJ = "11.222.333/0001-81"
PHONE = "+55 11 99999-8888"
PHONE_DIGITS = "5511999998888"
IDENTIFIERS = (CPF, CPF_DIGITS, CNPJ, PHONE, PHONE_DIGITS)
# What the voice bridge's `main` requires at start (dummies: nothing is called).
BRIDGE_SETTINGS = {
    "TWILIO_ACCOUNT_SID": "AC0",
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_PHONE_NUMBER": "+5511000000000",
    "OPENAI_API_KEY": "key",
}
THIRD_PARTY = ("botocore", "httpx", "uvicorn.error", "twilio.http_client", "openai")


def assert_masked(text: str) -> None:
    digits = "".join(ch for ch in text if ch.isdigit())
    for identifier in IDENTIFIERS:
        assert identifier not in text, (identifier, text)
        assert "".join(ch for ch in identifier if ch.isdigit()) not in digits, (identifier, text)


def log_identifiers(log: logging.Logger) -> None:
    """Every identifier, in the message itself and through `%s` arguments, as libraries log."""
    log.warning(f"request for {CPF} / {CNPJ} from {PHONE}")
    log.warning("GET /customers?document=%s&phone=%s", CPF_DIGITS, PHONE_DIGITS)
    log.warning("retrying %s for %s (%s)", CNPJ, PHONE, CPF)


@pytest.fixture
def library_handler() -> Iterator[tuple[logging.Handler, io.StringIO]]:
    """A handler added after masking was installed, as a library adds its own."""
    install_log_masking()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    yield handler, stream


@pytest.mark.parametrize("name", THIRD_PARTY)
def test_third_party_logger_lines_are_masked(
    name: str, library_handler: tuple[logging.Handler, io.StringIO]
) -> None:
    handler, stream = library_handler
    third_party = logging.getLogger(name)
    third_party.addHandler(handler)
    try:
        log_identifiers(third_party)
    finally:
        third_party.removeHandler(handler)
    output = stream.getvalue()
    assert output.count(f"{name} WARNING") == 3
    assert_masked(output)
    assert "***.444.777-**" in output and "GET /customers?document=" in output


def test_records_reaching_the_root_handlers_are_masked(
    library_handler: tuple[logging.Handler, io.StringIO],
) -> None:
    handler, stream = library_handler
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        log_identifiers(logging.getLogger("openai._base_client"))
    finally:
        root.removeHandler(handler)
    assert stream.getvalue().count("openai._base_client WARNING") == 3
    assert_masked(stream.getvalue())


def test_uvicorn_configuring_its_loggers_after_installation_still_masks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    install_log_masking()
    uvicorn.Config(app=lambda *_: None, log_level="info")  # dictConfig: uvicorn's own handlers
    log_identifiers(logging.getLogger("uvicorn.error"))
    output = capsys.readouterr().err
    assert output.count("WARNING") == 3
    assert_masked(output)


def test_exception_tracebacks_are_masked(library_handler: tuple[logging.Handler, io.StringIO]) -> None:
    handler, stream = library_handler
    botocore = logging.getLogger("botocore")
    botocore.addHandler(handler)
    try:
        raise ValueError(f"ConditionalCheckFailed for {CPF_DIGITS}")
    except ValueError:
        botocore.exception("call failed")
    finally:
        botocore.removeHandler(handler)
    assert "ConditionalCheckFailed" in stream.getvalue()
    assert_masked(stream.getvalue())


def test_our_powertools_logger_json_is_masked() -> None:
    install_log_masking()
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    try:
        logger.info("customer replied", document=CPF, cnpj=CNPJ, phone=PHONE_DIGITS, chat=f"{PHONE}@chat")
        logger.warning("CRM said %s for %s", CPF_DIGITS, PHONE)
    finally:
        logger.registered_handler.setStream(previous)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["INFO", "WARNING"]
    assert lines[0]["document"] == "***.444.777-**"
    assert lines[0]["phone"] == "*********8888"
    assert_masked(stream.getvalue())


# --- every entry point installs it, in a fresh process --------------------------------------------

_LOG_AFTER_IMPORT = f"""
import importlib, logging, sys
importlib.import_module(sys.argv[1])
handler = logging.StreamHandler(sys.stderr)  # botocore's own, added after the handler module loaded
logging.getLogger("botocore").addHandler(handler)
logging.getLogger("botocore").warning("document %s phone %s cnpj %s", {CPF_DIGITS!r}, {PHONE!r}, {CNPJ!r})
"""


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "-c", script, *args],
        env=lambda_environment(traced=False) | BRIDGE_SETTINGS,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_each_lambda_handler_installs_masking_when_imported(module: str) -> None:
    output = _run(_LOG_AFTER_IMPORT, module)
    assert "document " in output
    assert_masked(output)


def test_a_process_without_masking_would_leak() -> None:
    # The same script on a module that installs nothing: the check above can fail.
    assert CPF_DIGITS in _run(_LOG_AFTER_IMPORT, "shared.domain.masking")


_BRIDGE_START = f"""
import logging
import uvicorn
from containers.voice_bridge import __main__ as entry

async def serve(self, *args, **kwargs):
    # What the real `serve` does first: uvicorn configures its loggers; then a line with identifiers.
    uvicorn.Config(self.app, log_level="info")
    logging.getLogger("uvicorn.error").warning("stream from %s for %s", {PHONE!r}, {CPF!r})

entry.Bridge.serve = serve
entry.main()
"""


def test_the_voice_bridge_main_masks_uvicorn_lines() -> None:
    output = _run(_BRIDGE_START)
    assert "stream from" in output
    assert_masked(output)
