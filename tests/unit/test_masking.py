"""No unmasked CPF/CNPJ/phone may reach a log line — whatever field or message carries it."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aws_lambda_powertools import Logger

from shared.core.observability import install_log_masking
from shared.domain.masking import mask_document, mask_phone, mask_text

CPF = "111.444.777-35"
CPF_BARE = "11144477735"
CNPJ_ALNUM = "12.ABC.345/01DE-35"
CNPJ_ALNUM_BARE = "12ABC34501DE35"
CNPJ = "11.222.333/0001-81"
PHONES = ["5511999998888", "+55 (11) 99999-8888", "11 99999 8888", "(21) 3333-4444", "553198296801"]
SECRETS = [CPF, CPF_BARE, CNPJ_ALNUM, CNPJ_ALNUM_BARE, CNPJ, "11222333000181", *PHONES]


def _identifier_digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum())


def assert_nothing_leaks(text: str) -> None:
    squeezed = "".join(ch for ch in text if ch.isalnum())
    for secret in SECRETS:
        assert secret not in text, secret
        # Also catch a leak hidden behind other punctuation.
        assert _identifier_digits(secret) not in squeezed, secret


@pytest.fixture
def captured_logger() -> tuple[Logger, io.StringIO]:
    install_log_masking()
    stream = io.StringIO()
    log = Logger(service="masking-test", logger_handler=logging.StreamHandler(stream))
    return log, stream


def test_document_masks_keep_only_the_middle() -> None:
    assert mask_document(CPF) == "***.444.777-**"
    assert mask_document(CPF_BARE) == "***.444.777-**"
    assert mask_document(CNPJ_ALNUM) == "**.***.345/01DE-**"


def test_phone_mask_keeps_area_code_and_last_four() -> None:
    assert mask_phone("5511999998888") == "5511*****8888"
    assert mask_phone("+55 (11) 99999-8888") == "5511*****8888"
    assert mask_phone("1133334444") == "11****4444"


@pytest.mark.parametrize("secret", SECRETS)
def test_mask_text_hides_every_identifier_form(secret: str) -> None:
    masked = mask_text(f"cliente {secret} respondeu")
    assert_nothing_leaks(masked)
    assert masked.startswith("cliente ") and masked.endswith(" respondeu")


def test_mask_text_leaves_dates_times_and_amounts_alone() -> None:
    text = "due 2026-12-15T23:59:59.999-03:00 amount R$ 1.234,56 attempts 3 id 01JD3K8Z0T7M2W9XQ4R5B6C7D8"
    assert mask_text(text) == text


def test_whatsapp_jid_and_chat_id_are_masked() -> None:
    assert_nothing_leaks(mask_text("remoteJid=553198296801@s.whatsapp.net chat=whatsapp_5511999998888"))


def test_log_lines_never_carry_identifiers_in_message_fields_or_exceptions(
    captured_logger: tuple[Logger, io.StringIO],
) -> None:
    log, stream = captured_logger
    log.info(f"message with {CPF} and {PHONES[1]}")
    log.info("structured", document=CPF_BARE, phone=PHONES[0], nested={"cnpj": CNPJ_ALNUM, "list": [CNPJ]})
    log.append_keys(customer_phone=PHONES[4])
    log.warning("with appended key")
    try:
        raise ValueError(f"CRM rejected {CNPJ_ALNUM_BARE} for {PHONES[2]}")
    except ValueError:
        log.exception("crm failure")
    output = stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 4
    assert_nothing_leaks(output)
    assert lines[1]["document"] == "*******7735"
    assert "***.444.777-**" in lines[0]["message"]


def test_installing_masking_again_keeps_the_one_wrapper() -> None:
    install_log_masking()
    installed = logging.Handler.format
    install_log_masking()
    assert logging.Handler.format is installed
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(message)s"))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "chat %s", (PHONES[1],), None)
    assert handler.format(record) == "chat 5511*****8888"
