"""CSV exports as Excel pt-BR opens them: UTF-8 with BOM, `;`, decimal comma, formulas escaped, the
document masked for supervisors and whole for admins; read back with Python's csv module."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.core import clock as clock_module
from shared.data import counters, promises, targets
from shared.domain.models import Invoice, Outcome, Promise, PromiseStatus, Target, TargetState
from tests.integration.api.conftest import GOOD_CSV, Api

FORMULA_NAME = '=HYPERLINK("http://x";"clique")'


def _read(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def _campaign_with_a_promise(
    api: Api, make_target: Callable[..., Target], make_promise: Callable[..., Promise]
) -> tuple[str, Promise]:
    campaign = api.create_campaign()
    api.import_csv(campaign["id"], GOOD_CSV)  # João 179,80 (CPF) and Maria 89,90 (CNPJ)
    invoices = [
        Invoice(invoice_number="X-1", amount=Decimal("1234.5"), due_date=date(2025, 1, 5)),
        Invoice(invoice_number="X-2", amount=Decimal("0.05"), due_date=date(2025, 2, 5)),
    ]
    targets.insert_new([make_target(campaign_id=campaign["id"], client_name=FORMULA_NAME, invoices=invoices)])
    [joao] = targets.by_document("11144477735")
    now = clock_module.now()  # 12:00 UTC = 09:00 in SP
    targets.record_contact(joao, last_attempt_at=now, open_amount=Decimal("99.9"), open_amount_at=now)
    targets.transition(joao.id, [TargetState.PENDING], TargetState.CONTACTED, outcome=Outcome.PROMISE_MADE)
    promise = promises.create(
        make_promise(
            document=joao.document,
            target_id=joao.id,
            campaign_id=campaign["id"],
            amount=Decimal("150.00"),
            due_date=date(2025, 3, 20),
            notes="-2+3 cmd|' /C calc'!A0",
        )
    )
    return campaign["id"], promise


def test_cases_export_lists_every_case_masked_for_supervisors(
    api: Api, make_target: Callable[..., Target], make_promise: Callable[..., Promise]
) -> None:
    campaign_id, _ = _campaign_with_a_promise(api, make_target, make_promise)

    rows = _read(api.get(f"/api/voice/campaigns/{campaign_id}/export.csv", role="supervisor"))

    assert rows[0][:8] == [
        "CPF/CNPJ", "Nome", "Resultado", "Estado", "Valor da dívida", "Faturas", "Em aberto",
        "Em aberto (consultado em)",
    ]  # fmt: skip
    by_name = {row[1]: row for row in rows[1:]}
    assert len(rows) == 4 and len(by_name) == 3
    assert by_name["João Silva"] == [
        "***.444.777-**", "João Silva", "Promessa registrada", "Contatado", "179,80", "1", "99,90",
        "10/03/2025 09:00", "150,00", "20/03/2025", "Pendente", "10/03/2025 09:00",
    ]  # fmt: skip
    assert by_name["Maria Souza"] == [
        "**.***.345/01DE-**", "Maria Souza", "", "Pendente", "89,90", "1", "", "", "", "", "", "",
    ]  # fmt: skip
    formula = by_name["'" + FORMULA_NAME]  # a spreadsheet shows it as text, never runs it
    assert (formula[0], formula[4], formula[5]) == ("***.982.247-**", "1234,55", "2")


def test_a_case_shows_its_customers_promise_made_in_another_campaign_and_the_one_it_kept_in_part(
    api: Api, make_promise: Callable[..., Promise]
) -> None:
    """João promised in March over the invoice both campaigns collect: April's case, deferred by it,
    shows it; kept in part, March's case goes on without an outcome and still shows it, kept."""
    march, april = api.create_campaign(), api.create_campaign(name="Abril")
    for campaign in (march, april):
        api.import_csv(campaign["id"], GOOD_CSV)
    joao_march, joao_april = sorted(
        targets.by_document("11144477735"), key=lambda case: case.campaign_id != march["id"]
    )
    now = clock_module.now()
    for case in (joao_march, joao_april):
        targets.record_contact(case, last_attempt_at=now)
    promise = promises.create(
        make_promise(
            document=joao_march.document,
            target_id=joao_march.id,
            campaign_id=march["id"],
            amount=Decimal("100.00"),
            due_date=date(2025, 3, 20),
            invoice_numbers=["FAT-001"],
        )
    )
    for case in (joao_march, joao_april):
        targets.transition(case.id, [TargetState.PENDING], TargetState.PENDING, outcome=Outcome.PROMISE_MADE)

    def joao_in(campaign: dict[str, Any]) -> list[str]:
        rows = _read(api.get(f"/api/voice/campaigns/{campaign['id']}/export.csv", role="supervisor"))
        [joao] = [row for row in rows[1:] if row[1] == "João Silva"]
        return [joao[2], *joao[8:11]]

    assert joao_in(april) == ["Promessa registrada", "100,00", "20/03/2025", "Pendente"]
    promises.transition(promise, [PromiseStatus.PENDING], PromiseStatus.FULFILLED)
    targets.transition(joao_march.id, [TargetState.PENDING], TargetState.PENDING, outcome=None)
    assert joao_in(march) == ["", "100,00", "20/03/2025", "Cumprida"]


def test_admins_get_whole_documents_and_unknown_campaigns_are_404(
    api: Api, make_target: Callable[..., Target], make_promise: Callable[..., Promise]
) -> None:
    campaign_id, _ = _campaign_with_a_promise(api, make_target, make_promise)

    rows = _read(api.get(f"/api/voice/campaigns/{campaign_id}/export.csv", role="admin"))

    assert sorted(row[0] for row in rows[1:]) == ["11144477735", "12ABC34501DE35", "52998224725"]
    assert api.get("/api/voice/campaigns/nope/export.csv", role="admin").status_code == 404
    assert api.get(f"/api/voice/campaigns/{campaign_id}/export.csv", role="viewer").status_code == 403


def test_promises_export_escapes_formulas_and_filters_by_status(
    api: Api, make_target: Callable[..., Target], make_promise: Callable[..., Promise]
) -> None:
    campaign_id, promise = _campaign_with_a_promise(api, make_target, make_promise)
    promises.create(
        make_promise(
            document="52998224725",
            amount=Decimal("10"),
            status=PromiseStatus.BROKEN,
            due_at=clock_module.now() - timedelta(days=9),
            broken_at=clock_module.now(),
        )
    )

    rows = _read(api.get("/api/voice/promises/export.csv", role="supervisor"))
    pending = _read(api.get("/api/voice/promises/export.csv", params={"status": "pending"}, role="admin"))

    assert rows[0] == [
        "CPF/CNPJ", "Valor", "Data prometida", "Situação", "Forma de pagamento", "Campanha",
        "Registrada em", "Cumprida em", "Quebrada em", "Observações",
    ]  # fmt: skip
    assert sorted(row[3] for row in rows[1:]) == ["Pendente", "Quebrada"]
    assert pending[1:] == [
        [
            "11144477735", "150,00", "20/03/2025", "Pendente", "", campaign_id,
            "10/03/2025 09:00", "", "", "'-2+3 cmd|' /C calc'!A0",
        ]
    ]  # fmt: skip
    assert (
        api.get("/api/voice/promises/export.csv", params={"status": "lost"}, role="admin").status_code == 422
    )


def test_the_daily_series_on_the_wire_and_as_csv(api: Api) -> None:
    campaign = api.create_campaign()
    scope = counters.campaign_day_scope(campaign["id"], date(2025, 3, 10))
    counters.increment_many(scope, {"contacts": 12, "responses": 5, "promises": 2, "kept": 1})
    counters.increment(scope, "cents:recovered", 123456)
    path = f"/api/voice/campaigns/{campaign['id']}"

    days = api.get(f"{path}/daily", params={"from": "2025-03-09", "to": "2025-03-10"}).json()
    rows = _read(api.get(f"{path}/daily.csv", params={"from": "2025-03-09", "to": "2025-03-10"}))

    assert days == [
        {
            "day": "2025-03-09",
            "contacts": 0,
            "responses": 0,
            "promises": 0,
            "kept": 0,
            "amountRecovered": "0.00",
        },
        {
            "day": "2025-03-10",
            "contacts": 12,
            "responses": 5,
            "promises": 2,
            "kept": 1,
            "amountRecovered": "1234.56",
        },
    ]
    assert rows == [
        ["Dia", "Contatos", "Respostas", "Promessas", "Cumpridas", "Recuperado"],
        ["09/03/2025", "0", "0", "0", "0", "0,00"],
        ["10/03/2025", "12", "5", "2", "1", "1234,56"],
    ]
    default = api.get(f"{path}/daily").json()  # the 30 days to today (10/03 in São Paulo)
    assert (len(default), default[0]["day"], default[-1]["day"]) == (30, "2025-02-09", "2025-03-10")
    assert api.get(f"{path}/daily", params={"from": "2025-03-10", "to": "2025-03-09"}).status_code == 422
    assert api.get(f"{path}/daily", params={"from": "2025-01-01", "to": "2025-04-30"}).status_code == 422
    assert api.get(f"{path}/daily.csv", params={"from": "2025-03-10", "to": "2025-03-09"}).status_code == 422
    assert api.get(f"{path}/daily", params={"from": "março"}).status_code == 422
    assert api.get("/api/voice/campaigns/nope/daily").status_code == 404
