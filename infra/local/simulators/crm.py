"""A CRM simulator: `POST /clientes/consultar_inadimplencia` exactly as SPEC §3 describes.

Customers are held in memory; tests and the sandbox add customers, mark them paid, and switch on
outages (`"http_500"`, `"timeout"`, `"malformed"`) to exercise the fail-closed rules.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

Outage = Literal["http_500", "timeout", "malformed"]


@dataclass
class SimInvoice:
    number: str
    amount: Decimal
    due_date: date
    days_overdue: int = 30
    pix_copia_cola: str | None = None
    linha_digitavel: str | None = None
    link: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "numero_fatura": self.number,
            "valor": float(self.amount),
            "data_vencimento": self.due_date.isoformat(),
            "dias_atraso": self.days_overdue,
        }
        if self.pix_copia_cola:
            body["pix_copia_cola"] = self.pix_copia_cola
        if self.linha_digitavel:
            body["linha_digitavel"] = self.linha_digitavel
        if self.link:
            body["link"] = self.link
        return body


@dataclass
class SimCustomer:
    document: str
    name: str
    invoices: list[SimInvoice] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # answered as `telefones` when there are any


class CrmSimulator:
    def __init__(self, api_key: str = "crm-test-key", *, timeout_seconds: float = 30.0) -> None:
        self.api_key = api_key
        self.customers: dict[str, SimCustomer] = {}
        self.outage: Outage | None = None
        self.queries: list[str] = []  # every document asked about, in order
        self._timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self.app = self._build_app()

    def add_customer(self, document: str, name: str, invoices: list[SimInvoice]) -> SimCustomer:
        with self._lock:
            customer = SimCustomer(document, name, list(invoices))
            self.customers[document] = customer
            return customer

    def pay_all(self, document: str) -> None:
        with self._lock:
            self.customers[document].invoices.clear()

    def pay_oldest(self, document: str) -> None:
        """The open invoice due first is paid; the others stay open."""
        with self._lock:
            invoices = self.customers[document].invoices
            if invoices:
                invoices.remove(min(invoices, key=lambda invoice: invoice.due_date))

    def _answer(self, document: str) -> Response:
        with self._lock:
            self.queries.append(document)
            customer = self.customers.get(document)
            if customer is None:
                return JSONResponse({"error": "cliente não encontrado"}, status_code=404)
            total = sum((inv.amount for inv in customer.invoices), Decimal("0"))
            answer: dict[str, Any] = {
                "nome": customer.name,
                "cpf_cnpj": customer.document,
                "valor_total": float(total),
                "faturas_em_aberto": len(customer.invoices),
                "faturas": [inv.to_json() for inv in customer.invoices],
            }
            if customer.phones:
                answer["telefones"] = list(customer.phones)
            return JSONResponse(answer)

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/clientes/consultar_inadimplencia")
        async def consult(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            if self.outage == "timeout":
                await asyncio.sleep(self._timeout_seconds)
            if self.outage == "http_500":
                return JSONResponse({"error": "internal"}, status_code=500)
            if self.outage == "malformed":
                return PlainTextResponse("<html>gateway</html>", status_code=200)
            body = await request.json()
            return self._answer(str(body.get("cpf_cnpj", "")))

        return app
