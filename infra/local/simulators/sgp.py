"""An SGP (TSMX) simulator: the URA endpoints `POST /api/ura/{consultacliente,titulos,fatura2via,
liberacaopromessa,pagamento/pix/<id>}/` as the reference describes them, traps included.

- `token` + `app` in the body (form or JSON); `app` is case-sensitive: a wrong one is HTTP 403
  `{"detail": "Credenciais de autenticação ..."}`.
- `cpfcnpj` exactly: without a lookup key the answer is HTTP 200 `{"msg": "CPF/CNPJ ou Contrato ID Não
  informados"}` (an error without the expected list).
- One `consultacliente` entry per contract, with the formatted CPF, a padded status label and
  plaintext secrets (`servico_senha`, `contratoCentralSenha`).
- `titulos/` pages capped at `max_limit`; `repeat_pages` makes it ignore `offset` (the same page
  again) and `overlap_pages` starts every page with the previous page's last row.
- `fatura2via/` without `nao_gerar_os=1` opens a service order (`service_orders` counts them).
- `liberacaopromessa/`: only contracts 4 (Suspenso) or 7 (Ativo V. Reduzida), `promises_per_month`
  uses; success says `"liberado": "True"` (Django) and names the PPPoE login.

Seeded like the IXC simulator (`add_debtor(document, name, invoices, phones=...)`: the sandbox's
`ErpSimulator`), so the sandbox plays the same demo customers; `outage` switches on `"http_500"`, `"timeout"` or `"html"`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.erp_wire import Outage, outage_response, query_day, request_fields
from shared.core import clock

ZONE = ZoneInfo("America/Sao_Paulo")
STATUS_LABELS = {1: "Ativo", 2: "Inativo", 3: "Cancelado", 4: "Suspenso", 6: "Novo", 7: "Ativo V. Reduzida"}
AUTH_ERROR = {"detail": "Credenciais de autenticação não foram fornecidas."}
MISSING_KEY = {"msg": "CPF/CNPJ ou Contrato ID Não informados"}
UNLOCK_DAYS = 3


@dataclass
class SgpTitle:
    id: int
    invoice: SimInvoice
    contract_id: int


@dataclass
class SgpCustomer:
    client_id: int
    document: str  # digits
    name: str
    phones: tuple[str, ...]
    contracts: dict[int, int]  # contract id -> contratoStatus
    titles: list[SgpTitle] = field(default_factory=list)
    promises_this_month: int = 0

    @property
    def formatted_document(self) -> str:
        d = self.document
        if len(d) == 11:
            return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"
        return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"


class SgpSimulator:
    def __init__(
        self,
        token: str = "sgp-test-token",
        app: str = "Cobranca",
        *,
        max_limit: int = 250,
        promises_per_month: int = 1,
        hang_seconds: float = 30.0,
    ) -> None:
        self.token = token
        self.app_name = app
        self.max_limit = max_limit
        self.promises_per_month = promises_per_month
        self.hang_seconds = hang_seconds
        self.repeat_pages = False
        self.overlap_pages = False
        self.outage: Outage | None = None
        self.customers: dict[str, SgpCustomer] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (endpoint, fields without token/app)
        self.unlocks: list[dict[str, Any]] = []
        self.service_orders = 0
        self._next_id = 1000
        self._lock = threading.Lock()
        self.app = self._build_app()

    # --- seeding ---------------------------------------------------------------------------------

    def add_debtor(
        self,
        document: str,
        name: str,
        invoices: list[SimInvoice],
        *,
        phones: tuple[str, ...] = (),
        contract_status: int = 4,
    ) -> SgpCustomer:
        """A customer with one contract (suspended by default) billing `invoices`."""
        with self._lock:
            client_id, contract_id = self._new_id(), self._new_id()
            customer = SgpCustomer(client_id, document, name, phones, {contract_id: contract_status})
            customer.titles = [SgpTitle(self._new_id(), inv, contract_id) for inv in invoices]
            self.customers[document] = customer
            return customer

    def pay_all(self, document: str) -> None:
        with self._lock:
            self.customers[document].titles.clear()

    def pay_oldest(self, document: str) -> None:
        """The open invoice due first is paid; the others stay open."""
        with self._lock:
            open_now = self.customers[document].titles
            if open_now:
                open_now.remove(min(open_now, key=lambda entry: entry.invoice.due_date))

    def invoice_numbers(self, document: str) -> list[str]:
        """The numbers SGP gives the customer's open titles, in the order they were seeded."""
        with self._lock:
            return [str(title.id) for title in self.customers[document].titles]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- answers ---------------------------------------------------------------------------------

    def _consult(self, fields: dict[str, Any]) -> dict[str, Any]:
        document = str(fields.get("cpfcnpj") or "")
        if not document:
            return MISSING_KEY
        customer = self.customers.get(document)
        if customer is None:
            return {"msg": "Cliente não localizado", "contratos": []}
        return {
            "msg": "Contrato(s) Localizado(s)",
            "contratos": [
                {
                    "contratoId": contract_id,
                    "clienteId": customer.client_id,
                    "razaoSocial": customer.name,
                    "cpfCnpj": customer.formatted_document,
                    "contratoStatus": status,
                    "contratoStatusDisplay": f" {STATUS_LABELS.get(status, 'Outro')}",
                    "contratoValorAberto": float(sum(t.invoice.amount for t in customer.titles)),
                    "promessasPagamentoMes": customer.promises_this_month,
                    "telefones": list(customer.phones),
                    "planointernet": "*400MB FIBRA",
                    "servico_login": f"pppoe-{contract_id}",
                    "servico_senha": f"senha-pppoe-{contract_id}",
                    "contratoCentralSenha": f"central-{contract_id}",
                }
                for contract_id, status in customer.contracts.items()
            ],
        }

    def _titles(self, fields: dict[str, Any]) -> dict[str, Any]:
        today = clock.now().astimezone(ZONE).date()
        document = str(fields.get("cpfcnpj") or "")
        customers = [self.customers[document]] if document in self.customers else []
        if not document:
            customers = list(self.customers.values())
        start = query_day(fields.get("data_vencimento_inicio"))
        end = query_day(fields.get("data_vencimento_fim"))
        rows = [
            (customer, title)
            for customer in customers
            for title in customer.titles
            if (start is None or title.invoice.due_date >= start)
            and (end is None or title.invoice.due_date <= end)
        ]
        rows.sort(key=lambda row: (row[1].invoice.due_date, row[1].id))
        offset = 0 if self.repeat_pages else int(fields.get("offset") or 0)
        limit = min(int(fields.get("limit") or 250), self.max_limit)
        first = offset - 1 if self.overlap_pages and offset else offset  # the boundary row again
        page = rows[first : offset + limit]
        return {
            "paginacao": {"offset": offset, "limit": limit, "total": len(rows)},
            "titulos": [_title_json(customer, title, today) for customer, title in page],
        }

    def _second_copy(self, fields: dict[str, Any]) -> dict[str, Any]:
        if str(fields.get("nao_gerar_os") or "") != "1":
            self.service_orders += 1
        customer = self.customers.get(str(fields.get("cpfcnpj") or ""))
        if customer is None or not customer.titles:
            return {"status": 0, "links": []}
        return {
            "status": 1,
            "razaoSocial": customer.name,
            "protocolo": f"{len(self.requests):012d}",
            "cpfCnpj": customer.formatted_document,
            "contratoId": customer.titles[0].contract_id,
            "links": [
                {
                    "id": title.id + 50_000,
                    "fatura": title.id,
                    "valor": float(title.invoice.amount),
                    "vencimento": title.invoice.due_date.isoformat(),
                    "vencimento_original": title.invoice.due_date.isoformat(),
                    "linhadigitavel": title.invoice.linha_digitavel or f"75691.{title.id:05d} 01 0000",
                    "codigopix": title.invoice.pix_copia_cola or "",
                    "link": f"https://sgp.example/boleto/{title.id}-X/",
                    "link_cobranca": f"https://sgp.example/public/cobranca/{title.id}-X/",
                }
                for title in customer.titles
            ],
        }

    def _pix(self, title_id: int) -> dict[str, Any]:
        found = any(t.id == title_id for c in self.customers.values() for t in c.titles)
        if not found:
            return {"status": 0, "msg": "Fatura não encontrada"}
        return {"status": 1, "msg": "Dados do Pix", "pix": f"00020101021226SGP{title_id}6304ABCD"}

    def _unlock(self, fields: dict[str, Any]) -> dict[str, Any]:
        contract_id = int(fields.get("contrato") or 0)
        self.unlocks.append(dict(fields))
        customer = next((c for c in self.customers.values() if contract_id in c.contracts), None)
        if customer is None:
            return {"status": 0, "liberado": False, "msg": "Contrato não encontrado"}
        if customer.contracts[contract_id] not in (4, 7):
            return {"status": 2, "liberado": False, "msg": "Contrato não está suspenso."}
        if customer.promises_this_month >= self.promises_per_month:
            return {
                "status": 2,
                "liberado": False,
                "msg": "O recurso de promessa de pagamento já atingiu quantidade permitida. "
                "Recurso não disponível",
            }
        customer.promises_this_month += 1
        customer.contracts[contract_id] = 1
        return {
            "status": 1,
            "liberado": "True",
            "liberado_dias": str(UNLOCK_DAYS),
            "data_promessa": str(fields.get("data_promessa") or ""),
            "protocolo": f"{len(self.unlocks):012d}",
            "razaoSocial": customer.name,
            "cpfCnpj": customer.formatted_document,
            "contratoId": contract_id,
            "msg": f"Liberação via URA -\nServiço ID: 999, Login: pppoe-{contract_id}\n"
            "Motivo: Promessa de Pagamento\n",
        }

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        async def handle(request: Request, endpoint: str, answer: Any) -> Response:
            fields = await request_fields(request)
            if fields.get("token") != self.token or fields.get("app") != self.app_name:
                return JSONResponse(AUTH_ERROR, status_code=403)
            failed = await outage_response(self.outage, self.hang_seconds)
            if failed is not None:
                return failed
            with self._lock:
                public = {k: v for k, v in fields.items() if k not in ("token", "app")}
                self.requests.append((endpoint, public))
                return JSONResponse(answer(public))

        @app.post("/api/ura/consultacliente/")
        async def consult(request: Request) -> Response:
            return await handle(request, "consultacliente", self._consult)

        @app.post("/api/ura/titulos/")
        async def titles(request: Request) -> Response:
            return await handle(request, "titulos", self._titles)

        @app.post("/api/ura/fatura2via/")
        async def second_copy(request: Request) -> Response:
            return await handle(request, "fatura2via", self._second_copy)

        @app.post("/api/ura/liberacaopromessa/")
        async def unlock(request: Request) -> Response:
            return await handle(request, "liberacaopromessa", self._unlock)

        @app.post("/api/ura/pagamento/pix/{title_id}/")
        async def pix(request: Request, title_id: int) -> Response:
            return await handle(request, "pagamento/pix", lambda _: self._pix(title_id))

        return app


def _title_json(customer: SgpCustomer, title: SgpTitle, today: date) -> dict[str, Any]:
    inv = title.invoice
    return {
        "id": title.id,
        "numeroDocumento": title.id + 7_000,
        "clienteId": customer.client_id,
        "clienteNome": customer.name,
        "clienteCpfcnpj": customer.formatted_document,
        "clienteContrato": title.contract_id,
        "status": "aberto",
        "valor": float(inv.amount),
        "valorCorrigido": float(inv.amount),
        "valorPago": 0,
        "diasAtraso": max(0, (today - inv.due_date).days),
        "dataVencimento": inv.due_date.isoformat(),
        "dataPagamento": "",
        "linhaDigitavel": inv.linha_digitavel or f"75691.{title.id:05d} 01 0000",
        "codigoPix": inv.pix_copia_cola or "",
        "link": f"https://sgp.example/boleto/{title.id}-X/",
    }
