"""Contract tests of the IXC Soft adapter: against the loopback simulator, and against the responses
recorded in the ERP reference (`recorded/ixc`). Each ERP answer maps to one domain answer: owes,
nothing open, unknown customer (None), or unknown (`CrmUnavailable`: fail closed)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.ixc import IxcSimulator
from shared.adapters.billing import OverdueFilter, UnlockStatus
from shared.adapters.crm import CrmUnavailable, Debt
from shared.adapters.erp.ixc import NO_SUSPENDED_CONTRACT, NOT_THIS_CUSTOMER, PAGE_ROWS, IxcBilling
from shared.adapters.erp.ixc_wire import UNLOCK_REFUSALS
from shared.core.config import IxcConfig
from shared.core.observability import logger
from shared.domain.errors import NotFound
from tests.integration.erp.conftest import CLIENT_TIMEOUT, Replay, recorded_response

CPF = "11144477735"
OTHER_CPF = "52998224725"
USER_ID, TOKEN = "7", "ixc-test-token"
RECORDED_PASSWORD = "Maria@1980-plaintext"  # the senha in recorded/ixc/cliente_found.json
TODAY = date(2025, 3, 10)  # the `clock` fixture's day in São Paulo

pytestmark = pytest.mark.usefixtures("clock")

Sim = tuple[IxcSimulator, str]
ReplayFactory = Callable[..., Replay]


def billing(url: str, *, token: str = TOKEN, page_rows: int = PAGE_ROWS) -> IxcBilling:
    config = IxcConfig(url, USER_ID, SecretStr(token))
    return IxcBilling(config, timeout=CLIENT_TIMEOUT, page_rows=page_rows)


def replayed(replay: Replay) -> IxcBilling:
    return IxcBilling(IxcConfig("http://ixc.example", USER_ID, SecretStr(TOKEN)), client=replay.client())


# -- recorded responses ------------------------------------------------------------------------------


def test_recorded_customer_with_open_titles_owes(replay: ReplayFactory) -> None:
    recording = replay("ixc", cliente=["cliente_found"], fn_areceber=["fn_areceber_open"])

    debt = replayed(recording).consult(CPF)

    assert debt is not None and debt.name == "MARIA DE SOUZA" and debt.document == CPF
    assert [(i.number, i.amount, i.due_date, i.contract_id) for i in debt.invoices] == [
        ("145535", Decimal("26.00"), date(2024, 11, 21), "2309"),  # contract in id_contrato_avulso
        ("151020", Decimal("49.90"), date(2025, 1, 21), "2309"),  # partly paid: valor_aberto is due
    ]
    assert debt.invoices[0].days_overdue == (TODAY - date(2024, 11, 21)).days
    assert debt.invoices[1].linha_digitavel and debt.invoices[1].link == "https://boleto.example/151020"
    assert debt.total == Decimal("75.90") and debt.has_open(TODAY)


def test_recorded_customer_without_open_titles_has_nothing_open(replay: ReplayFactory) -> None:
    recording = replay("ixc", cliente=["cliente_found"], fn_areceber=["fn_areceber_none"])

    debt = replayed(recording).consult(CPF)

    assert debt is not None and debt.invoices == () and not debt.has_open(TODAY)


def test_recorded_title_older_than_five_years_is_never_collectible(replay: ReplayFactory) -> None:
    recording = replay("ixc", cliente=["cliente_found"], fn_areceber=["fn_areceber_time_barred"])

    debt = replayed(recording).consult(CPF)

    assert debt is not None and len(debt.invoices) == 1
    assert not debt.has_open(TODAY) and debt.collectible_total(TODAY) == Decimal("0.00")


def test_recorded_unknown_document_is_looked_up_masked_then_digits(replay: ReplayFactory) -> None:
    recording = replay("ixc", cliente=["cliente_not_found"])

    assert replayed(recording).consult(CPF) is None
    assert [body["query"] for body in recording.bodies("cliente")] == ["111.444.777-35", CPF]


def test_recorded_list_requests_speak_ixc(replay: ReplayFactory) -> None:
    recording = replay("ixc", cliente=["cliente_found"], fn_areceber=["fn_areceber_open"])

    replayed(recording).consult(CPF)

    expected_auth = "Basic " + base64.b64encode(f"{USER_ID}:{TOKEN}".encode()).decode()
    for request in recording.requests:
        assert request.method == "POST" and request.url.path.startswith("/webservice/v1/")
        assert request.headers["authorization"] == expected_auth
        assert request.headers["ixcsoft"] == "listar"
        assert all(isinstance(value, str) for value in json.loads(request.content).values())
    [receivables] = recording.bodies("fn_areceber")
    assert receivables["qtype"] == "fn_areceber.id_cliente" and receivables["query"] == "2"
    assert json.loads(str(receivables["grid_param"])) == [
        {"TB": "fn_areceber.liberado", "OP": "=", "P": "S"},
        {"TB": "fn_areceber.status", "OP": "!=", "P": "C"},
        {"TB": "fn_areceber.status", "OP": "!=", "P": "R"},
    ]


@pytest.mark.parametrize(
    ("cliente", "fn_areceber"),
    [
        pytest.param("cliente_found", "error_200", id="error-as-200"),
        pytest.param("auth_401", "fn_areceber_open", id="auth-failure-401-html"),
        pytest.param("html_200", "fn_areceber_open", id="html-instead-of-json"),
        pytest.param("cliente_found", "get_pix_unknown_500", id="http-5xx"),
        pytest.param(Replay.TIMEOUT, "fn_areceber_open", id="timeout"),
        pytest.param("cliente_found", Replay.TIMEOUT, id="timeout-on-titles"),
    ],
)
def test_recorded_unusable_answers_are_unknown(replay: ReplayFactory, cliente: str, fn_areceber: str) -> None:
    recording = replay("ixc", cliente=[cliente], fn_areceber=[fn_areceber])

    with pytest.raises(CrmUnavailable):
        replayed(recording).consult(CPF)


@pytest.mark.parametrize(
    ("get_pix", "expected"),
    [
        ("get_pix_ativa", "00020101021226900014br.gov.bcb.pix"),
        ("get_pix_concluida", None),
        ("get_pix_no_gateway", None),
    ],
)
def test_recorded_pix_is_offered_only_while_active(
    replay: ReplayFactory, get_pix: str, expected: str | None
) -> None:
    recording = replay("ixc", cliente=["cliente_found"], fn_areceber=["fn_areceber_open"], get_pix=[get_pix])

    means = replayed(recording).payment_means(CPF, "151020")

    assert means.invoice_number == "151020"
    if expected is None:
        assert means.pix_copia_cola is None
    else:
        assert means.pix_copia_cola and means.pix_copia_cola.startswith(expected)
    assert means.linha_digitavel == "34191.09008 15102.000000 00000.000000 1 10000000004990"
    assert means.pdf_link == "https://boleto.example/151020"
    assert recording.bodies("get_pix") == [{"id_areceber": "151020"}]
    assert all("ixcsoft" not in r.headers for r in recording.requests if r.url.path.endswith("/get_pix"))


def test_recorded_pix_of_an_unknown_title_is_unknown(replay: ReplayFactory) -> None:
    recording = replay(
        "ixc", cliente=["cliente_found"], fn_areceber=["fn_areceber_open"], get_pix=["get_pix_unknown_500"]
    )

    with pytest.raises(CrmUnavailable):
        replayed(recording).payment_means(CPF, "151020")


@pytest.mark.parametrize(
    ("after", "until"),
    [
        ("cliente_contrato_unlocked", date(2025, 3, 13)),
        ("error_200", None),  # the unlock happened: an unreadable end date does not make it unknown
    ],
)
def test_recorded_trust_unlock_reports_the_date_ixc_set(
    replay: ReplayFactory, after: str, until: date | None
) -> None:
    recording = replay(
        "ixc",
        cliente=["cliente_found"],
        cliente_contrato=["cliente_contrato_suspended", after],
        desbloqueio_confianca=["desbloqueio_sucesso"],
    )

    result = replayed(recording).trust_unlock(CPF, "2309", TODAY + timedelta(days=5))

    assert (result.status, result.contract_id, result.until) == (UnlockStatus.UNLOCKED, "2309", until)
    assert recording.bodies("desbloqueio_confianca") == [{"id": "2309"}]


@pytest.mark.parametrize("code", ["113", "107"])
def test_recorded_trust_unlock_refusal_keeps_the_code_and_explains_it(
    replay: ReplayFactory, code: str
) -> None:
    recording = replay(
        "ixc",
        cliente=["cliente_found"],
        cliente_contrato=["cliente_contrato_suspended"],
        desbloqueio_confianca=[f"desbloqueio_{code}"],
    )

    result = replayed(recording).trust_unlock(CPF, "2309", TODAY + timedelta(days=5))

    assert (result.status, result.code, result.until) == (UnlockStatus.REFUSED, code, None)
    assert result.reason == UNLOCK_REFUSALS[code]


def test_recorded_passwords_never_reach_the_domain_or_the_logs(
    replay: ReplayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    found = replay("ixc", cliente=["cliente_found"], fn_areceber=["fn_areceber_open"])
    failing = replay("ixc", cliente=["cliente_found"], fn_areceber=["error_200"])

    debt = replayed(found).consult(CPF)
    with pytest.raises(CrmUnavailable) as failure:
        replayed(failing).consult(CPF)

    assert RECORDED_PASSWORD in recorded_response("ixc", "cliente_found").text  # IXC did send it
    assert RECORDED_PASSWORD not in repr(debt) and RECORDED_PASSWORD not in str(failure.value)
    logged = "\n".join(logger.registered_formatter.format(record) for record in caplog.records)
    assert "ixc answer unusable" in logged  # the failure was logged...
    assert RECORDED_PASSWORD not in logged  # ...without the row it came with


# -- the simulator -----------------------------------------------------------------------------------


def seed_debtor(
    sim: IxcSimulator, *, masked: bool = True, field: str = "id_contrato"
) -> tuple[str, str, str]:
    customer = sim.add_customer(
        CPF, "Ana Silva", phones=("(49) 99999-0001",), password="pppoe-S3cret", masked=masked
    )
    contract = sim.add_contract(customer)
    invoice = sim.add_invoice(
        customer, Decimal("89.90"), TODAY - timedelta(days=20), contract_id=contract, contract_field=field
    )
    return customer, contract, invoice


@pytest.mark.parametrize("field", ["id_contrato", "id_contrato_avulso", "id_contrato_principal"])
def test_simulator_debtor_owes_with_the_contract_found_in_any_field(ixc_sim: Sim, field: str) -> None:
    sim, url = ixc_sim
    _, contract, invoice = seed_debtor(sim, field=field)

    debt = billing(url).consult(CPF)

    assert isinstance(debt, Debt) and debt.name == "Ana Silva"
    [only] = debt.invoices
    assert (only.number, only.amount, only.days_overdue, only.contract_id) == (
        invoice,
        Decimal("89.90"),
        20,
        contract,
    )


def test_simulator_document_stored_without_mask_is_found_by_digits(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    seed_debtor(sim, masked=False)

    debt = billing(url).consult(CPF)

    assert debt is not None and debt.has_open(TODAY)
    assert [r.body["query"] for r in sim.calls_to("cliente")] == ["111.444.777-35", CPF]


def test_simulator_paid_and_unknown_customers(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    _, _, invoice = seed_debtor(sim)
    sim.pay(invoice)
    client = billing(url)

    paid = client.consult(CPF)

    assert paid is not None and not paid.has_open(TODAY)
    assert client.consult(OTHER_CPF) is None


@pytest.mark.parametrize("outage", ["http_500", "timeout", "html", "error_200"])
def test_simulator_outages_are_unknown(ixc_sim: Sim, outage: str) -> None:
    sim, url = ixc_sim
    seed_debtor(sim)
    sim.outage = outage  # type: ignore[assignment]

    with pytest.raises(CrmUnavailable):
        billing(url).consult(CPF)


def test_simulator_wrong_token_is_unknown(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    seed_debtor(sim)

    with pytest.raises(CrmUnavailable, match="HTTP 401"):
        billing(url, token="wrong").consult(CPF)


def test_simulator_payment_means_render_the_boleto_read_only_once(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    _, _, invoice = seed_debtor(sim)
    client = billing(url)

    first = client.payment_means(CPF, invoice)
    second = client.payment_means(CPF, invoice)

    assert first.linha_digitavel and first.linha_digitavel == second.linha_digitavel
    assert first.pix_copia_cola and first.pix_copia_cola.startswith("000201")
    boletos = sim.calls_to("get_boleto")
    assert len(boletos) == 1 and boletos[0].body["atualiza_boleto"] == "N" and not sim.rewritten_charges


def test_simulator_pix_refused_still_leaves_the_boleto(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    _, _, invoice = seed_debtor(sim)
    sim.pix_gateway = False

    means = billing(url).payment_means(CPF, invoice)

    assert means.pix_copia_cola is None and means.linha_digitavel


def test_simulator_payment_means_of_another_customers_title_is_not_found(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    _, _, invoice = seed_debtor(sim)
    sim.add_customer(OTHER_CPF, "Bruno Souza")

    with pytest.raises(NotFound):
        billing(url).payment_means(OTHER_CPF, invoice)
    assert not sim.calls_to("get_pix")


def test_simulator_trust_unlock_once_per_unpaid_cycle(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    _, contract, invoice = seed_debtor(sim)
    client = billing(url)

    unlocked = client.trust_unlock(CPF, None, TODAY + timedelta(days=3))
    sim.block(contract)  # the period ended unpaid
    refused = client.trust_unlock(CPF, contract, TODAY + timedelta(days=3))
    sim.pay(invoice)
    again = client.trust_unlock(CPF, contract, TODAY + timedelta(days=3))

    assert (unlocked.status, unlocked.contract_id, unlocked.until) == (
        UnlockStatus.UNLOCKED,
        contract,
        TODAY + timedelta(days=sim.unlock_days),
    )
    assert (refused.status, refused.code, refused.reason) == (
        UnlockStatus.REFUSED,
        "113",
        UNLOCK_REFUSALS["113"],
    )
    assert again.status is UnlockStatus.UNLOCKED
    assert [r.body for r in sim.calls_to("desbloqueio_confianca")] == [{"id": contract}] * 3
    assert all("ixcsoft" not in r.headers for r in sim.calls_to("desbloqueio_confianca"))


def test_simulator_trust_unlock_never_touches_another_customers_contract(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    _, contract, _ = seed_debtor(sim)
    sim.add_customer(OTHER_CPF, "Bruno Souza")

    foreign = billing(url).trust_unlock(OTHER_CPF, contract, TODAY + timedelta(days=3))
    nothing = billing(url).trust_unlock(OTHER_CPF, None, TODAY + timedelta(days=3))

    assert (foreign.status, foreign.reason) == (UnlockStatus.REFUSED, NOT_THIS_CUSTOMER)
    assert (nothing.status, nothing.reason) == (UnlockStatus.REFUSED, NO_SUSPENDED_CONTRACT)
    assert not sim.calls_to("desbloqueio_confianca")


def test_simulator_overdue_pages_every_customer_once_with_filters(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    documents = ["11144477735", "52998224725", "39053344705", "86288366757"]
    for n, document in enumerate(documents):
        customer = sim.add_customer(document, f"Cliente {n}", phones=(f"(49) 99999-000{n}",))
        contract = sim.add_contract(customer, internet_status="CA" if n != 3 else "A")
        for months in (1, 2, 3):  # three titles each, so customers straddle pages of two rows
            sim.add_invoice(
                customer,
                Decimal("50.00") * (n + 1),
                TODAY - timedelta(days=30 * months),
                contract_id=contract,
            )
    sim.add_invoice(customer, Decimal("10.00"), TODAY + timedelta(days=5))  # not overdue yet
    client = billing(url, page_rows=2)

    def sync(filters: OverdueFilter) -> list[Debt]:
        debts, cursor, pages = [], None, 0
        while True:
            page = client.overdue(filters, cursor)
            debts.extend(page.debts)
            pages += 1
            if page.cursor is None:
                return debts
            assert pages < 20, "the cursor must advance"
            cursor = page.cursor

    everyone = sync(OverdueFilter())
    blocked_from_300 = sync(OverdueFilter(min_amount="300.00", contract_status="CA"))

    assert [d.document for d in everyone] == documents
    assert [len(d.invoices) for d in everyone] == [3, 3, 3, 4]  # a customer's whole open debt
    assert everyone[0].total == Decimal("150.00")
    assert [d.document for d in blocked_from_300] == documents[1:3]
    page = client.overdue(OverdueFilter(min_days_overdue=1, max_days_overdue=45), None)
    assert page.phones[documents[0]] == ("(49) 99999-0000",)


def test_simulator_duplicate_registrations_of_one_document_fold_into_one_debt(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    seed_debtor(sim)
    duplicate = sim.add_customer(CPF, "Ana Silva", phones=("(49) 98888-0002",))
    sim.add_invoice(duplicate, Decimal("10.10"), TODAY - timedelta(days=40))
    client = billing(url)

    debt = client.consult(CPF)
    page = client.overdue(OverdueFilter(), None)

    assert debt is not None and debt.total == Decimal("100.00") and len(debt.invoices) == 2
    assert [d.document for d in page.debts] == [CPF, CPF]
    assert page.phones[CPF] == ("(49) 99999-0001", "(49) 98888-0002")


def test_simulator_seeds_a_demo_debtor_and_pays_it_like_the_crm_simulator(ixc_sim: Sim) -> None:
    sim, url = ixc_sim
    sim.add_debtor(
        CPF,
        "Ana Silva",
        [
            SimInvoice("F-1", Decimal("89.90"), TODAY - timedelta(days=10)),
            SimInvoice("F-2", Decimal("89.90"), TODAY),
        ],
        phones=("(49) 99999-0001",),
    )
    client = billing(url)

    owing = client.consult(CPF)
    sim.pay_all(CPF)
    paid = client.consult(CPF)

    assert (
        owing is not None
        and owing.total == Decimal("179.80")
        and {i.contract_id for i in owing.invoices} != {None}
    )
    assert paid is not None and paid.invoices == ()
