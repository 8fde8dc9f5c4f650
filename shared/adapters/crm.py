"""The ISP's billing system (SPEC §3): who owes what.

`POST {CRM_API_URL}/clientes/consultar_inadimplencia` with `{"cpf_cnpj": ...}` (an optional `telefones`
list in the answer is kept: phones on file for the identity check). A 404 means an
unknown customer; timeouts, 5xx and malformed bodies are *unknown* and raise `CrmUnavailable` — the
caller must neither treat the customer as paid nor as owing (fail closed: no contact, retry later).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol

from shared.core.config import CrmConfig
from shared.domain.errors import InvalidInput, ServiceUnavailable
from shared.domain.phones import normalize_phone
from shared.domain.time_bar import is_time_barred

if TYPE_CHECKING:
    import httpx


class CrmUnavailable(ServiceUnavailable):
    code = "crm_unavailable"


@dataclass(frozen=True, slots=True)
class Invoice:
    number: str
    amount: Decimal
    due_date: date
    days_overdue: int
    pix_copia_cola: str | None = None
    linha_digitavel: str | None = None
    link: str | None = None
    contract_id: str | None = None  # the ISP contract the invoice bills (ERPs; trust unlock is per contract)

    def is_time_barred(self, today: date) -> bool:
        """Whether the invoice is too old to collect on `today` (`shared.domain.time_bar`)."""
        return is_time_barred(self.due_date, today)


@dataclass(frozen=True, slots=True)
class Debt:
    """The CRM's answer for one document."""

    name: str
    document: str
    total: Decimal
    invoices: tuple[Invoice, ...]
    phones: tuple[str, ...] = ()  # the customer's phones, when the billing system's answer has them

    def collectible(self, today: date) -> tuple[Invoice, ...]:
        """Open invoices that may be quoted: time-barred ones never are."""
        return tuple(inv for inv in self.invoices if not inv.is_time_barred(today))

    def collectible_total(self, today: date) -> Decimal:
        return sum((inv.amount for inv in self.collectible(today)), Decimal("0.00"))

    def has_open(self, today: date) -> bool:
        return bool(self.collectible(today))


class CrmClient(Protocol):
    def consult(self, document: str) -> Debt | None:
        """The customer's open debt; None for a customer the CRM does not know (404).

        Raises `CrmUnavailable` when the answer is unknown."""
        ...


class HttpCrmClient:
    """The real protocol over httpx, with an explicit timeout and a reused connection pool. httpx is
    imported with the first client, so a worker that never asks the CRM does not load it."""

    def __init__(self, config: CrmConfig, *, timeout: float = 8.0, client: httpx.Client | None = None):
        import httpx

        self._url = f"{config.url}/clientes/consultar_inadimplencia"
        self._headers = {"Authorization": f"Bearer {config.api_key.get_secret_value()}"}
        self._http = client or httpx.Client(timeout=timeout)

    def consult(self, document: str) -> Debt | None:
        import httpx

        try:
            response = self._http.post(self._url, json={"cpf_cnpj": document}, headers=self._headers)
        except httpx.HTTPError as exc:
            raise CrmUnavailable(f"CRM request failed: {type(exc).__name__}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise CrmUnavailable(f"CRM answered HTTP {response.status_code}")
        try:
            return parse_debt(response.json(), document)
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise CrmUnavailable(f"CRM answered a malformed body: {exc}") from None


def parse_debt(body: Any, document: str) -> Debt:
    """Strictly parse the CRM's 200 body; anything unexpected raises (the caller fails closed)."""
    if not isinstance(body, dict):
        raise ValueError("body is not an object")
    invoices = tuple(_parse_invoice(item) for item in body["faturas"])
    open_count = int(body["faturas_em_aberto"])
    if open_count != len(invoices):
        raise ValueError(f"faturas_em_aberto={open_count} but {len(invoices)} invoices listed")
    return Debt(
        name=str(body.get("nome") or ""),
        document=document,
        total=_decimal(body["valor_total"]),
        invoices=invoices,
        phones=normalize_phones(body.get("telefones")),
    )


def normalize_phones(value: Any) -> tuple[str, ...]:
    """A billing system's phones (a list, or any iterable of free text), normalized and distinct;
    numbers that do not parse are left out. They are phones on file for the identity check."""
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        return ()
    phones = []
    for raw in value:
        try:
            phones.append(normalize_phone(str(raw)))
        except InvalidInput:
            continue
    return tuple(dict.fromkeys(phones))


def _parse_invoice(item: Any) -> Invoice:
    if not isinstance(item, dict):
        raise ValueError("invoice is not an object")
    return Invoice(
        number=str(item["numero_fatura"]),
        amount=_decimal(item["valor"]),
        due_date=date.fromisoformat(str(item["data_vencimento"])),
        days_overdue=int(item.get("dias_atraso") or 0),
        pix_copia_cola=item.get("pix_copia_cola") or None,
        linha_digitavel=item.get("linha_digitavel") or None,
        link=item.get("link") or None,
    )


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    amount = Decimal(str(value))
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount.quantize(Decimal("0.01"))
