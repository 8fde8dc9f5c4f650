"""An IXC Soft (IXC Provedor) simulator: `POST /webservice/v1/<tabela>` as the ERP reference (§1)
describes it, traps included.

- Basic auth `user_id:token`; a wrong one gets HTTP 401 with an HTML page.
- Lists (`cliente`, `cliente_contrato`, `fn_areceber`) need `ixcsoft: listar` (without it a POST is
  IXC's insert route, refused here with an error envelope); bodies `qtype`/`query`/`oper`/`page`/`rp`/
  `sortname`/`sortorder` plus `grid_param` (a JSON array in a string, ANDed). Every value must be a
  string (stricter than IXC, so a lax client shows up). Answers are strings too: `page`, `total`,
  ids, money; `registros` is absent when nothing matched.
- Errors are `{"type": "error", "message": ...}` with HTTP 200 and `text/html`.
- CPF/CNPJ are stored masked (`123.456.789-09`) unless seeded otherwise; rows carry the customer's
  plaintext password, as IXC's do.
- `get_pix` answers the BR Code with `dadosPix.status` (`ATIVA` while open), HTTP 500 for an unknown
  title; `get_boleto` answers base64 PDF text (an empty body for an unknown title), registers the
  typeable line, and records whether `atualiza_boleto` was `"S"` (a charge rewrite).
- `desbloqueio_confianca` answers `tipo`/`codigo`/`mensagem`: 106 unknown contract, 107 not
  blocked, 109 inactive, 113 already used in this unpaid cycle (paying the contract's titles
  re-enables it). An unlock lifts the block for `unlock_days`.

Seeding: `add_customer` / `add_contract` / `add_invoice` row by row, or `add_debtor` from the CRM
simulator's invoices (the same demo customers); `pay`, `pay_all` and `block` move the story on.
Knobs: `outage` (`"http_500"`, `"timeout"`, `"html"`, `"error_200"`; on every endpoint, or only on
those in `outage_paths` when it is not empty), `pix_gateway` (False: every
`get_pix` is refused with an error envelope), and `requests`, every call received.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.erp_wire import Outage as ErpOutage
from infra.local.simulators.erp_wire import outage_response
from shared.core import clock
from shared.domain.documents import format_document

Outage = Literal[ErpOutage, Literal["error_200"]]  # and IXC's error envelope with HTTP 200
ZONE: Final = ZoneInfo("America/Sao_Paulo")
LIST_TABLES: Final = ("cliente", "cliente_contrato", "fn_areceber")
PDF: Final = b"%PDF-1.4\n% simulated IXC boleto\n%%EOF\n"
ACTIVE_INTERNET: Final = "A"


@dataclass
class SimRequest:
    path: str
    headers: dict[str, str]
    body: Any


class IxcSimulator:
    def __init__(
        self,
        user_id: str = "7",
        token: str = "ixc-test-token",
        *,
        timeout_seconds: float = 30.0,
        unlock_days: int = 3,
    ) -> None:
        self.user_id = user_id
        self.token = token
        self.unlock_days = unlock_days
        self.outage: Outage | None = None
        self.outage_paths: set[str] = set()
        self.pix_gateway = True
        self.requests: list[SimRequest] = []
        self.tables: dict[str, dict[str, dict[str, str]]] = {table: {} for table in LIST_TABLES}
        self.unlock_used: set[str] = set()  # contracts whose trust unlock awaits a payment
        self.rewritten_charges: list[str] = []  # titles asked with atualiza_boleto = "S"
        self._timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._next_id = 1000
        self.app = self._build_app()

    # -- seeding ----------------------------------------------------------------------------------

    def add_customer(
        self,
        document: str,
        name: str,
        *,
        phones: tuple[str, ...] = (),
        password: str = "senha-do-cliente",
        masked: bool = True,
    ) -> str:
        """A `cliente` row (document stored masked unless `masked=False`); returns its id."""
        stored = format_document(document) if masked else "".join(ch for ch in document if ch.isalnum())
        cells = dict(zip(("telefone_celular", "whatsapp", "fone"), phones, strict=False))
        return self._insert(
            "cliente",
            {
                "razao": name,
                "fantasia": "",
                "cnpj_cpf": stored,
                "tipo_pessoa": "F" if sum(ch.isalnum() for ch in stored) == 11 else "J",
                "ativo": "S",
                "telefone_celular": cells.get("telefone_celular", ""),
                "whatsapp": cells.get("whatsapp", ""),
                "fone": cells.get("fone", ""),
                "telefone_comercial": "",
                "email": "",
                "senha": password,
                "hotsite_email": "",
                "cidade": "3102",
                "uf": "24",
            },
        )

    def add_contract(self, customer_id: str, *, internet_status: str = "CA", status: str = "A") -> str:
        """A `cliente_contrato` row (`status_internet` CA: blocked automatically for debt)."""
        return self._insert(
            "cliente_contrato",
            {
                "id_cliente": customer_id,
                "contrato": "FIBRA 300MB",
                "status": status,
                "status_internet": internet_status,
                "desbloqueio_confianca": "P",
                "desbloqueio_confianca_ativo": "N",
                "dt_ult_desb_conf": "0000-00-00",
                "nao_bloquear_ate": "0000-00-00",
            },
        )

    def add_invoice(
        self,
        customer_id: str,
        amount: Decimal,
        due_date: date,
        *,
        contract_id: str | None = None,
        contract_field: str = "id_contrato",
        linha_digitavel: str = "",
        gateway_link: str = "",
        liberado: str = "S",
        status: str = "A",
    ) -> str:
        """An open `fn_areceber` title; the contract goes in `contract_field` (`id_contrato`,
        `id_contrato_avulso` or `id_contrato_principal`), the other two left empty as IXC does."""
        row = {
            "id_cliente": customer_id,
            "id_contrato": "",
            "id_contrato_avulso": "",
            "id_contrato_principal": "0",
            "status": status,
            "liberado": liberado,
            "data_emissao": (due_date - timedelta(days=13)).isoformat(),
            "data_vencimento": due_date.isoformat(),
            "valor": f"{amount:.2f}",
            "valor_recebido": "0.00",
            "valor_aberto": f"{amount:.2f}",
            "valor_cancelado": "0.00",
            "linha_digitavel": linha_digitavel,
            "gateway_link": gateway_link,
            "pix_txid": "",
            "impresso": "S" if linha_digitavel else "N",
            "baixa_data": "",
        }
        if contract_id is not None:
            row[contract_field] = contract_id
        return self._insert("fn_areceber", row)

    def add_debtor(
        self, document: str, name: str, invoices: list[SimInvoice], *, phones: tuple[str, ...] = ()
    ) -> str:
        """A customer with one blocked contract billing `invoices` (the CRM simulator's, so the
        sandbox seeds both from the same demo customers; IXC numbers the titles itself)."""
        customer = self.add_customer(document, name, phones=phones)
        contract = self.add_contract(customer)
        for invoice in invoices:
            self.add_invoice(
                customer,
                invoice.amount,
                invoice.due_date,
                contract_id=contract,
                linha_digitavel=invoice.linha_digitavel or "",
            )
        return customer

    def pay_all(self, document: str) -> None:
        """Every open title of every registration of `document` is received."""
        for title in self._open_titles(document):
            self.pay(title)

    def _open_titles(self, document: str) -> list[str]:
        digits = "".join(ch for ch in document if ch.isalnum())
        with self._lock:
            customers = {
                row["id"]
                for row in self.tables["cliente"].values()
                if "".join(ch for ch in row["cnpj_cpf"] if ch.isalnum()) == digits
            }
            return [
                row["id"]
                for row in self.tables["fn_areceber"].values()
                if row["id_cliente"] in customers and row["status"] in ("A", "P")
            ]

    def pay_oldest(self, document: str) -> None:
        """The open title due first is received; the others stay open."""
        titles = self._open_titles(document)
        if titles:
            self.pay(min(titles, key=lambda title: self.tables["fn_areceber"][title]["data_vencimento"]))

    def invoice_numbers(self, document: str) -> list[str]:
        """The numbers IXC gives the customer's open titles (their ids), in the order they were seeded."""
        return sorted(self._open_titles(document), key=int)

    def pay(self, invoice_id: str) -> None:
        """The title is received; its contract's trust unlock is available again (the 113 rule)."""
        with self._lock:
            row = self.tables["fn_areceber"][invoice_id]
            row.update(status="R", valor_recebido=row["valor"], valor_aberto="0.00", baixa_data=_today())
            for name in ("id_contrato", "id_contrato_avulso", "id_contrato_principal"):
                self.unlock_used.discard(row[name])

    def block(self, contract_id: str, internet_status: str = "CA") -> None:
        """The automatic block comes back (e.g. the trust-unlock period ended unpaid)."""
        with self._lock:
            self.tables["cliente_contrato"][contract_id]["status_internet"] = internet_status

    def calls_to(self, path: str) -> list[SimRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _insert(self, table: str, row: dict[str, str]) -> str:
        with self._lock:
            self._next_id += 1
            row_id = str(self._next_id)
            self.tables[table][row_id] = {"id": row_id, **row}
            return row_id

    # -- answers ----------------------------------------------------------------------------------

    def _list(self, table: str, body: Any) -> Response:
        if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            return _error("Parâmetros inválidos: todos os valores devem ser texto.")
        try:
            filters = [(body.get("qtype", ""), body.get("oper", "="), body.get("query", ""), None)]
            filters += [
                (item["TB"], item["OP"], item["P"], item.get("P2"))
                for item in json.loads(body.get("grid_param") or "[]")
            ]
            page, rows_per_page = int(body.get("page") or "1"), int(body.get("rp") or "20")
        except (ValueError, KeyError, TypeError):
            return _error("Parâmetros inválidos.")
        for field, *_ in filters:
            if not field.startswith(f"{table}."):
                return _error(f"Campo {field} não existe na tabela {table}.")
        with self._lock:
            rows = [
                dict(row)
                for row in self.tables[table].values()
                if all(_matches(row.get(f.split(".", 1)[1], ""), op, p, p2) for f, op, p, p2 in filters)
            ]
        sort_field = (body.get("sortname") or f"{table}.id").split(".", 1)[-1]
        rows.sort(key=lambda row: _sort_key(row.get(sort_field, "")), reverse=body.get("sortorder") == "desc")
        chosen = rows[(page - 1) * rows_per_page : page * rows_per_page]
        answer: dict[str, Any] = {"page": str(page), "total": str(len(rows))}
        if chosen:
            answer["registros"] = chosen
        return _ixc_json(answer)

    def _pix(self, body: Any) -> Response:
        invoice_id = str(body.get("id_areceber", "")) if isinstance(body, dict) else ""
        with self._lock:
            row = self.tables["fn_areceber"].get(invoice_id)
            if row is None:
                return JSONResponse({"type": "error", "message": "Título não encontrado."}, status_code=500)
            if not self.pix_gateway:
                return _error("Não há gateway Pix configurado para a carteira deste título.")
            status = "ATIVA" if row["status"] in ("A", "P") else "CONCLUIDA"
            brcode = f"00020101021226870014br.gov.bcb.pix2565pix.ixc.example/qr/v2/{invoice_id}5204000053039865802BR6304ABCD"
            row["pix_txid"] = f"IXC{invoice_id}"
            return _ixc_json(
                {
                    "type": "success",
                    "gateway": "simulado",
                    "pix": {
                        "qrCode": {"qrcode": brcode, "imagemQrcode": base64.b64encode(b"png").decode()},
                        "dadosPix": {
                            "pixCopiaECola": brcode,
                            "status": status,
                            "txid": row["pix_txid"],
                            "valor": {"original": row["valor_aberto"]},
                        },
                    },
                }
            )

    def _boleto(self, body: Any) -> Response:
        invoice_id = str(body.get("boletos", "")) if isinstance(body, dict) else ""
        with self._lock:
            row = self.tables["fn_areceber"].get(invoice_id)
            if row is None:
                return Response(b"", media_type="text/html")
            if body.get("atualiza_boleto") == "S":
                self.rewritten_charges.append(invoice_id)
            if not row["linha_digitavel"]:
                row["linha_digitavel"] = (
                    f"34191.09008 {int(invoice_id):05d}.000000 00000.000000 1 1{row['valor_aberto'].replace('.', ''):0>13}"
                )
            row["impresso"] = "S"
        if body.get("base64") == "S":
            return Response(base64.b64encode(PDF), media_type="text/html")
        return Response(PDF, media_type="application/pdf")

    def _unlock(self, body: Any) -> Response:
        contract_id = str(body.get("id", "")) if isinstance(body, dict) else ""
        with self._lock:
            contract = self.tables["cliente_contrato"].get(contract_id)
            if contract is None:
                return _refusal("106", "ID de contrato inexistente na base de dados.")
            if contract["status"] == "I":
                return _refusal(
                    "109", "Não é possível utilizar o desbloqueio de confiança, o contrato está inativo."
                )
            if contract_id in self.unlock_used:
                return _refusal(
                    "113",
                    f"O desbloqueio de confiança não está disponível para o contrato {contract_id}, este recurso "
                    f"foi usado no dia {contract['dt_ult_desb_conf']} e não foi realizado o pagamento até o dia "
                    f"{contract['nao_bloquear_ate']}, este recurso será habilitado novamente quando o título "
                    "que vence após o dia for pago.",
                )
            if contract["status_internet"] == ACTIVE_INTERNET:
                return _refusal(
                    "107",
                    "O contrato já encontra-se ativo, não é necessário utilizar o desbloqueio de confiança.",
                )
            today = date.fromisoformat(_today())
            contract.update(
                status_internet=ACTIVE_INTERNET,
                desbloqueio_confianca_ativo="S",
                dt_ult_desb_conf=today.isoformat(),
                nao_bloquear_ate=(today + timedelta(days=self.unlock_days)).isoformat(),
            )
            self.unlock_used.add(contract_id)
        return _ixc_json({"tipo": "sucesso", "mensagem": "Desbloqueio de confiança efetuado com sucesso."})

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        expected = "Basic " + base64.b64encode(f"{self.user_id}:{self.token}".encode()).decode()

        @app.post("/webservice/v1/{path}")
        async def webservice(path: str, request: Request) -> Response:
            raw = await request.body()
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = None
            with self._lock:
                self.requests.append(SimRequest(path, dict(request.headers), body))
            if request.headers.get("authorization") != expected:
                return HTMLResponse("<html><body><h1>401 - Acesso negado</h1></body></html>", status_code=401)
            outage = self.outage if not self.outage_paths or path in self.outage_paths else None
            if outage == "error_200":
                return _error(f"Recurso {path} não está disponível!")
            failed = await outage_response(outage, self._timeout_seconds)
            if failed is not None:
                return failed
            if path in LIST_TABLES:
                if request.headers.get("ixcsoft") != "listar":
                    return _error("Campos obrigatórios não informados.")  # the insert route
                return self._list(path, body)
            if path == "get_pix":
                return self._pix(body)
            if path == "get_boleto":
                return self._boleto(body)
            if path == "desbloqueio_confianca":
                return self._unlock(body)
            return _error(f"Recurso {path} não está disponível!")

        return app


def _matches(value: str, op: str, expected: str, expected2: str | None) -> bool:
    left, right = _sort_key(value), _sort_key(expected)
    if op == "L":
        return expected.strip("%").lower() in value.lower()
    if op == "BE":
        return right <= left <= _sort_key(expected2 or "")
    comparisons = {
        "=": left == right,
        "!=": left != right,
        ">": left > right,
        "<": left < right,
        ">=": left >= right,
        "<=": left <= right,
    }
    return comparisons.get(op, False)


def _sort_key(value: str) -> tuple[int, Decimal, str]:
    """Numbers compare as numbers (ids, money), everything else as text (ISO dates sort as text)."""
    try:
        return (0, Decimal(value), "")
    except InvalidOperation:
        return (1, Decimal(0), value)


def _today() -> str:
    return clock.now().astimezone(ZONE).date().isoformat()


def _ixc_json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), media_type="text/x-json")


def _error(message: str) -> Response:
    """IXC's error: HTTP 200, `text/html`, a JSON body."""
    return Response(
        json.dumps({"type": "error", "message": message}, ensure_ascii=False), media_type="text/html"
    )


def _refusal(code: str, message: str) -> Response:
    return _ixc_json({"tipo": "erro", "codigo": code, "mensagem": message})
