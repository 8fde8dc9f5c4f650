"""The assistant's tool definitions and error texts: strict schemas, Portuguese errors in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.assistant import texts
from shared.assistant.runner import HISTORY_CHARS, HISTORY_MESSAGES, history_messages
from shared.assistant.tools import TOOLS, chat_tool_schemas
from shared.domain.models import Message, Sender

SEED_TOOLS = {"consultar_faturas_cpf", "registrar_promessa_pagamento", "atualizar_status_cobranca"}
PROMISE_CODES = ["invalid_date", "date_in_past", "date_too_far", "invalid_amount", "amount_above_total"]


def _strict(schema: dict[str, Any]) -> None:
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == sorted(schema["properties"])
    for prop in schema["properties"].values():
        assert "type" in prop and prop.get("description")
        if "enum" in prop and "null" in prop["type"]:
            assert None in prop["enum"]


def test_every_tool_has_a_strict_schema():
    schemas = chat_tool_schemas()
    assert {s["function"]["name"] for s in schemas} == SEED_TOOLS | {
        "registrar_opt_out",
        "transferir_para_humano",
        "gerar_pagamento_pix",
        "numero_errado",
    }
    for schema in schemas:
        assert schema["type"] == "function" and schema["function"]["strict"] is True
        _strict(schema["function"]["parameters"])


def test_the_promise_tool_keeps_the_seeds_arguments():
    properties = TOOLS["registrar_promessa_pagamento"].parameters["properties"]
    assert list(properties) == [
        "cpf_cnpj",
        "data_prevista_pagamento",
        "valor_prometido",
        "metodo_pagamento",
        "observacoes",
    ]
    assert properties["valor_prometido"]["type"] == "number"
    assert properties["metodo_pagamento"]["enum"] == [
        "pix",
        "boleto",
        "cartao_credito",
        "debito_automatico",
        "outros",
        None,
    ]


def test_realtime_schemas_are_the_same_tools_in_the_flat_form():
    tool = TOOLS["consultar_faturas_cpf"]
    assert tool.realtime_schema() == {
        "type": "function",
        "name": "consultar_faturas_cpf",
        "description": tool.description,
        "parameters": tool.parameters,
    }


@pytest.mark.parametrize("code", PROMISE_CODES)
def test_every_promise_rejection_code_has_portuguese_for_the_model(code):
    message = texts.tool_error(
        code,
        data="01/01/2025",
        hoje="10/03/2025",
        dias=30,
        limite="09/04/2025",
        valor="R$ 1,00",
        total="R$ 2,00",
    )
    assert message != texts.TOOL_ERRORS["internal_error"]
    assert "{" not in message and "?" not in message  # every placeholder filled


def test_an_unknown_error_code_gets_the_generic_text_and_missing_details_never_crash():
    assert texts.tool_error("no_such_code") == texts.TOOL_ERRORS["internal_error"]
    assert "?" in texts.tool_error("date_in_past")


def _message(sender: Sender, content: str, n: int) -> Message:
    return Message(
        id=f"M{n:03d}",
        conversation_id="C",
        sender=sender,
        content=content,
        created_at=datetime(2025, 3, 10, tzinfo=UTC),
    )


def test_history_is_trimmed_to_the_newest_messages_within_budget():
    history = [_message(Sender.CUSTOMER if n % 2 else Sender.ASSISTANT, f"msg {n}", n) for n in range(60)]
    history.insert(30, _message(Sender.SYSTEM, "Conversa transferida", 999))

    chat = history_messages(history)

    assert len(chat) == HISTORY_MESSAGES
    assert chat[-1] == {"role": "user", "content": "msg 59"}
    assert all("transferida" not in m["content"] for m in chat)


def test_history_keeps_the_newest_message_even_when_it_alone_is_over_budget():
    huge = "a" * (HISTORY_CHARS * 2)
    chat = history_messages([_message(Sender.CUSTOMER, "old", 1), _message(Sender.CUSTOMER, huge, 2)])
    assert chat == [{"role": "user", "content": "a" * HISTORY_CHARS}]
