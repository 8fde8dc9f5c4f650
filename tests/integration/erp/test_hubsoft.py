"""Contract tests of the Hubsoft adapter: against the Hubsoft simulator (its traps included) and
against recorded Hubsoft responses, each answer mapped to the domain's: owes / nothing open / unknown
customer / unavailable (fail closed); the OAuth2 token cached and renewed once on a 401."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.hubsoft import HubsoftSimulator
from infra.local.simulators.server import serve_in_thread
from shared.adapters.billing import OverdueFilter, UnlockStatus
from shared.adapters.crm import CrmUnavailable
from shared.adapters.erp.hubsoft import HubsoftBilling
from shared.core.config import HubsoftConfig
from tests.integration.erp.debtors import ANA, BRUNO, TODAY, invoice
from tests.integration.erp.replay import TIMEOUT, Replay

CLIENT_ID, CLIENT_SECRET = "hubsoft-client", "client-secret-XYZ"
USERNAME, PASSWORD = "cobranca@isp.example", "oauth-password-XYZ"
SECRETS = ("senha-pppoe", "Radius#Secret", CLIENT_SECRET, PASSWORD, "hubsoft-token-")


def config(url: str, password: str = PASSWORD) -> HubsoftConfig:
    return HubsoftConfig(url, CLIENT_ID, SecretStr(CLIENT_SECRET), USERNAME, SecretStr(password))


@pytest.fixture
def sim() -> HubsoftSimulator:
    return HubsoftSimulator(CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD, hang_seconds=1.5)


@pytest.fixture
def url(sim: HubsoftSimulator, clock: object) -> Iterator[str]:
    running = serve_in_thread(sim.app)
    yield running.url
    running.stop()


@pytest.fixture
def hubsoft(url: str) -> HubsoftBilling:
    return HubsoftBilling(config(url), timeout=1.0)


def replayed(routes: dict[str, tuple[int, str]]) -> tuple[HubsoftBilling, Replay]:
    replay = Replay("hubsoft", routes)
    return HubsoftBilling(config("https://api.isp.hubsoft.com.br"), client=replay.client()), replay


# --- against the simulator ----------------------------------------------------------------------


def test_owes_pending_invoices_keyed_by_service(sim: HubsoftSimulator, hubsoft: HubsoftBilling) -> None:
    customer = sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 40), invoice("A2", "119.90", 10)])
    service = next(iter(customer.services))

    debt = hubsoft.consult(ANA)

    assert debt is not None and debt.name == "Ana Silva" and debt.total == Decimal("209.80")
    assert [i.due_date for i in debt.invoices] == [TODAY - timedelta(days=40), TODAY - timedelta(days=10)]
    assert [i.days_overdue for i in debt.invoices] == [40, 10]
    assert {i.contract_id for i in debt.invoices} == {str(service)}
    path, query = sim.requests[-1]
    assert path == "cliente/financeiro" and query["busca"] == "cpf_cnpj" and query["termo_busca"] == ANA
    assert query["apenas_pendente"] == "sim" and query["limit"] == "50"


def test_more_than_fifty_invoices_are_read_in_follow_up_calls(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling
) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice(f"A{k}", "10.00", 200 - k) for k in range(73)])

    debt = hubsoft.consult(ANA)

    assert debt is not None and len({i.number for i in debt.invoices}) == len(debt.invoices) == 73
    assert debt.total == Decimal("730.00")
    follow_up = [q for p, q in sim.requests if p == "cliente/financeiro"][1]
    assert follow_up["data_inicio"] == (TODAY - timedelta(days=151)).isoformat()


def test_nothing_open_and_unknown_customer_are_told_apart(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling
) -> None:
    sim.add_debtor(ANA, "Ana Silva", [])

    debt = hubsoft.consult(ANA)

    assert debt is not None and debt.invoices == () and not debt.has_open(TODAY)
    assert hubsoft.consult(BRUNO) is None


def test_the_token_is_cached_and_renewed_once_when_revoked(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling
) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])
    hubsoft.consult(ANA)
    hubsoft.consult(ANA)
    assert sim.tokens_issued == 1

    sim.revoke_tokens()
    debt = hubsoft.consult(ANA)

    assert debt is not None and debt.total == Decimal("89.90")
    assert sim.tokens_issued == 2 and sim.rejected_tokens == 1


def test_wrong_credentials_are_unavailable(sim: HubsoftSimulator, url: str) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])

    with pytest.raises(CrmUnavailable, match="HTTP 401"):
        HubsoftBilling(config(url, password="wrong"), timeout=1.0).consult(ANA)


def test_an_error_envelope_with_http_200_is_unavailable(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling
) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])
    sim.error_envelope = True

    with pytest.raises(CrmUnavailable, match="error envelope"):
        hubsoft.consult(ANA)


@pytest.mark.parametrize(
    ("outage", "message"),
    [("http_500", "HTTP 500"), ("html", "not JSON"), ("timeout", "ReadTimeout")],
)
def test_outages_are_unavailable(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling, outage: str, message: str
) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])
    sim.outage = outage  # type: ignore[assignment]

    with pytest.raises(CrmUnavailable, match=message):
        hubsoft.consult(ANA)


def test_payment_means_are_the_invoice_own_pix_line_and_pdf(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling
) -> None:
    customer = sim.add_debtor(
        ANA, "Ana Silva", [SimInvoice("A1", Decimal("89.90"), TODAY, 0, pix_copia_cola="000201pix-a1")]
    )
    number = str(customer.invoices[0].id)

    means = hubsoft.payment_means(ANA, number)

    assert means.pix_copia_cola == "000201pix-a1" and means.linha_digitavel
    assert means.pdf_link == f"https://hubsoft.example/pdf/fatura/{number}"
    with pytest.raises(CrmUnavailable, match="no pending invoice"):
        hubsoft.payment_means(ANA, "1")


def test_trust_unlock_releases_the_suspended_service_then_is_refused(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling
) -> None:
    customer = sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])
    service = next(iter(customer.services))

    unlocked = hubsoft.trust_unlock(ANA, None, TODAY + timedelta(days=2))

    assert unlocked.status is UnlockStatus.UNLOCKED and unlocked.contract_id == str(service)
    assert unlocked.until == TODAY + timedelta(days=2)
    assert sim.unlocks == [{"id_cliente_servico": str(service), "dias_desbloqueio": "2"}]

    customer.services[service] = "suspenso_debito"
    refused = hubsoft.trust_unlock(ANA, str(service), TODAY + timedelta(days=2))

    assert refused.status is UnlockStatus.REFUSED and refused.reason
    assert "não permitido" in refused.reason


def test_trust_unlock_longer_than_the_isp_allows_is_refused(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling
) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])

    result = hubsoft.trust_unlock(ANA, None, TODAY + timedelta(days=10))

    assert result.status is UnlockStatus.REFUSED and result.reason and "excede" in result.reason


def test_trust_unlock_ending_today_is_refused_without_calling_hubsoft(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling
) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])

    result = hubsoft.trust_unlock(ANA, None, TODAY)

    assert result.status is UnlockStatus.REFUSED and sim.unlocks == []


def test_secrets_reach_neither_the_answers_nor_the_logs(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 20)])
    sim.add_debtor("12345678900", "Sem Documento", [invoice("X1", "10.00", 20)])  # bad CPF
    answers = [
        hubsoft.consult(ANA),
        hubsoft.trust_unlock(ANA, None, TODAY + timedelta(days=1)),
        hubsoft.overdue(OverdueFilter(), None),
    ]
    failures = []
    for broken in (HubsoftBilling(config(url, password="wrong"), timeout=1.0), hubsoft):
        sim.error_envelope = broken is hubsoft
        with pytest.raises(CrmUnavailable) as failure:
            broken.consult(ANA)
        failures.append(str(failure.value))

    logged = caplog.text
    assert "without a usable document" in logged  # the adapter did log
    seen = repr(answers) + repr(failures) + logged
    assert [secret for secret in SECRETS if secret in seen] == []


def test_overdue_walks_thirty_day_windows_back_to_the_filter_limit(
    sim: HubsoftSimulator, hubsoft: HubsoftBilling
) -> None:
    sim.add_debtor(
        ANA,
        "Ana Silva",
        [invoice("A1", "89.90", 40), invoice("A2", "89.90", 70)],
        phones=("11970000001", "1133334444"),
    )
    sim.add_debtor(BRUNO, "Bruno Souza", [invoice("B1", "30.00", 12)])
    filters = OverdueFilter(min_days_overdue=10, max_days_overdue=80)

    pages, cursor = [], None
    while True:
        page = hubsoft.overdue(filters, cursor)
        pages.append(page)
        if (cursor := page.cursor) is None:
            break

    assert len(pages) == 3  # days 10-39, 40-69, 70-80
    windows = [(q["data_inicio"], q["data_fim"]) for p, q in sim.requests if p == "financeiro"]
    assert windows[0] == ((TODAY - timedelta(days=39)).isoformat(), (TODAY - timedelta(days=10)).isoformat())
    assert windows[-1][0] == (TODAY - timedelta(days=80)).isoformat()
    found = [(d.document, d.total) for page in pages for d in page.debts]
    assert sorted(found) == sorted(
        [(ANA, Decimal("89.90")), (ANA, Decimal("89.90")), (BRUNO, Decimal("30.00"))]
    )
    assert pages[1].phones == {ANA: ("11970000001", "1133334444")}


def test_overdue_contract_status_and_minimum_amount(sim: HubsoftSimulator, hubsoft: HubsoftBilling) -> None:
    sim.add_debtor(ANA, "Ana Silva", [invoice("A1", "89.90", 15)])
    sim.add_debtor(BRUNO, "Bruno Souza", [invoice("B1", "89.90", 15)], service_status="servico_habilitado")
    sim.add_debtor("11144477735", "Carla Lima", [invoice("C1", "20.00", 15)])

    page = hubsoft.overdue(OverdueFilter(contract_status="suspenso_debito", min_amount="50"), None)

    assert [d.document for d in page.debts] == [ANA]


# --- against recorded responses -----------------------------------------------------------------

TOKEN = (200, "oauth_token.json")
FOUND = (200, "cliente_found.json")
CUSTOMER, FINANCE = "/api/v1/integracao/cliente", "/api/v1/integracao/cliente/financeiro"


def test_recorded_customer_owes_with_brazilian_dates_and_the_suscess_spelling(clock: object) -> None:
    hubsoft, replay = replayed(
        {"/oauth/token": TOKEN, CUSTOMER: FOUND, FINANCE: (200, "cliente_financeiro.json")}
    )

    debt = hubsoft.consult("41107296617")

    assert debt is not None and debt.name == "GUILHERME DA COSTA COUTO"
    boleto, debit = debt.invoices
    assert boleto.number == "43653" and boleto.amount == Decimal("10.00")
    assert boleto.due_date == date(2025, 2, 10) and boleto.contract_id == "22703"
    assert boleto.pix_copia_cola and boleto.linha_digitavel and boleto.link
    assert debit.amount == Decimal("119.90") and debit.pix_copia_cola is None and debit.link is None
    assert "Radius#Secret" not in repr(debt)
    grant = json.loads(replay.requests[0].content)
    assert grant == {
        "grant_type": "password",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "username": USERNAME,
        "password": PASSWORD,
    }
    bearer = "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.recorded"
    assert all(r.headers["authorization"] == bearer for r in replay.requests[1:])


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        ({CUSTOMER: (200, "cliente_not_found.json")}, "unknown"),
        ({CUSTOMER: FOUND, FINANCE: (200, "cliente_financeiro_none.json")}, "nothing"),
        ({CUSTOMER: (200, "error_envelope.json")}, "unavailable"),
        ({CUSTOMER: FOUND, FINANCE: (200, "error_envelope.json")}, "unavailable"),
        ({"/oauth/token": (401, "oauth_invalid_credentials.json")}, "unavailable"),
        ({CUSTOMER: (200, "../sgp/login_page.html")}, "unavailable"),
        ({CUSTOMER: (503, "error_envelope.json")}, "unavailable"),
        ({CUSTOMER: TIMEOUT}, "unavailable"),
    ],
    ids=[
        "not-found",
        "nothing-open",
        "error-as-200",
        "error-as-200-finance",
        "auth",
        "html",
        "5xx",
        "timeout",
    ],
)
def test_recorded_answers_map_to_the_domain(
    clock: object, routes: dict[str, tuple[int, str]], expected: str
) -> None:
    hubsoft, _ = replayed({"/oauth/token": TOKEN} | routes)
    if expected == "unavailable":
        with pytest.raises(CrmUnavailable):
            hubsoft.consult("41107296617")
        return
    debt = hubsoft.consult("41107296617")
    assert (debt is None) if expected == "unknown" else (debt is not None and debt.invoices == ())


def test_a_token_refused_after_renewal_is_unavailable(clock: object) -> None:
    hubsoft, replay = replayed({"/oauth/token": TOKEN, CUSTOMER: (401, "unauthenticated.json")})

    with pytest.raises(CrmUnavailable, match="HTTP 401"):
        hubsoft.consult("41107296617")

    assert replay.paths() == ["/oauth/token", CUSTOMER, "/oauth/token", CUSTOMER]


@pytest.mark.parametrize(
    ("fixture", "status"),
    [("desbloqueio_ok.json", UnlockStatus.UNLOCKED), ("desbloqueio_refused.json", UnlockStatus.REFUSED)],
)
def test_recorded_trust_unlock(clock: object, fixture: str, status: UnlockStatus) -> None:
    hubsoft, replay = replayed(
        {"/oauth/token": TOKEN, "/api/v1/integracao/cliente/desbloqueio_confianca": (200, fixture)}
    )

    result = hubsoft.trust_unlock("41107296617", "22703", TODAY + timedelta(days=3))

    assert result.status is status and result.contract_id == "22703"
    assert json.loads(replay.requests[-1].content) == {"id_cliente_servico": "22703", "dias_desbloqueio": "3"}
    if status is UnlockStatus.UNLOCKED:
        assert result.until == date(2025, 3, 13)  # read from the ERP's message
    else:
        assert result.reason and "excede o máximo" in result.reason


def test_recorded_listing_folds_unpaid_invoices_with_string_amounts(clock: object) -> None:
    hubsoft, replay = replayed(
        {"/oauth/token": TOKEN, "/api/v1/integracao/financeiro": (200, "financeiro_listing.json")}
    )

    page = hubsoft.overdue(OverdueFilter(min_days_overdue=30, max_days_overdue=40), None)

    assert [(d.document, d.total, len(d.invoices)) for d in page.debts] == [
        ("41107296617", Decimal("160.20"), 2)  # the paid invoice of the other customer is left out
    ]
    assert page.phones == {"41107296617": ("37999091234", "373415100")}
    assert page.cursor is None
    assert replay.requests[-1].url.params["data_inicio"] == (TODAY - timedelta(days=40)).isoformat()
