"""A Hubsoft simulator: `POST /oauth/token` (password grant) and the `/api/v1/integracao/*` routes the
adapter uses, as the reference describes them, traps included.

- Tokens are opaque strings; `revoke_tokens()` invalidates every token issued so far (Hubsoft revokes
  them early during updates), so the next call gets HTTP 401 once and must re-authenticate.
- Errors are HTTP 200 `{"status": "error", "msg": ..., "errors": [...]}`; success on the customer's
  finance route is spelled `"suscess"`, as in the official examples.
- `cliente/financeiro`: dates `DD/MM/YYYY`, `valor` a JSON number, `limit` at most 50, no page
  parameter; `financeiro` (the listing): `valor` a string, ISO dates, at most 30 days without a
  search term.
- Customer services carry the plaintext PPPoE `senha`.
- `desbloqueio_confianca`: only services suspended for debt, at most `max_unlock_days`, one use per
  service until it is suspended again.

Seeded like the IXC simulator (`add_debtor(document, name, invoices, phones=...)`: the sandbox's
`ErpSimulator`); `outage` switches on
`"http_500"`, `"timeout"` or `"html"`, and `error_envelope` makes every integration route answer
with the 200-with-error envelope.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.erp_wire import Outage, outage_response, query_day, request_fields
from shared.core import clock

ZONE = ZoneInfo("America/Sao_Paulo")
FINANCE_LIMIT = 50
LISTING_MAX_DAYS = 30
UNLOCKABLE = ("suspenso_debito", "suspenso_parcialmente")
INVALID_CREDENTIALS = {
    "error": "invalid_credentials",
    "error_description": "The user credentials were incorrect.",
    "message": "The user credentials were incorrect.",
}


@dataclass
class HubsoftInvoice:
    id: int
    invoice: SimInvoice
    service_id: int


@dataclass
class HubsoftCustomer:
    id: int
    document: str
    name: str
    phones: tuple[str, ...]
    services: dict[int, str]  # id_cliente_servico -> status_prefixo
    invoices: list[HubsoftInvoice] = field(default_factory=list)
    unlocked: set[int] = field(default_factory=set)  # services that used their trust unlock


class HubsoftSimulator:
    def __init__(
        self,
        client_id: str = "hubsoft-client",
        client_secret: str = "hubsoft-secret",
        username: str = "cobranca@isp.example",
        password: str = "hubsoft-password",
        *,
        max_unlock_days: int = 3,
        hang_seconds: float = 30.0,
    ) -> None:
        self.credentials = {
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
        }
        self.max_unlock_days = max_unlock_days
        self.hang_seconds = hang_seconds
        self.outage: Outage | None = None
        self.error_envelope = False
        self.customers: dict[str, HubsoftCustomer] = {}
        self.tokens_issued = 0
        self.rejected_tokens = 0  # API calls answered 401
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (path, query or body)
        self.unlocks: list[dict[str, Any]] = []
        self._valid_tokens: set[str] = set()
        self._ids = itertools.count(11_000)
        self._lock = threading.Lock()
        self.app = self._build_app()

    # --- seeding and knobs -----------------------------------------------------------------------

    def add_debtor(
        self,
        document: str,
        name: str,
        invoices: list[SimInvoice],
        *,
        phones: tuple[str, ...] = (),
        service_status: str = "suspenso_debito",
    ) -> HubsoftCustomer:
        """A customer with one service (suspended for debt by default) billing `invoices`."""
        with self._lock:
            customer_id, service_id = next(self._ids), next(self._ids)
            customer = HubsoftCustomer(customer_id, document, name, phones, {service_id: service_status})
            customer.invoices = [HubsoftInvoice(next(self._ids), inv, service_id) for inv in invoices]
            self.customers[document] = customer
            return customer

    def pay_all(self, document: str) -> None:
        with self._lock:
            self.customers[document].invoices.clear()

    def pay_oldest(self, document: str) -> None:
        """The open invoice due first is paid; the others stay open."""
        with self._lock:
            open_now = self.customers[document].invoices
            if open_now:
                open_now.remove(min(open_now, key=lambda entry: entry.invoice.due_date))

    def invoice_numbers(self, document: str) -> list[str]:
        """The numbers Hubsoft gives the customer's open invoices, in the order they were seeded."""
        with self._lock:
            return [str(entry.id) for entry in self.customers[document].invoices]

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (the next API call answers 401)."""
        with self._lock:
            self._valid_tokens.clear()

    # --- answers ---------------------------------------------------------------------------------

    def _customer_lookup(self, query: dict[str, Any]) -> dict[str, Any]:
        if query.get("busca") != "cpf_cnpj" or not query.get("termo_busca"):
            return _error("Parâmetros de busca inválidos", ["O campo busca é obrigatório."])
        customer = self.customers.get(str(query["termo_busca"]))
        found = [] if customer is None else [_customer_json(customer)]
        return {"status": "success", "msg": "Dados consultados com sucesso", "clientes": found}

    def _customer_finance(self, query: dict[str, Any]) -> dict[str, Any]:
        limit = int(query.get("limit") or 20)
        if not 1 <= limit <= FINANCE_LIMIT:
            return _error("O limite deve ser entre 1 e 50", ["limit"])
        customer = self.customers.get(str(query.get("termo_busca") or ""))
        since = query_day(query.get("data_inicio"))
        rows = (
            []
            if customer is None
            else [
                (customer, inv) for inv in customer.invoices if since is None or inv.invoice.due_date >= since
            ]
        )
        rows.sort(key=lambda row: (row[1].invoice.due_date, row[1].id))
        return {
            "status": "suscess",
            "msg": "Dados consultados com sucesso",
            "faturas": [_finance_json(owner, inv) for owner, inv in rows[:limit]],
        }

    def _listing(self, query: dict[str, Any]) -> dict[str, Any]:
        start, end = query_day(query.get("data_inicio")), query_day(query.get("data_fim"))
        if start is None or end is None or (end - start).days >= LISTING_MAX_DAYS:
            return _error("O intervalo entre as datas deve ser de no máximo 30 dias", [])
        rows = [
            (customer, inv)
            for customer in self.customers.values()
            for inv in customer.invoices
            if start <= inv.invoice.due_date <= end
        ]
        return {
            "status": "success",
            "msg": "Dados consultados com sucesso.",
            "faturas": [_listing_json(customer, inv) for customer, inv in rows],
        }

    def _unlock(self, body: dict[str, Any]) -> dict[str, Any]:
        self.unlocks.append(dict(body))
        service_id = int(body.get("id_cliente_servico") or 0)
        days = int(body.get("dias_desbloqueio") or 1)
        customer = next((c for c in self.customers.values() if service_id in c.services), None)
        if customer is None:
            return _error("Serviço não encontrado", [])
        if days < 1 or days > self.max_unlock_days:
            return _error(f"A quantidade de dias excede o máximo permitido ({self.max_unlock_days})", [])
        if service_id in customer.unlocked or customer.services[service_id] not in UNLOCKABLE:
            return _error("Desbloqueio em confiança não permitido para este serviço", [])
        customer.unlocked.add(service_id)
        customer.services[service_id] = "servico_habilitado"
        until = clock.now().astimezone(ZONE).date() + timedelta(days=days)
        return {
            "status": "success",
            "msg": f"Desbloqueio em confiança realizado com sucesso até a data {until:%d/%m/%Y}",
        }

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/oauth/token")
        async def token(request: Request) -> Response:
            fields = await request_fields(request)
            with self._lock:
                if any(fields.get(k) != v for k, v in self.credentials.items()):
                    return JSONResponse(INVALID_CREDENTIALS, status_code=401)
                self.tokens_issued += 1
                issued = f"hubsoft-token-{self.tokens_issued}"
                self._valid_tokens.add(issued)
            return JSONResponse(
                {
                    "token_type": "Bearer",
                    "expires_in": 2_592_000,
                    "access_token": issued,
                    "refresh_token": f"refresh-{self.tokens_issued}",
                }
            )

        async def handle(request: Request, path: str, fields: dict[str, Any], answer: Any) -> Response:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            with self._lock:
                if bearer not in self._valid_tokens:
                    self.rejected_tokens += 1
                    return JSONResponse({"message": "Unauthenticated."}, status_code=401)
            failed = await outage_response(self.outage, self.hang_seconds)
            if failed is not None:
                return failed
            with self._lock:
                self.requests.append((path, fields))
                if self.error_envelope:
                    return JSONResponse(_error("Erro ao processar a requisição", []))
                return JSONResponse(answer(fields))

        @app.get("/api/v1/integracao/cliente")
        async def customer(request: Request) -> Response:
            query = dict(request.query_params)
            return await handle(request, "cliente", query, self._customer_lookup)

        @app.get("/api/v1/integracao/cliente/financeiro")
        async def customer_finance(request: Request) -> Response:
            query = dict(request.query_params)
            return await handle(request, "cliente/financeiro", query, self._customer_finance)

        @app.get("/api/v1/integracao/financeiro")
        async def listing(request: Request) -> Response:
            query = dict(request.query_params)
            return await handle(request, "financeiro", query, self._listing)

        @app.post("/api/v1/integracao/cliente/desbloqueio_confianca")
        async def unlock(request: Request) -> Response:
            body = await request_fields(request)
            return await handle(request, "desbloqueio_confianca", body, self._unlock)

        return app


def _error(message: str, errors: list[str]) -> dict[str, Any]:
    return {"status": "error", "msg": message, "errors": errors}


def _customer_json(customer: HubsoftCustomer) -> dict[str, Any]:
    return {
        "id_cliente": customer.id,
        "codigo_cliente": customer.id - 10_000,
        "nome_razaosocial": customer.name,
        "cpf_cnpj": customer.document,
        **_phones_json(customer),
        "data_cadastro": "2017-08-05 00:00:00",
        "servicos": [
            {
                "id_cliente_servico": service_id,
                "nome": "400M FIBRA",
                "valor": 119.9,
                "status": status.replace("_", " ").capitalize(),
                "status_prefixo": status,
                "login": f"pppoe-{service_id}",
                "senha": f"senha-pppoe-{service_id}",
            }
            for service_id, status in customer.services.items()
        ],
    }


def _finance_json(customer: HubsoftCustomer, inv: HubsoftInvoice) -> dict[str, Any]:
    return {
        "id_fatura": inv.id,
        "nosso_numero": str(inv.id + 200_000),
        "tipo_cobranca": "boleto_bancario",
        "valor": float(inv.invoice.amount),
        "data_vencimento": f"{inv.invoice.due_date:%d/%m/%Y}",
        "data_cadastro": f"{inv.invoice.due_date - timedelta(days=10):%d/%m/%Y}",
        "data_pagamento": None,
        "linha_digitavel": inv.invoice.linha_digitavel or f"75691.{inv.id:05d} 01 0000",
        "link": f"https://hubsoft.example/pdf/fatura/{inv.id}",
        "pix_copia_cola": inv.invoice.pix_copia_cola or f"00020101021226HUB{inv.id}6304ABCD",
        "cliente": {
            "codigo_cliente": customer.id - 10_000,
            "nome_razaosocial": customer.name,
            "cpf_cnpj": customer.document,
            "servico": {
                "id_cliente_servico": inv.service_id,
                "status_prefixo": customer.services[inv.service_id],
            },
        },
    }


def _listing_json(customer: HubsoftCustomer, inv: HubsoftInvoice) -> dict[str, Any]:
    due = inv.invoice.due_date
    return {
        "id_fatura": inv.id,
        "nosso_numero": str(inv.id + 200_000),
        "data_vencimento": due.isoformat(),
        "data_vencimento_br": f"{due:%d/%m/%Y}",
        "data_pagamento": None,
        "valor": str(float(inv.invoice.amount)),  # "119.9": a string here
        "valor_pago": None,
        "cliente": {
            "id_cliente": customer.id,
            "nome_razaosocial": customer.name,
            "cpf_cnpj": customer.document,
            **_phones_json(customer),
            "ativo": True,
        },
    }


def _phones_json(customer: HubsoftCustomer) -> dict[str, str | None]:
    keys = ("telefone_primario", "telefone_secundario", "telefone_terciario")
    return {key: customer.phones[i] if i < len(customer.phones) else None for i, key in enumerate(keys)}
