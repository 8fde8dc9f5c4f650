"""Hubsoft through its integration API: `{HUBSOFT_API_URL}/api/v1/integracao/...`.

Auth is the OAuth2 password grant (`POST /oauth/token` with `client_id`, `client_secret`,
`username`, `password`); the token lasts 30 days but can be revoked early, so it is cached and
renewed once on a 401. Errors come back with HTTP 200 as `{"status": "error", "msg": ...}` (and
success is sometimes spelled "suscess", so only "error" is tested). The key of a contract is the
service, `id_cliente_servico`: invoices, trust unlock and disconnection all take it. Customer records
carry the service's plaintext PPPoE `senha`; it is never read here.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.adapters.billing import (
    OverdueFilter,
    OverduePage,
    PaymentMeans,
    UnlockResult,
    UnlockStatus,
)
from shared.adapters.crm import CrmUnavailable, Debt, Invoice
from shared.adapters.erp.wire import (
    BRAZIL,
    amount,
    days_overdue,
    first_unlocked,
    fold_debt,
    json_object,
    local_today,
    minimum_amount,
    overdue_window,
    parse_day,
    parsing,
    send,
    text,
    wanted_statuses,
)
from shared.core.config import HubsoftConfig
from shared.core.observability import logger
from shared.domain.documents import InvalidDocument, normalize_document
from shared.domain.errors import InvalidInput

SYSTEM = "Hubsoft"
FINANCE_LIMIT = 50  # cliente/financeiro's maximum `limit`; it has no page parameter
SYNC_WINDOW_DAYS = 30  # financeiro/ without a search term spans at most 30 days of due dates
UNLOCKABLE = frozenset({"suspenso_debito", "suspenso_parcialmente"})
_UNLOCKED_UNTIL = re.compile(r"(\d{2}/\d{2}/\d{4})")


@dataclass(frozen=True, slots=True)
class _Service:
    id: str  # id_cliente_servico
    status: str  # status_prefixo


@dataclass(frozen=True, slots=True)
class _Customer:
    name: str
    services: tuple[_Service, ...]
    phones: tuple[str, ...]


class HubsoftBilling:
    """The billing-system port over Hubsoft, with an explicit timeout, a reused connection pool and
    one cached access token per instance (thread-safe)."""

    def __init__(
        self,
        config: HubsoftConfig,
        *,
        timeout: float = 8.0,
        client: httpx.Client | None = None,
        zone: ZoneInfo = BRAZIL,
    ) -> None:
        self._url = config.url
        self._grant = {
            "grant_type": "password",
            "client_id": config.client_id,
            "client_secret": config.client_secret.get_secret_value(),
            "username": config.username,
            "password": config.password.get_secret_value(),
        }
        self._http = client or httpx.Client(timeout=timeout)
        self._zone = zone
        self._token: str | None = None
        self._token_lock = threading.Lock()

    # --- the port ------------------------------------------------------------------------------

    def consult(self, document: str) -> Debt | None:
        """The customer's pending invoices; None when Hubsoft has no customer with the document."""
        customer = self._customer(document)
        if customer is None:
            return None
        return fold_debt(customer.name, document, self._open_invoices(document), customer.phones)

    def payment_means(self, document: str, invoice_number: str) -> PaymentMeans:
        """Hubsoft has no second-copy endpoint: the pending invoice already carries its Pix
        copia-e-cola, boleto line and PDF link."""
        invoice = next((i for i in self._open_invoices(document) if i.number == invoice_number), None)
        if invoice is None:
            raise CrmUnavailable(f"{SYSTEM} has no pending invoice with that number")
        return PaymentMeans(
            invoice_number,
            pix_copia_cola=invoice.pix_copia_cola,
            linha_digitavel=invoice.linha_digitavel,
            pdf_link=invoice.link,
        )

    def trust_unlock(self, document: str, contract_id: str | None, until: date) -> UnlockResult:
        """`desbloqueio_confianca` for the service `contract_id`, or for every service of the customer
        suspended for debt; the first unlocked service's result, else the first refusal. An error
        envelope is the ERP's refusal (its rules: maximum days, uses per cycle)."""
        days = (until - local_today(self._zone)).days
        if days < 1:
            return UnlockResult(
                UnlockStatus.REFUSED,
                contract_id=contract_id,
                reason="O desbloqueio em confiança precisa terminar depois de hoje.",
            )
        if contract_id is not None:
            return self._unlock(contract_id, days)
        customer = self._customer(document)
        eligible = [s.id for s in customer.services if s.status in UNLOCKABLE] if customer else []
        if not eligible:
            return UnlockResult(
                UnlockStatus.REFUSED, reason="Não há serviço suspenso para liberar neste cadastro."
            )
        return first_unlocked([self._unlock(service, days) for service in eligible])

    def overdue(self, filters: OverdueFilter, cursor: str | None) -> OverduePage:
        """One window of at most 30 days of due dates from `financeiro/` (Hubsoft's own cap without a
        search term), newest first, folded per customer. The cursor is the last due date of the next
        window (`YYYY-MM-DD`)."""
        minimum, statuses = minimum_amount(filters), wanted_statuses(filters)
        oldest, newest = overdue_window(filters, local_today(self._zone))
        end = _parse_cursor(cursor) if cursor is not None else newest
        if end < oldest:
            return OverduePage((), {}, None)
        start = max(oldest, end - timedelta(days=SYNC_WINDOW_DAYS - 1))
        body = self._api(
            "GET",
            "/api/v1/integracao/financeiro",
            params={
                "tipo_data": "data_vencimento",
                "data_inicio": start.isoformat(),
                "data_fim": end.isoformat(),
                "apenas_quitado": "nao",
                "order_by": "data_vencimento",
                "order_type": "asc",
            },
        )
        with parsing(SYSTEM):
            debts, phones = _fold_listing(_list(body, "faturas"), local_today(self._zone))
        kept = [
            debt for debt in debts if debt.total >= minimum and self._status_matches(debt.document, statuses)
        ]
        cursor_next = start - timedelta(days=1)
        return OverduePage(
            tuple(kept),
            {d.document: phones[d.document] for d in kept},
            cursor_next.isoformat() if cursor_next >= oldest else None,
        )

    # --- the endpoints -------------------------------------------------------------------------

    def _customer(self, document: str) -> _Customer | None:
        body = self._api(
            "GET",
            "/api/v1/integracao/cliente",
            params={"busca": "cpf_cnpj", "termo_busca": document, "limit": "1"},
        )
        with parsing(SYSTEM):
            customers = _list(body, "clientes")
            if not customers:
                return None
            entry = customers[0]
            return _Customer(
                name=text(entry.get("nome_razaosocial")),
                services=tuple(
                    _Service(text(s["id_cliente_servico"]), text(s.get("status_prefixo")))
                    for s in entry.get("servicos") or []
                ),
                phones=_phones(entry),
            )

    def _open_invoices(self, document: str) -> list[Invoice]:
        """Every pending invoice: 50 per call at most and no page parameter, so a full answer is
        followed by another from its last due date on, de-duplicated by `id_fatura`."""
        today = local_today(self._zone)
        seen: dict[str, Invoice] = {}
        since: date | None = None
        while True:
            params = {
                "busca": "cpf_cnpj",
                "termo_busca": document,
                "apenas_pendente": "sim",
                "limit": str(FINANCE_LIMIT),
                "order_by": "data_vencimento",
                "order_type": "asc",
            }
            if since is not None:
                params |= {"tipo_data": "data_vencimento", "data_inicio": since.isoformat()}
            body = self._api("GET", "/api/v1/integracao/cliente/financeiro", params=params)
            with parsing(SYSTEM):
                rows = _list(body, "faturas")
                fresh = [i for i in (_invoice(row, today) for row in rows) if i and i.number not in seen]
            seen.update((i.number, i) for i in fresh)
            if not fresh or len(rows) < FINANCE_LIMIT:
                return list(seen.values())
            since = max(i.due_date for i in fresh)

    def _unlock(self, service_id: str, days: int) -> UnlockResult:
        body = self._call(
            "POST",
            "/api/v1/integracao/cliente/desbloqueio_confianca",
            json={"id_cliente_servico": service_id, "dias_desbloqueio": str(days)},
        )
        message = text(body.get("msg"))
        if text(body.get("status")).lower() == "error":
            return UnlockResult(
                UnlockStatus.REFUSED,
                contract_id=service_id,
                reason=message or "O Hubsoft recusou o desbloqueio em confiança.",
            )
        found = _UNLOCKED_UNTIL.search(message)
        with parsing(SYSTEM):
            until = parse_day(found.group(1)) if found else local_today(self._zone) + timedelta(days=days)
        return UnlockResult(UnlockStatus.UNLOCKED, contract_id=service_id, until=until)

    def _status_matches(self, document: str, statuses: frozenset[str] | None) -> bool:
        """Whether one of the customer's services has a wanted `status_prefixo` (asked only when
        the sync filters on it)."""
        if statuses is None:
            return True
        customer = self._customer(document)
        return customer is not None and any(s.status in statuses for s in customer.services)

    # --- transport -----------------------------------------------------------------------------

    def _api(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A call whose error envelope (HTTP 200, `status: "error"`) is an unknown answer."""
        body = self._call(method, path, **kwargs)
        if text(body.get("status")).lower() == "error":
            raise CrmUnavailable(f"{SYSTEM} answered an error envelope")
        return body

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One authenticated call; a 401 (token expired or revoked) renews the token once."""
        token = self._access_token(stale=None)
        response = self._send(method, path, token, **kwargs)
        if response.status_code == 401:
            response = self._send(method, path, self._access_token(stale=token), **kwargs)
        return json_object(response, SYSTEM)

    def _send(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return send(self._http, method, f"{self._url}{path}", system=SYSTEM, headers=headers, **kwargs)

    def _access_token(self, *, stale: str | None) -> str:
        """The cached token, fetched when there is none or when `stale` (the one a 401 refused) is
        still the cached one — so concurrent 401s renew it once."""
        with self._token_lock:
            if self._token is None or self._token == stale:
                self._token = self._authenticate()
            return self._token

    def _authenticate(self) -> str:
        response = send(
            self._http,
            "POST",
            f"{self._url}/oauth/token",
            system=SYSTEM,
            json=self._grant,
            headers={"Accept": "application/json"},
        )
        body = json_object(response, SYSTEM)  # invalid credentials: HTTP 401
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise CrmUnavailable(f"{SYSTEM} issued no access token")
        return token


# --- the parsers --------------------------------------------------------------------------------


def _list(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    rows = body[key]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"{key} is not a list of objects")
    return rows


def _invoice(row: dict[str, Any], today: date) -> Invoice | None:
    """A `cliente/financeiro` invoice (dates DD/MM/YYYY, `valor` a number); None once paid."""
    if row.get("data_pagamento") not in (None, ""):
        return None
    due = parse_day(row["data_vencimento"])
    service = (row.get("cliente") or {}).get("servico") or {}
    return Invoice(
        number=text(row["id_fatura"]),
        amount=amount(row["valor"]),
        due_date=due,
        days_overdue=days_overdue(due, today),
        pix_copia_cola=text(row.get("pix_copia_cola")) or None,
        linha_digitavel=text(row.get("linha_digitavel")) or None,
        link=text(row.get("link")) or None,
        contract_id=text(service.get("id_cliente_servico")) or None,
    )


def _fold_listing(rows: list[dict[str, Any]], today: date) -> tuple[list[Debt], dict[str, tuple[str, ...]]]:
    """The unpaid invoices of a `financeiro/` listing (`valor` a string, ISO dates) folded per
    customer, with the customer's phones; rows without a usable CPF/CNPJ are skipped."""
    customers: dict[str, tuple[str, tuple[str, ...]]] = {}
    invoices: dict[str, dict[str, Invoice]] = {}
    for row in rows:
        document = _document(row["cliente"]["cpf_cnpj"])
        if document is None or row.get("data_pagamento") not in (None, ""):
            continue
        customers[document] = (text(row["cliente"].get("nome_razaosocial")), _phones(row["cliente"]))
        due = parse_day(row["data_vencimento"])
        invoices.setdefault(document, {})[text(row["id_fatura"])] = Invoice(
            number=text(row["id_fatura"]),
            amount=amount(row["valor"]),
            due_date=due,
            days_overdue=days_overdue(due, today),
        )
    debts = [fold_debt(customers[doc][0], doc, found.values()) for doc, found in invoices.items()]
    return debts, {doc: phones for doc, (_, phones) in customers.items()}


def _phones(client: dict[str, Any]) -> tuple[str, ...]:
    keys = ("telefone_primario", "telefone_secundario", "telefone_terciario")
    return tuple(text(client.get(k)) for k in keys if text(client.get(k)))


def _document(raw: Any) -> str | None:
    try:
        return normalize_document(text(raw))
    except InvalidDocument:
        logger.warning("hubsoft invoice without a usable document")
        return None


def _parse_cursor(cursor: str) -> date:
    try:
        return date.fromisoformat(cursor)
    except ValueError:
        raise InvalidInput("invalid Hubsoft sync cursor") from None
