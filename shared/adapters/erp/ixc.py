"""IXC Soft (IXC Provedor) behind the `BillingSystem` port, over `https://<host>/webservice/v1/<tabela>`.

Basic auth `user_id:token`; list calls are POSTs with `ixcsoft: listar` and a body of strings (see
`ixc_wire`); actions (`get_pix`, `get_boleto`, `desbloqueio_confianca`) are POSTs without it. IXC
stores CPF/CNPJ masked, not consistently, so a customer is looked up masked first, then by digits.
Timeouts, non-200 answers (401 with an HTML page for a wrong token, 5xx), HTML where JSON was expected
and `{"type": "error"}` envelopes (sent with HTTP 200) all raise `CrmUnavailable`: unknown, fail
closed. Only allow-listed fields leave `ixc_wire`, so the plaintext passwords IXC returns in its
rows are never stored or logged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx

from shared.adapters.billing import OverdueFilter, OverduePage, PaymentMeans, UnlockResult, UnlockStatus
from shared.adapters.crm import CrmUnavailable, Debt, Invoice, normalize_phones
from shared.adapters.erp import ixc_wire as wire
from shared.adapters.erp.wire import first_unlocked, local_today
from shared.core.config import IxcConfig
from shared.core.observability import logger
from shared.domain.documents import format_document
from shared.domain.errors import NotFound
from shared.domain.money import ZERO, parse_money

# IXC is a Brazilian system: its dates (due dates, `nao_bloquear_ate`) are São Paulo days.
IXC_ZONE: Final = ZoneInfo("America/Sao_Paulo")
# `get_boleto` renders a PDF: about 2 s measured, so it gets its own, longer timeout.
BOLETO_TIMEOUT_SECONDS: Final = 25.0
PAGE_ROWS: Final = 100
NO_SUSPENDED_CONTRACT: Final = "Não há contrato com a internet bloqueada para liberar."
NOT_THIS_CUSTOMER: Final = "Esse contrato não pertence a esse cliente."


class IxcBilling:
    """The IXC adapter: `consult`, `payment_means`, `trust_unlock`, `overdue` (see `BillingSystem`)."""

    def __init__(
        self,
        config: IxcConfig,
        *,
        timeout: float = 8.0,
        boleto_timeout: float = BOLETO_TIMEOUT_SECONDS,
        client: httpx.Client | None = None,
        page_rows: int = PAGE_ROWS,
    ) -> None:
        self._base = f"{config.url}/webservice/v1"
        self._auth = httpx.BasicAuth(config.user_id, config.token.get_secret_value())
        self._http = client or httpx.Client(timeout=timeout)
        self._timeout = timeout
        self._boleto_timeout = boleto_timeout
        self._page_rows = page_rows

    # -- the port ---------------------------------------------------------------------------------

    def consult(self, document: str) -> Debt | None:
        """The open receivables of every IXC customer registered under `document` (duplicates
        included); None when IXC knows no such customer."""
        customers = self._customers_by_document(document)
        if not customers:
            return None
        return self._debt(customers, document)

    def payment_means(self, document: str, invoice_number: str) -> PaymentMeans:
        """The title's boleto line and payment link from `fn_areceber`, and its Pix from `get_pix`
        (only while `ATIVA`). A title without a line yet is rendered once by `get_boleto` (read-only),
        which registers the line. Raises `NotFound` when the number is not an open title of
        `document`."""
        customer_ids = {customer.id for customer in self._customers_by_document(document)}
        invoice, printed = self._open_invoice(invoice_number, customer_ids)
        linha = invoice.linha_digitavel
        if linha is None and not printed:
            self._render_boleto(invoice_number)
            linha = self._open_invoice(invoice_number, customer_ids)[0].linha_digitavel
        return PaymentMeans(
            invoice_number=invoice_number,
            pix_copia_cola=self._pix(invoice_number),
            linha_digitavel=linha,
            pdf_link=invoice.link,
        )

    def trust_unlock(self, document: str, contract_id: str | None, until: date) -> UnlockResult:
        """`desbloqueio_confianca` for `contract_id`, or for each suspended contract of `document`
        when None. IXC takes no period: its own rule decides it, and the result carries the date IXC
        set (`nao_bloquear_ate`) rather than `until`. A contract of another customer is refused
        without asking IXC."""
        customers = self._customers_by_document(document)
        contracts = [c for customer in customers for c in self._contracts(customer.id)]
        if contract_id is not None:
            if not any(contract.id == contract_id for contract in contracts):
                return UnlockResult(UnlockStatus.REFUSED, contract_id=contract_id, reason=NOT_THIS_CUSTOMER)
            return self._unlock(contract_id)
        suspended = [contract.id for contract in contracts if contract.suspended]
        if not suspended:
            return UnlockResult(UnlockStatus.REFUSED, reason=NO_SUSPENDED_CONTRACT)
        return first_unlocked([self._unlock(contract) for contract in suspended])

    def overdue(self, filters: OverdueFilter, cursor: str | None) -> OverduePage:
        """One page of customers with an open title due within the filter's days, in customer-id
        order; `cursor` is the last customer id of the previous page (keyset paging, so a re-run
        or a resume after a failure reads the same customers). `contract_status` matches a contract's
        `status_internet` (e.g. `CA`, `FA`); `min_amount` the customer's collectible total."""
        today = self._today()
        body = wire.list_body(
            "fn_areceber.id_cliente",
            cursor or "0",
            oper=">",
            rows=self._page_rows,
            sortname="fn_areceber.id_cliente",
            grid=(*wire.OPEN_INVOICE_FILTERS, *_due_window(filters, today)),
        )
        page = self._list("fn_areceber", body)
        customer_ids = list(dict.fromkeys(wire.receivable_customer(row) for row in page.rows))
        more = page.has_more(self._page_rows)
        if more and len(customer_ids) > 1:
            customer_ids.pop()  # its titles may continue on the next page: it starts the next one
        minimum = _min_amount(filters)
        debts: list[Debt] = []
        phones: dict[str, tuple[str, ...]] = {}
        for customer_id in customer_ids:
            customer = self._customer_by_id(customer_id)
            if customer is None or not self._contract_matches(customer.id, filters.contract_status):
                continue
            debt = self._debt([customer], customer.document)
            if debt.has_open(today) and debt.collectible_total(today) >= minimum:
                debts.append(debt)
                # duplicate registrations of one document: the sync folds their debts, keep all phones
                known = phones.get(customer.document, ())
                phones[customer.document] = tuple(dict.fromkeys((*known, *customer.phones)))
        next_cursor = customer_ids[-1] if more and customer_ids else None
        return OverduePage(debts=tuple(debts), phones=phones, cursor=next_cursor)

    # -- reads ------------------------------------------------------------------------------------

    def _customers_by_document(self, document: str) -> list[wire.IxcCustomer]:
        masked = format_document(document)
        for query in dict.fromkeys((masked, "".join(ch for ch in masked if ch.isalnum()))):
            rows = self._list_all("cliente", "cliente.cnpj_cpf", query, sortname="cliente.id")
            if rows:
                return [wire.parse_customer(row) for row in rows]
        return []

    def _customer_by_id(self, customer_id: str) -> wire.IxcCustomer | None:
        rows = self._list_all("cliente", "cliente.id", customer_id, sortname="cliente.id")
        return wire.parse_customer(rows[0]) if rows else None

    def _contracts(self, customer_id: str) -> list[wire.IxcContract]:
        rows = self._list_all(
            "cliente_contrato", "cliente_contrato.id_cliente", customer_id, sortname="cliente_contrato.id"
        )
        return [wire.parse_contract(row) for row in rows]

    def _contract_matches(self, customer_id: str, internet_status: str | None) -> bool:
        if not internet_status:
            return True
        wanted = internet_status.strip().upper()
        return any(contract.internet_status == wanted for contract in self._contracts(customer_id))

    def _debt(self, customers: list[wire.IxcCustomer], document: str) -> Debt:
        today = self._today()
        invoices: list[Invoice] = []
        for customer in customers:
            rows = self._list_all(
                "fn_areceber",
                "fn_areceber.id_cliente",
                customer.id,
                sortname="fn_areceber.data_vencimento",
                grid=wire.OPEN_INVOICE_FILTERS,
            )
            invoices.extend(inv for row in rows if (inv := wire.parse_open_invoice(row, today)))
        invoices.sort(key=lambda inv: (inv.due_date, inv.number))
        return Debt(
            name=next((c.name for c in customers if c.name), ""),
            document=document,
            total=sum((inv.amount for inv in invoices), ZERO),
            invoices=tuple(invoices),
            phones=normalize_phones(phone for customer in customers for phone in customer.phones),
        )

    def _open_invoice(self, invoice_number: str, customer_ids: set[str]) -> tuple[Invoice, bool]:
        """The open title `invoice_number` of one of `customer_ids`, and whether IXC printed it."""
        today = self._today()
        rows = self._list_all("fn_areceber", "fn_areceber.id", invoice_number, sortname="fn_areceber.id")
        for row in rows:
            if (
                str(row.get("id", "")).strip() == invoice_number
                and wire.receivable_customer(row) in customer_ids
            ):
                invoice = wire.parse_open_invoice(row, today)
                if invoice is not None:
                    return invoice, wire.is_printed(row)
        raise NotFound(f"invoice {invoice_number} is not an open invoice of this customer")

    def _pix(self, invoice_number: str) -> str | None:
        response = self._post("get_pix", {"id_areceber": invoice_number})
        code = self._parsed(wire.parse_pix, _json(response, "get_pix"), "get_pix")
        if code is None:
            logger.info("ixc has no active pix for the invoice", invoice=invoice_number)
        return code

    def _render_boleto(self, invoice_number: str) -> None:
        response = self._post("get_boleto", wire.boleto_body(invoice_number), timeout=self._boleto_timeout)
        if not wire.is_pdf(response.content):
            raise CrmUnavailable(f"IXC get_boleto for {invoice_number} did not answer a PDF")

    # -- writes -----------------------------------------------------------------------------------

    def _unlock(self, contract_id: str) -> UnlockResult:
        response = self._post("desbloqueio_confianca", {"id": contract_id})
        result = self._parsed(
            lambda body: wire.parse_unlock(body, contract_id),
            _json(response, "desbloqueio_confianca"),
            "desbloqueio_confianca",
        )
        logger.info("ixc trust unlock", contract=contract_id, status=result.status.value, code=result.code)
        if result.status is not UnlockStatus.UNLOCKED:
            return result
        try:  # the unlock happened: a failed read of its end date must not turn it into "unknown"
            rows = self._list_all(
                "cliente_contrato", "cliente_contrato.id", contract_id, sortname="cliente_contrato.id"
            )
            until = wire.parse_contract(rows[0]).blocked_until if rows else None
        except (CrmUnavailable, wire.IxcWireError):
            until = None
        return UnlockResult(UnlockStatus.UNLOCKED, contract_id=contract_id, until=until)

    # -- transport --------------------------------------------------------------------------------

    def _list_all(
        self,
        table: str,
        qtype: str,
        query: str,
        *,
        sortname: str,
        grid: tuple[wire.GridFilter, ...] = (),
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page_number = 1
        while True:
            body = wire.list_body(
                qtype, query, page=page_number, rows=self._page_rows, sortname=sortname, grid=grid
            )
            page = self._list(table, body)
            rows.extend(dict(row) for row in page.rows)
            if not page.has_more(self._page_rows):
                return rows
            page_number += 1

    def _list(self, table: str, body: dict[str, str]) -> wire.ListPage:
        response = self._post(table, body, headers=wire.LIST_HEADERS)
        return self._parsed(wire.parse_list, _json(response, table), table)

    def _post(
        self,
        path: str,
        body: dict[str, str],
        *,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        url = f"{self._base}/{path}"
        try:
            response = self._http.post(
                url, json=body, headers=headers, auth=self._auth, timeout=timeout or self._timeout
            )
        except httpx.HTTPError as exc:
            raise _unavailable(path, f"request failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise _unavailable(path, f"HTTP {response.status_code}")
        return response

    @staticmethod
    def _parsed(parse: Callable[[Any], Any], body: Any, path: str) -> Any:
        try:
            return parse(body)
        except wire.IxcWireError as exc:
            raise _unavailable(path, str(exc)) from None

    @staticmethod
    def _today() -> date:
        return local_today(IXC_ZONE)


def _json(response: httpx.Response, path: str) -> Any:
    """IXC's JSON whatever the content type says (`text/x-json`, or `text/html` on errors); an HTML
    page (a login or proxy page, a wrong base URL) is unknown."""
    try:
        return response.json()
    except ValueError:
        raise _unavailable(path, "answer is not JSON") from None


def _unavailable(path: str, reason: str) -> CrmUnavailable:
    logger.warning("ixc answer unusable", endpoint=path, reason=reason)
    return CrmUnavailable(f"IXC {path}: {reason}")


def _due_window(filters: OverdueFilter, today: date) -> tuple[wire.GridFilter, ...]:
    """Titles due at least `min_days_overdue` (and at most `max_days_overdue`) days ago."""
    latest = today - timedelta(days=max(filters.min_days_overdue, 0))
    window = [wire.GridFilter("fn_areceber.data_vencimento", "<=", latest.isoformat())]
    if filters.max_days_overdue is not None:
        earliest = today - timedelta(days=filters.max_days_overdue)
        window.append(wire.GridFilter("fn_areceber.data_vencimento", ">=", earliest.isoformat()))
    return tuple(window)


def _min_amount(filters: OverdueFilter) -> Decimal:
    if filters.min_amount is None:
        return ZERO
    return parse_money(filters.min_amount)
