"""SGP (TSMX) through its URA endpoints: `POST {SGP_API_URL}/api/ura/<endpoint>/`.

Auth is `token` + `app` in the form body next to the filters (`app` is case-sensitive: 403 with the
wrong case). The customer is looked up by `cpfcnpj` (exactly that name); `consultacliente` answers
one entry per contract, with plaintext secrets (`servico_senha`, `contratoCentralSenha`, ...) that
are never read here. Open invoices come from `titulos/`, paged by offset — some instances ignore the
offset and repeat the page, so rows are de-duplicated by `id` and a page without a new row ends the
walk. Payment means come from `fatura2via/` with `nao_gerar_os=1` (without it SGP opens a service
order on every query), the trust unlock from `liberacaopromessa/`, also sent with `nao_gerar_os=1`.
An SGP error (`{"msg": "..."}` without the expected list) is *unknown*, like a timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
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
    flag,
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
from shared.core.config import SgpConfig
from shared.core.observability import logger
from shared.domain.documents import InvalidDocument, normalize_document
from shared.domain.errors import InvalidInput

SYSTEM = "SGP"
PAGE_LIMIT = 250  # SGP's maximum `limit` for titulos/
UNLOCKABLE = frozenset({"4", "7"})  # contratoStatus Suspenso, Ativo V. Reduzida (throttled debtor)
UNLOCK_NOTE = "Desbloqueio em confiança: promessa de pagamento registrada pela régua de cobrança"


@dataclass(frozen=True, slots=True)
class _Contract:
    """The fields of one `consultacliente` entry this adapter keeps (never its secrets)."""

    id: str
    status: str  # contratoStatus code, "1".."7"
    status_name: str  # contratoStatusDisplay, trimmed
    name: str
    phones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Title:
    id: str
    invoice: Invoice
    document: str  # clienteCpfcnpj as SGP formats it


class SgpBilling:
    """The billing-system port over SGP, with an explicit timeout and a reused connection pool."""

    def __init__(
        self,
        config: SgpConfig,
        *,
        timeout: float = 8.0,
        client: httpx.Client | None = None,
        zone: ZoneInfo = BRAZIL,
    ) -> None:
        self._base = f"{config.url}/api/ura"
        self._auth = {"token": config.token.get_secret_value(), "app": config.app}
        self._http = client or httpx.Client(timeout=timeout)
        self._zone = zone

    # --- the port ------------------------------------------------------------------------------

    def consult(self, document: str) -> Debt | None:
        """The customer's open invoices; None when SGP has no contract for the document."""
        contracts = self._contracts(document)
        if not contracts:
            return None
        titles = self._titles({"cpfcnpj": document})
        phones = (phone for contract in contracts for phone in contract.phones)
        return fold_debt(contracts[0].name, document, [t.invoice for t in titles], phones)

    def payment_means(self, document: str, invoice_number: str) -> PaymentMeans:
        """The second copy of an open invoice: boleto line, PDF link and Pix copia-e-cola (asked of
        the Pix endpoint when the second copy has none)."""
        body = self._post(
            "fatura2via", {"cpfcnpj": document, "faturas_abertas_todas": "1", "nao_gerar_os": "1"}
        )
        with parsing(SYSTEM):
            links = body["links"]
            if not isinstance(links, list):
                raise TypeError("links is not a list")
            match = next((link for link in links if text(link.get("fatura")) == invoice_number), None)
            if match is None:
                raise CrmUnavailable(f"{SYSTEM} has no open invoice with that number")
            pix = text(match.get("codigopix")) or None
            line = text(match.get("linhadigitavel")) or None
            pdf = text(match.get("link")) or None
        if pix is None:
            pix = self._pix(invoice_number, text(body.get("contratoId")))
        return PaymentMeans(invoice_number, pix_copia_cola=pix, linha_digitavel=line, pdf_link=pdf)

    def trust_unlock(self, document: str, contract_id: str | None, until: date) -> UnlockResult:
        """`liberacaopromessa/` for `contract_id`, or for every suspended or throttled contract of the
        customer; the first unlocked contract's result, else the first refusal."""
        if contract_id is not None:
            return self._unlock(contract_id, until)
        eligible = [c.id for c in self._contracts(document) if c.status in UNLOCKABLE]
        if not eligible:
            return UnlockResult(
                UnlockStatus.REFUSED, reason="Não há contrato suspenso para liberar neste cadastro."
            )
        return first_unlocked([self._unlock(contract, until) for contract in eligible])

    def overdue(self, filters: OverdueFilter, cursor: str | None) -> OverduePage:
        """One `titulos/` page of open invoices due in the filter's window, folded per customer, each
        customer's contracts (status, phones) read from `consultacliente/`.

        The cursor is `"<offset>:<last id read>"`: rows up to that id are dropped when the page
        repeats them, and a page with nothing after it (an instance that ignores `offset`) ends
        the walk."""
        offset, last_id = _parse_cursor(cursor)
        minimum, statuses = minimum_amount(filters), wanted_statuses(filters)
        oldest, newest = overdue_window(filters, local_today(self._zone))
        body = self._post(
            "titulos",
            {
                "status": "abertos",
                "offset": str(offset),
                "limit": str(PAGE_LIMIT),
                "ordenar": "data_vencimento",
                "ordenar_ordem": "asc",
                "data_vencimento_inicio": oldest.isoformat(),
                "data_vencimento_fim": newest.isoformat(),
            },
        )
        rows, total = self._parse_titles(body)
        fresh = _after(rows, last_id)
        if not fresh:
            return OverduePage((), {}, None)
        offset += len(fresh)
        done = offset >= total if total is not None else len(rows) < PAGE_LIMIT
        in_window = [row for row in fresh if oldest <= row.invoice.due_date <= newest]
        debts, phones = self._fold(in_window, minimum, statuses)
        return OverduePage(tuple(debts), phones, None if done else f"{offset}:{fresh[-1].id}")

    # --- the endpoints -------------------------------------------------------------------------

    def _post(self, endpoint: str, fields: dict[str, str]) -> dict[str, Any]:
        response = send(
            self._http, "POST", f"{self._base}/{endpoint}/", system=SYSTEM, data=self._auth | fields
        )
        return json_object(response, SYSTEM)

    def _contracts(self, document: str) -> list[_Contract]:
        body = self._post("consultacliente", {"cpfcnpj": document})
        with parsing(SYSTEM):
            entries = body["contratos"]  # absent on an SGP error such as a missing parameter
            if not isinstance(entries, list):
                raise TypeError("contratos is not a list")
            return [_contract(entry) for entry in entries]

    def _titles(self, lookup: dict[str, str]) -> list[_Title]:
        """Every open invoice for `lookup`, walking the offset pages, de-duplicated by id."""
        seen: dict[str, _Title] = {}
        offset = 0
        while True:
            body = self._post(
                "titulos",
                lookup | {"status": "abertos", "offset": str(offset), "limit": str(PAGE_LIMIT)},
            )
            rows, total = self._parse_titles(body)
            fresh = [row for row in rows if row.id not in seen]
            seen.update((row.id, row) for row in fresh)
            offset += len(fresh)
            if not fresh or (offset >= total if total is not None else len(rows) < PAGE_LIMIT):
                return list(seen.values())

    def _parse_titles(self, body: dict[str, Any]) -> tuple[list[_Title], int | None]:
        today = local_today(self._zone)
        with parsing(SYSTEM):
            rows = body["titulos"]
            if not isinstance(rows, list):
                raise TypeError("titulos is not a list")
            paging = body.get("paginacao") or {}
            total = int(paging["total"]) if paging.get("total") not in (None, "") else None
            titles = [_title(row, today) for row in rows]
        return [t for t in titles if t is not None], total

    def _pix(self, invoice_number: str, contract_id: str) -> str | None:
        """`pagamento/pix/{fatura}`: its field name varies (`pix`, `codigoPix`, `codigo`), and a
        failure here leaves the boleto usable, so it yields None rather than failing the means."""
        try:
            body = self._post(f"pagamento/pix/{invoice_number}", {"contrato": contract_id})
        except CrmUnavailable as exc:
            logger.warning("sgp pix lookup failed", reason=str(exc))
            return None
        return next((text(body[k]) for k in ("pix", "codigoPix", "codigo") if text(body.get(k))), None)

    def _unlock(self, contract_id: str, until: date) -> UnlockResult:
        body = self._post(
            "liberacaopromessa",
            {
                "contrato": contract_id,
                "data_promessa": until.isoformat(),
                "conteudo": UNLOCK_NOTE,
                "nao_gerar_os": "1",
            },
        )
        with parsing(SYSTEM):
            return _unlock_result(body, contract_id, until, local_today(self._zone))

    def _fold(
        self, rows: list[_Title], minimum: Decimal, statuses: frozenset[str] | None
    ) -> tuple[list[Debt], dict[str, tuple[str, ...]]]:
        """The page's titles per customer, each customer's contracts read for their status (the
        `statuses` filter) and phones; debts under `minimum` left out."""
        by_document: dict[str, list[Invoice]] = {}
        for row in rows:
            try:
                document = normalize_document(row.document)
            except InvalidDocument:
                logger.warning("sgp title without a usable document", title_id=row.id)
                continue
            by_document.setdefault(document, []).append(row.invoice)
        debts, phones = [], {}
        for document, invoices in by_document.items():
            contracts = {c.id: c for c in self._contracts(document)}
            if statuses is not None:
                invoices = [
                    i for i in invoices if _status_matches(contracts.get(i.contract_id or ""), statuses)
                ]
            if not invoices or not contracts:
                continue
            name = next(iter(contracts.values())).name
            debt = fold_debt(name, document, invoices)
            if debt.total >= minimum:
                debts.append(debt)
                phones[document] = tuple(dict.fromkeys(p for c in contracts.values() for p in c.phones))
        return debts, phones


# --- the parsers --------------------------------------------------------------------------------


def _contract(entry: dict[str, Any]) -> _Contract:
    phones = entry.get("telefones") or []
    return _Contract(
        id=text(entry["contratoId"]),
        status=text(entry.get("contratoStatus")),
        status_name=text(entry.get("contratoStatusDisplay")),
        name=text(entry.get("razaoSocial")),
        phones=tuple(text(p) for p in phones if text(p)),
    )


def _title(row: dict[str, Any], today: date) -> _Title | None:
    """One open title as an `Invoice`; None for a paid or cancelled one (an instance that ignored
    the status filter). `valorCorrigido` (with interest and fines) is the amount due when present."""
    if text(row.get("status") or "aberto").lower() != "aberto":
        return None
    due = parse_day(row["dataVencimento"])
    corrected = row.get("valorCorrigido")
    due_amount = amount(corrected) if corrected not in (None, "", 0) else amount(row["valor"])
    return _Title(
        id=text(row["id"]),
        document=text(row.get("clienteCpfcnpj")),
        invoice=Invoice(
            number=text(row["id"]),
            amount=due_amount,
            due_date=due,
            days_overdue=days_overdue(due, today),
            pix_copia_cola=text(row.get("codigoPix")) or None,
            linha_digitavel=text(row.get("linhaDigitavel")) or None,
            link=text(row.get("link")) or None,
            contract_id=text(row.get("clienteContrato")) or None,
        ),
    )


def _unlock_result(body: dict[str, Any], contract_id: str, until: date, today: date) -> UnlockResult:
    """`liberado` decides; the success `msg` carries the PPPoE login and is never passed on."""
    if "liberado" not in body and "status" not in body:
        raise KeyError("liberado")
    if flag(body.get("liberado")):
        days = text(body.get("liberado_dias"))
        released = today + timedelta(days=int(days)) if days.isdigit() else until
        return UnlockResult(UnlockStatus.UNLOCKED, contract_id=contract_id, until=released)
    return UnlockResult(
        UnlockStatus.REFUSED,
        contract_id=contract_id,
        code=text(body.get("status")) or None,
        reason=text(body.get("msg")) or "O SGP recusou o desbloqueio em confiança.",
    )


def _status_matches(contract: _Contract | None, wanted: frozenset[str]) -> bool:
    return contract is not None and (contract.status in wanted or contract.status_name.lower() in wanted)


def _after(rows: list[_Title], last_id: str | None) -> list[_Title]:
    """The rows of a page not read yet: those after `last_id` when the page repeats it."""
    ids = [row.id for row in rows]
    return rows[ids.index(last_id) + 1 :] if last_id in ids else rows


def _parse_cursor(cursor: str | None) -> tuple[int, str | None]:
    if cursor is None:
        return 0, None
    offset, _, first = cursor.partition(":")
    if not offset.isdigit() or not first:
        raise InvalidInput("invalid SGP sync cursor")
    return int(offset), first
