"""Contract tests of the SGP adapter: against the SGP simulator (its traps included) and against
recorded SGP responses, each answer mapped to the domain's: owes / nothing open / unknown customer /
unavailable (fail closed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.server import serve_in_thread
from infra.local.simulators.sgp import SgpSimulator
from shared.adapters.billing import OverdueFilter, UnlockStatus
from shared.adapters.crm import CrmUnavailable
from shared.adapters.erp.sgp import SgpBilling
from shared.core.config import SgpConfig
from shared.domain.errors import InvalidInput
from tests.integration.erp.debtors import ANA, BRUNO, TODAY, invoice
from tests.integration.erp.replay import TIMEOUT, Replay

TOKEN, APP = "sgp-test-token", "Cobranca"
CARLA = "11144477735"
SECRETS = ("senha-pppoe", "central-", "Pppoe#Secret", "Central#Secret", TOKEN)


@pytest.fixture
def sim() -> SgpSimulator:
    return SgpSimulator(TOKEN, APP, max_limit=2, hang_seconds=1.5)


@pytest.fixture
def sgp(sim: SgpSimulator, clock: object) -> Iterator[SgpBilling]:
    running = serve_in_thread(sim.app)
    yield SgpBilling(SgpConfig(running.url, SecretStr(TOKEN), APP), timeout=1.0)
    running.stop()


def replayed(routes: dict[str, tuple[int, str]]) -> tuple[SgpBilling, Replay]:
    replay = Replay("sgp", routes)
    config = SgpConfig("https://sgp.example", SecretStr(TOKEN), APP)
    return SgpBilling(config, client=replay.client()), replay


# --- against the simulator ----------------------------------------------------------------------


def test_owes_every_open_invoice_once_across_overlapping_pages(sim: SgpSimulator, sgp: SgpBilling) -> None:
    sim.overlap_pages = True  # every page repeats the previous page's last row
    sim.add_debtor(ANA, "Ana Silva", [invoice(f"A{k}", "89.90", 40 - k) for k in range(5)])

    debt = sgp.consult(ANA)

    assert debt is not None and debt.name == "Ana Silva" and debt.document == ANA
    assert len(debt.invoices) == 5 and len({i.number for i in debt.invoices}) == 5
    assert debt.total == Decimal("449.50") and isinstance(debt.total, Decimal)
    contract = next(iter(sim.customers[ANA].contracts))
    assert {i.contract_id for i in debt.invoices} == {str(contract)}
    assert debt.invoices[0].due_date == TODAY - timedelta(days=40) and debt.invoices[0].days_overdue == 40
    endpoint, fields = sim.requests[0]
    assert endpoint == "consultacliente" and fields == {"cpfcnpj": ANA}


def test_an_instance_that_ignores_the_offset_ends_the_walk_without_duplicates(
    sim: SgpSimulator, sgp: SgpBilling
) -> None:
    sim.repeat_pages = True
    sim.add_debtor(ANA, "Ana Silva", [invoice(f"A{k}", "50.00", 30 - k) for k in range(4)])

    debt = sgp.consult(ANA)

    assert debt is not None and len(debt.invoices) == 2  # all this instance ever shows
    assert sum(1 for endpoint, _ in sim.requests if endpoint == "titulos") == 2


def test_nothing_open_and_unknown_customer_are_told_apart(sim: SgpSimulator, sgp: SgpBilling) -> None:
    sim.add_debtor(ANA, "Ana Silva", [])

    debt = sgp.consult(ANA)

    assert debt is not None and debt.invoices == () and not debt.has_open(TODAY)
    assert sgp.consult(BRUNO) is None


def test_invoices_older_than_five_years_are_time_barred(sim: SgpSimulator, sgp: SgpBilling) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("OLD", "70.00", 5 * 366), invoice("NEW", "89.90", 20)])

    debt = sgp.consult(ANA)

    assert debt is not None and len(debt.invoices) == 2
    assert debt.collectible_total(TODAY) == Decimal("89.90")


def test_an_error_answered_with_http_200_is_unavailable(sgp: SgpBilling) -> None:
    with pytest.raises(CrmUnavailable, match="malformed"):
        sgp.consult("")  # SGP: 200 {"msg": "CPF/CNPJ ou Contrato ID Não informados"}


def test_an_app_name_in_the_wrong_case_is_an_auth_failure(sim: SgpSimulator, sgp: SgpBilling) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])
    config = SgpConfig(sgp._base.removesuffix("/api/ura"), SecretStr(TOKEN), APP.lower())

    with pytest.raises(CrmUnavailable, match="HTTP 403"):
        SgpBilling(config, timeout=1.0).consult(ANA)


@pytest.mark.parametrize(
    ("outage", "message"),
    [("http_500", "HTTP 500"), ("html", "not JSON"), ("timeout", "ReadTimeout")],
)
def test_outages_are_unavailable(sim: SgpSimulator, sgp: SgpBilling, outage: str, message: str) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])
    sim.outage = outage  # type: ignore[assignment]

    with pytest.raises(CrmUnavailable, match=message):
        sgp.consult(ANA)


def test_payment_means_come_from_the_second_copy_without_opening_a_service_order(
    sim: SgpSimulator, sgp: SgpBilling
) -> None:
    customer = sim.add_debtor(
        ANA, "Ana Silva", [SimInvoice("A1", Decimal("89.90"), TODAY, 0, pix_copia_cola="000201pix-a1")]
    )
    number = str(customer.titles[0].id)

    means = sgp.payment_means(ANA, number)

    assert means.invoice_number == number and means.pix_copia_cola == "000201pix-a1"
    assert means.linha_digitavel and means.pdf_link and number in means.pdf_link
    assert sim.service_orders == 0
    assert sim.requests[-1] == (
        "fatura2via",
        {"cpfcnpj": ANA, "faturas_abertas_todas": "1", "nao_gerar_os": "1"},
    )


def test_a_second_copy_without_pix_asks_the_pix_endpoint(sim: SgpSimulator, sgp: SgpBilling) -> None:
    customer = sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 10)])
    title = customer.titles[0]

    means = sgp.payment_means(ANA, str(title.id))

    assert means.pix_copia_cola == f"00020101021226SGP{title.id}6304ABCD"
    assert sim.requests[-1] == ("pagamento/pix", {"contrato": str(title.contract_id)})


def test_payment_means_of_an_invoice_no_longer_open_are_unavailable(
    sim: SgpSimulator, sgp: SgpBilling
) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 10)])

    with pytest.raises(CrmUnavailable, match="no open invoice"):
        sgp.payment_means(ANA, "999999")


def test_trust_unlock_releases_the_suspended_contract_once_then_is_refused(
    sim: SgpSimulator, sgp: SgpBilling
) -> None:
    customer = sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])
    contract = next(iter(customer.contracts))

    unlocked = sgp.trust_unlock(ANA, None, TODAY + timedelta(days=5))

    assert unlocked.status is UnlockStatus.UNLOCKED and unlocked.contract_id == str(contract)
    assert unlocked.until == TODAY + timedelta(days=3)  # SGP's liberado_dias, not our wish
    assert unlocked.reason is None  # the success message names the PPPoE login
    sent = sim.unlocks[-1]
    assert sent["contrato"] == str(contract) and sent["nao_gerar_os"] == "1"
    assert sent["data_promessa"] == (TODAY + timedelta(days=5)).isoformat()

    customer.contracts[contract] = 4  # suspended again, same month
    refused = sgp.trust_unlock(ANA, str(contract), TODAY + timedelta(days=5))

    assert refused.status is UnlockStatus.REFUSED and refused.code == "2"
    assert refused.reason and "atingiu quantidade permitida" in refused.reason


def test_trust_unlock_without_a_suspended_contract_is_refused_without_calling_sgp(
    sim: SgpSimulator, sgp: SgpBilling
) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)], contract_status=1)

    result = sgp.trust_unlock(ANA, None, TODAY + timedelta(days=3))

    assert result.status is UnlockStatus.REFUSED and sim.unlocks == []


def test_secrets_the_erp_returns_reach_neither_the_answers_nor_the_logs(
    sim: SgpSimulator, sgp: SgpBilling, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])
    sim.add_debtor("12345678000100", "Sem Documento", [invoice("X1", "10.00", 20)])  # bad CNPJ
    answers = [
        sgp.consult(ANA),
        sgp.trust_unlock(ANA, None, TODAY + timedelta(days=3)),
        sgp.overdue(OverdueFilter(), None),
    ]
    sim.outage = "http_500"
    with pytest.raises(CrmUnavailable) as failure:
        sgp.consult(ANA)

    logged = caplog.text
    assert "without a usable document" in logged  # the adapter did log
    seen = repr(answers) + str(failure.value) + logged
    assert [secret for secret in SECRETS if secret in seen] == []
    assert "pppoe-" not in repr(answers)  # the login in the unlock message is not passed on


def test_overdue_pages_fold_invoices_per_customer_with_their_phones(
    sim: SgpSimulator, sgp: SgpBilling
) -> None:
    sim.overlap_pages = True
    sim.add_debtor(
        ANA,
        "Ana Silva",
        [invoice("A1", "89.90", 40), invoice("A2", "89.90", 10)],
        phones=("(11) 97000-0001",),
    )
    sim.add_debtor(BRUNO, "Bruno Souza", [invoice("B1", "30.00", 35)], phones=("(21) 98888-0002",))
    sim.add_debtor(CARLA, "Carla Lima", [invoice("C1", "120.00", 3)], contract_status=1)
    filters = OverdueFilter(min_days_overdue=5, contract_status="4")

    pages, cursor = [], None
    while True:
        page = sgp.overdue(filters, cursor)
        pages.append(page)
        if (cursor := page.cursor) is None:
            break

    debts = {d.document: d for page in pages for d in page.debts}
    totals = {
        doc: sum((d.total for p in pages for d in p.debts if d.document == doc), Decimal(0)) for doc in debts
    }
    assert totals == {ANA: Decimal("179.80"), BRUNO: Decimal("30.00")}  # Carla: 3 days, active
    phones = {doc: p for page in pages for doc, p in page.phones.items()}
    assert phones == {ANA: ("(11) 97000-0001",), BRUNO: ("(21) 98888-0002",)}
    window = next(fields for endpoint, fields in sim.requests if endpoint == "titulos")
    assert window["data_vencimento_fim"] == (TODAY - timedelta(days=5)).isoformat()


def test_overdue_minimum_amount_and_a_bad_cursor(sim: SgpSimulator, sgp: SgpBilling) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 40)])
    sim.add_debtor(BRUNO, "Bruno Souza", [invoice("B1", "30.00", 35)])

    page = sgp.overdue(OverdueFilter(min_amount="50,00"), None)

    assert [d.document for d in page.debts] == [ANA]
    asked = len(sim.requests)
    with pytest.raises(InvalidInput):
        sgp.overdue(OverdueFilter(), "not-a-cursor")
    with pytest.raises(InvalidInput, match="min_amount"):
        sgp.overdue(OverdueFilter(min_amount="muito"), None)
    assert len(sim.requests) == asked  # bad input never reaches SGP


# --- against recorded responses -----------------------------------------------------------------

FOUND = (200, "consultacliente_found.json")
OPEN = (200, "titulos_open.json")


def test_recorded_customer_owes_with_corrected_amounts_and_time_bar(clock: object) -> None:
    sgp, replay = replayed({"/api/ura/consultacliente/": FOUND, "/api/ura/titulos/": OPEN})

    debt = sgp.consult("00111222000133")

    assert debt is not None and debt.name == "NOVA SOLUTECH"
    first, old = debt.invoices[1], debt.invoices[0]
    assert first.number == "245364" and first.amount == Decimal("132.50")  # valorCorrigido
    assert first.due_date == date(2025, 2, 10) and first.contract_id == "308"
    assert first.pix_copia_cola and first.linha_digitavel and first.link
    assert old.amount == Decimal("130.00") and old.is_time_barred(TODAY)
    assert debt.collectible_total(TODAY) == Decimal("132.50")
    assert "Secret" not in repr(debt)
    body = parse_qs(replay.requests[0].content.decode())
    assert body["token"] == [TOKEN] and body["app"] == [APP] and body["cpfcnpj"] == ["00111222000133"]
    assert replay.requests[0].url.path.endswith("/consultacliente/")


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        ({"/api/ura/consultacliente/": (200, "consultacliente_not_found.json")}, "unknown"),
        ({"/api/ura/consultacliente/": FOUND, "/api/ura/titulos/": (200, "titulos_none.json")}, "nothing"),
        ({"/api/ura/consultacliente/": (200, "consultacliente_missing_key.json")}, "unavailable"),
        ({"/api/ura/consultacliente/": (403, "auth_error.json")}, "unavailable"),
        ({"/api/ura/consultacliente/": (200, "login_page.html")}, "unavailable"),
        ({"/api/ura/consultacliente/": FOUND, "/api/ura/titulos/": (502, "login_page.html")}, "unavailable"),
        ({"/api/ura/consultacliente/": TIMEOUT}, "unavailable"),
    ],
    ids=["not-found", "nothing-open", "error-as-200", "auth", "html", "5xx", "timeout"],
)
def test_recorded_answers_map_to_the_domain(
    clock: object, routes: dict[str, tuple[int, str]], expected: str
) -> None:
    sgp, _ = replayed(routes)
    if expected == "unavailable":
        with pytest.raises(CrmUnavailable):
            sgp.consult("00111222000133")
        return
    debt = sgp.consult("00111222000133")
    assert (debt is None) if expected == "unknown" else (debt is not None and debt.invoices == ())


def test_recorded_second_copy_falls_back_to_the_pix_endpoint(clock: object) -> None:
    sgp, replay = replayed(
        {
            "/api/ura/fatura2via/": (200, "fatura2via.json"),
            "/api/ura/pagamento/pix/245364/": (200, "pagamento_pix.json"),
        }
    )

    means = sgp.payment_means("00111222000133", "245364")

    assert means.pix_copia_cola and "recorded-sgp-pix" in means.pix_copia_cola
    assert means.linha_digitavel and means.linha_digitavel.startswith("75691.33510")
    assert means.pdf_link == "https://sgp.example/boleto/245364-B3ZN09AC6D/"
    assert parse_qs(replay.requests[1].content.decode())["contrato"] == ["308"]


@pytest.mark.parametrize(
    ("fixture", "status"),
    [
        ("liberacaopromessa_ok.json", UnlockStatus.UNLOCKED),
        ("liberacaopromessa_refused.json", UnlockStatus.REFUSED),
    ],
)
def test_recorded_trust_unlock(clock: object, fixture: str, status: UnlockStatus) -> None:
    sgp, replay = replayed({"/api/ura/liberacaopromessa/": (200, fixture)})

    result = sgp.trust_unlock("00111222000133", "308", TODAY + timedelta(days=5))

    assert result.status is status and result.contract_id == "308"
    sent = parse_qs(replay.requests[0].content.decode())
    assert sent["contrato"] == ["308"] and sent["nao_gerar_os"] == ["1"]
    if status is UnlockStatus.UNLOCKED:
        assert result.until == TODAY + timedelta(days=3) and result.reason is None
    else:
        assert result.code == "2" and result.reason and result.reason.startswith("O recurso")
