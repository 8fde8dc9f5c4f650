"""`shared.adapters.erp.ixc_wire`: IXC's list bodies and envelopes, and what the adapter keeps of a row."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.billing import UnlockStatus
from shared.adapters.erp import ixc_wire as wire

TODAY = date(2025, 3, 10)


def receivable(**overrides: str) -> dict[str, str]:
    row = {
        "id": "145535",
        "id_cliente": "2",
        "id_contrato": "",
        "id_contrato_avulso": "2309",
        "id_contrato_principal": "0",
        "status": "A",
        "liberado": "S",
        "data_vencimento": "2025-02-28",
        "valor": "26.00",
        "valor_aberto": "26.00",
        "linha_digitavel": "",
        "gateway_link": "",
        "impresso": "N",
    }
    return row | overrides


def test_list_body_is_all_strings_with_grid_param_as_a_json_string() -> None:
    body = wire.list_body(
        "fn_areceber.id_cliente",
        "2",
        page=3,
        rows=50,
        sortname="fn_areceber.data_vencimento",
        grid=(wire.GridFilter("fn_areceber.data_vencimento", "BE", "2025-01-01", "2025-01-31"),),
    )

    assert all(isinstance(value, str) for value in body.values())
    assert (body["page"], body["rp"], body["oper"], body["sortorder"]) == ("3", "50", "=", "asc")
    assert json.loads(body["grid_param"]) == [
        {"TB": "fn_areceber.data_vencimento", "OP": "BE", "P": "2025-01-01", "P2": "2025-01-31"}
    ]
    assert "grid_param" not in wire.list_body("cliente.id", "1", sortname="cliente.id")


@pytest.mark.parametrize(
    ("body", "total", "rows"),
    [
        ({"page": "1", "total": "0"}, 0, 0),  # registros absent
        ({"page": 1, "total": 0, "registros": []}, 0, 0),  # numbers where strings are usual
        ({"page": "2", "total": "3", "registros": [{"id": "9"}]}, 3, 1),
    ],
)
def test_parse_list_tolerates_string_or_number_counts(body: Any, total: int, rows: int) -> None:
    page = wire.parse_list(body)

    assert (page.total, len(page.rows)) == (total, rows)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "error", "message": "Recurso x não está disponível!"},
        {"type": "ERROR"},
        {"page": "1", "total": "x"},
        {"page": "1", "total": "0", "registros": [{"id": "1"}]},  # more rows than the total
        {"page": "1", "total": "1", "registros": ["1"]},
        {"page": "1"},
        ["not", "an", "object"],
        "<html>",
    ],
)
def test_parse_list_refuses_errors_and_odd_shapes(body: Any) -> None:
    with pytest.raises(wire.IxcWireError):
        wire.parse_list(body)


def test_pagination_goes_on_while_page_times_rows_is_below_total() -> None:
    rows = tuple({"id": str(n)} for n in range(10))

    assert wire.ListPage(page=1, total=25, rows=rows).has_more(10)
    assert not wire.ListPage(page=3, total=25, rows=rows[:5]).has_more(10)
    assert not wire.ListPage(page=1, total=25, rows=()).has_more(10)  # an empty page never loops


def test_customer_keeps_only_allow_listed_fields() -> None:
    row = {
        "id": "2",
        "razao": "MARIA DE SOUZA",
        "cnpj_cpf": "111.444.777-35",
        "telefone_celular": "(49) 99999-9999",
        "whatsapp": "(49) 99999-9999",
        "fone": "(49) 3322-1100",
        "senha": "Maria@1980",
        "hotsite_senha": "outra",
    }

    customer = wire.parse_customer(row)

    assert customer == wire.IxcCustomer(
        "2", "MARIA DE SOUZA", "11144477735", ("(49) 99999-9999", "(49) 3322-1100")
    )
    assert {f.name for f in dataclasses.fields(customer)} == {"id", "name", "document", "phones"}
    assert "Maria@1980" not in repr(customer)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"id_contrato": "10", "id_contrato_avulso": "20"}, "10"),
        ({"id_contrato": "", "id_contrato_avulso": "20"}, "20"),
        ({"id_contrato": "", "id_contrato_avulso": "", "id_contrato_principal": "30"}, "30"),
        ({"id_contrato": "", "id_contrato_avulso": "", "id_contrato_principal": "0"}, None),
    ],
)
def test_contract_is_the_first_set_of_three_fields(fields: dict[str, str], expected: str | None) -> None:
    assert wire.invoice_contract(receivable(**fields)) == expected


def test_open_receivable_becomes_a_domain_invoice() -> None:
    invoice = wire.parse_open_invoice(receivable(status="P", valor="99.90", valor_aberto="49.90"), TODAY)

    assert invoice is not None
    assert (invoice.number, invoice.amount, invoice.due_date, invoice.days_overdue, invoice.contract_id) == (
        "145535",
        Decimal("49.90"),
        date(2025, 2, 28),
        10,
        "2309",
    )
    assert invoice.linha_digitavel is None and invoice.link is None


@pytest.mark.parametrize(
    "overrides",
    [{"status": "R"}, {"status": "C"}, {"liberado": "N"}, {"valor_aberto": "0.00"}],
)
def test_received_cancelled_hidden_or_settled_titles_are_not_open(overrides: dict[str, str]) -> None:
    assert wire.parse_open_invoice(receivable(**overrides), TODAY) is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"valor_aberto": "vinte"},
        {"valor_aberto": ""},
        {"data_vencimento": "0000-00-00"},
        {"data_vencimento": "28/02/2025"},
        {"id": ""},
    ],
)
def test_malformed_open_receivable_raises(overrides: dict[str, str]) -> None:
    with pytest.raises(wire.IxcWireError):
        wire.parse_open_invoice(receivable(**overrides), TODAY)


def test_not_yet_due_title_has_zero_days_overdue() -> None:
    invoice = wire.parse_open_invoice(receivable(data_vencimento="2025-03-20"), TODAY)

    assert invoice is not None and invoice.days_overdue == 0


def test_contract_reads_status_and_the_end_of_an_unlock() -> None:
    contract = wire.parse_contract(
        {
            "id": "2309",
            "id_cliente": "2",
            "status": "A",
            "status_internet": "ca",
            "nao_bloquear_ate": "0000-00-00",
        }
    )

    assert contract.suspended and contract.blocked_until is None
    assert wire.parse_contract(
        {"id": "1", "status_internet": "A", "nao_bloquear_ate": "2025-03-13"}
    ).blocked_until == date(2025, 3, 13)


def pix_answer(status: str) -> dict[str, Any]:
    return {
        "type": "success",
        "pix": {
            "qrCode": {"qrcode": "000201QR"},
            "dadosPix": {"pixCopiaECola": "000201COPIA", "status": status},
        },
    }


def test_pix_only_while_active() -> None:
    assert wire.parse_pix(pix_answer("ATIVA")) == "000201COPIA"
    assert wire.parse_pix(pix_answer("CONCLUIDA")) is None
    assert wire.parse_pix({"type": "error", "message": "sem gateway"}) is None
    no_copy = pix_answer("ATIVA")
    del no_copy["pix"]["dadosPix"]["pixCopiaECola"]
    assert wire.parse_pix(no_copy) == "000201QR"
    with pytest.raises(wire.IxcWireError):
        wire.parse_pix({"pix": {}})


def test_boleto_body_never_rewrites_the_charge() -> None:
    body = wire.boleto_body("145535")

    assert body["atualiza_boleto"] == "N" and body["juro"] == "N" and body["multa"] == "N"
    assert body["boletos"] == "145535" and all(isinstance(v, str) for v in body.values())


def test_pdf_is_recognised_raw_or_base64() -> None:
    pdf = b"%PDF-1.4 ..."

    assert wire.is_pdf(pdf) and wire.is_pdf(base64.b64encode(pdf))
    assert (
        not wire.is_pdf(b"") and not wire.is_pdf(b"<html>") and not wire.is_pdf(base64.b64encode(b"<html>"))
    )


def test_unlock_answers_in_portuguese_keys() -> None:
    ok = wire.parse_unlock({"tipo": "sucesso", "mensagem": "ok"}, "2309")
    used = wire.parse_unlock({"tipo": "erro", "codigo": "113", "mensagem": "contrato 2309 ..."}, "2309")
    other = wire.parse_unlock({"tipo": "erro", "codigo": "999", "mensagem": "Regra do provedor."}, "2309")

    assert (ok.status, ok.contract_id) == (UnlockStatus.UNLOCKED, "2309")
    assert (used.status, used.code, used.reason) == (UnlockStatus.REFUSED, "113", wire.UNLOCK_REFUSALS["113"])
    assert (other.code, other.reason) == ("999", "Regra do provedor.")
    for body in ({"type": "error", "message": "x"}, {"tipo": "?"}, []):
        with pytest.raises(wire.IxcWireError):
            wire.parse_unlock(body, "2309")
