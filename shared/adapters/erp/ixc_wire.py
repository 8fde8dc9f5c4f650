"""IXC Soft's wire format, pure: list bodies, the list envelope, and what the adapter keeps of a row.

Everything IXC sends is a string (ids, money, flags, `page`, `total`), empty values are `""` and empty
dates often `"0000-00-00"`; errors come as `{"type": "error", "message": ...}` with HTTP 200. Rows come
back whole, plaintext passwords included (`cliente.senha`, hotspot/PPPoE `radusuarios.senha`): the
parsers here read an allow-list of fields into small values, so a secret never leaves this module.
Anything unexpected raises `IxcWireError`; the adapter turns it into "unknown" (fail closed).
The contract is the ERP reference's IXC section (isp-erp-contracts.md §1).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from shared.adapters.billing import UnlockResult, UnlockStatus
from shared.adapters.crm import Invoice
from shared.domain.errors import InvalidInput
from shared.domain.money import parse_money

LIST_HEADERS: Final = {"ixcsoft": "listar"}
# `fn_areceber.status`: A aberto, P parcial, R recebido, C cancelado; `liberado = N` hides the title.
OPEN_STATUSES: Final = frozenset({"A", "P"})
# `cliente_contrato.status_internet` of a contract blocked for debt (manual, automatic, overdue).
SUSPENDED_INTERNET: Final = frozenset({"CM", "CA", "FA"})
# The contract link of a receivable sits in any of these, the first non-empty one wins.
_CONTRACT_FIELDS: Final = ("id_contrato", "id_contrato_avulso", "id_contrato_principal")
_PHONE_FIELDS: Final = ("telefone_celular", "whatsapp", "fone", "telefone_comercial")
_EMPTY_DATES: Final = frozenset({"", "0000-00-00"})

# Trust-unlock refusals IXC documents, explained to the customer in plain Portuguese.
UNLOCK_REFUSALS: Final = {
    "106": "Não encontramos esse contrato no sistema do provedor.",
    "107": "A internet desse contrato já está liberada, não é preciso desbloquear.",
    "109": "Esse contrato está inativo, então o desbloqueio em confiança não está disponível.",
    "113": (
        "O desbloqueio em confiança já foi usado neste ciclo e só volta a ficar disponível "
        "depois que a fatura em aberto for paga."
    ),
}


class IxcWireError(ValueError):
    """An IXC body that is not a usable answer: an error envelope or an unexpected shape."""


@dataclass(frozen=True, slots=True)
class GridFilter:
    """One `grid_param` item: `{"TB": field, "OP": op, "P": value[, "P2": value2]}` (ANDed)."""

    field: str  # "<tabela>.<campo>": IXC refuses a field without its table prefix
    op: str  # "=", "!=", ">", "<", ">=", "<=", "L" (LIKE), "BE" (between P and P2)
    value: str
    value2: str | None = None

    def to_wire(self) -> dict[str, str]:
        item = {"TB": self.field, "OP": self.op, "P": self.value}
        if self.value2 is not None:
            item["P2"] = self.value2
        return item


OPEN_INVOICE_FILTERS: Final = (
    GridFilter("fn_areceber.liberado", "=", "S"),
    GridFilter("fn_areceber.status", "!=", "C"),
    GridFilter("fn_areceber.status", "!=", "R"),
)


def list_body(
    qtype: str,
    query: str,
    *,
    sortname: str,
    oper: str = "=",
    page: int = 1,
    rows: int = 100,
    sortorder: str = "asc",
    grid: Iterable[GridFilter] = (),
) -> dict[str, str]:
    """A list request body, every value a string; `grid` becomes `grid_param`, a JSON array
    serialized as a string inside the body."""
    body = {
        "qtype": qtype,
        "query": query,
        "oper": oper,
        "page": str(page),
        "rp": str(rows),
        "sortname": sortname,
        "sortorder": sortorder,
    }
    items = [item.to_wire() for item in grid]
    if items:
        body["grid_param"] = json.dumps(items, separators=(",", ":"))
    return body


@dataclass(frozen=True, slots=True)
class ListPage:
    page: int
    total: int
    rows: tuple[Mapping[str, Any], ...]

    def has_more(self, rows_per_page: int) -> bool:
        """IXC's pagination rule: another page exists while `page * rp < total`."""
        return bool(self.rows) and self.page * rows_per_page < self.total


def raise_for_error(body: Any) -> None:
    """`{"type": "error", "message": ...}` is IXC's error, whatever the HTTP status said."""
    if isinstance(body, dict) and str(body.get("type", "")).lower() == "error":
        raise IxcWireError(f"IXC error: {str(body.get('message') or '')[:200]}")


def parse_list(body: Any) -> ListPage:
    """The list envelope `{"page", "total", "registros"}`; `total` may be a string or a number and
    `registros` is absent when nothing matched."""
    raise_for_error(body)
    if not isinstance(body, dict) or "total" not in body:
        raise IxcWireError("list answer without a total")
    total = _int(body["total"], "total")
    rows = body.get("registros") or []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise IxcWireError("registros is not a list of objects")
    if total < len(rows):
        raise IxcWireError(f"total={total} but {len(rows)} rows listed")
    return ListPage(page=_int(body.get("page") or "1", "page"), total=total, rows=tuple(rows))


@dataclass(frozen=True, slots=True)
class IxcCustomer:
    """What the adapter keeps of a `cliente` row: never its password or other secrets."""

    id: str
    name: str
    document: str  # as stored, punctuation removed (IXC stores it masked, not consistently)
    phones: tuple[str, ...]  # free text as the ERP has them, first the mobile ones


def parse_customer(row: Mapping[str, Any]) -> IxcCustomer:
    customer_id = _required(row, "id")
    phones = dict.fromkeys(p for p in (_text(row, name) for name in _PHONE_FIELDS) if p)
    return IxcCustomer(
        id=customer_id,
        name=_text(row, "razao") or _text(row, "fantasia"),
        document="".join(ch for ch in _text(row, "cnpj_cpf") if ch.isalnum()).upper(),
        phones=tuple(phones),
    )


@dataclass(frozen=True, slots=True)
class IxcContract:
    """What the adapter keeps of a `cliente_contrato` row."""

    id: str
    customer_id: str
    status: str  # A ativo, I inativo, P pré-contrato, N negativado, D desistiu
    internet_status: str  # A, D, CM, CA, FA, AA (CE unknown)
    blocked_until: date | None  # `nao_bloquear_ate`: the end of a trust unlock in effect

    @property
    def suspended(self) -> bool:
        return self.internet_status in SUSPENDED_INTERNET


def parse_contract(row: Mapping[str, Any]) -> IxcContract:
    return IxcContract(
        id=_required(row, "id"),
        customer_id=_text(row, "id_cliente"),
        status=_text(row, "status").upper(),
        internet_status=_text(row, "status_internet").upper(),
        blocked_until=_date(_text(row, "nao_bloquear_ate")),
    )


def invoice_contract(row: Mapping[str, Any]) -> str | None:
    """The contract a receivable bills: the first of its three contract fields that is set."""
    for name in _CONTRACT_FIELDS:
        value = _text(row, name)
        if value and value != "0":
            return value
    return None


def receivable_customer(row: Mapping[str, Any]) -> str:
    """The customer id of an `fn_areceber` row."""
    return _required(row, "id_cliente")


def is_printed(row: Mapping[str, Any]) -> bool:
    """Whether IXC rendered the boleto already (its typeable line exists once it has)."""
    return _text(row, "impresso").upper() == "S"


def is_open(row: Mapping[str, Any]) -> bool:
    """An open, customer-visible receivable (`status` A or P, `liberado = S`)."""
    return _text(row, "status").upper() in OPEN_STATUSES and _text(row, "liberado").upper() == "S"


def parse_open_invoice(row: Mapping[str, Any], today: date) -> Invoice | None:
    """The domain invoice of an open `fn_areceber` row (amount due = `valor_aberto`); None when the
    row is not open or nothing is left to pay. The time bar is the domain's (`Debt.collectible`)."""
    if not is_open(row):
        return None
    try:
        amount = parse_money(_required(row, "valor_aberto"))
    except InvalidInput as exc:
        raise IxcWireError(f"valor_aberto: {exc.message}") from None
    if amount <= 0:
        return None
    due = _date(_required(row, "data_vencimento"))
    if due is None:
        raise IxcWireError("open receivable without data_vencimento")
    return Invoice(
        number=_required(row, "id"),
        amount=amount,
        due_date=due,
        days_overdue=max(0, (today - due).days),
        linha_digitavel=_text(row, "linha_digitavel") or None,
        link=_text(row, "gateway_link") or None,
        contract_id=invoice_contract(row),
    )


def parse_pix(body: Any) -> str | None:
    """The BR Code of a `get_pix` answer, only while the charge is `ATIVA` (not paid, expired or
    cancelled); None otherwise, and for an error envelope (no Pix gateway, Pix refused): the title
    is still payable by boleto. A body of any other shape raises."""
    kind = str(body.get("type", "")).lower() if isinstance(body, dict) else ""
    if kind == "error":
        return None
    if kind != "success":
        raise IxcWireError("get_pix answer is neither success nor error")
    pix = body.get("pix")
    if not isinstance(pix, dict):
        raise IxcWireError("get_pix answer without pix")
    details = _object(pix.get("dadosPix"))
    if str(details.get("status", "")).upper() != "ATIVA":
        return None
    code = str(details.get("pixCopiaECola") or _object(pix.get("qrCode")).get("qrcode") or "").strip()
    return code or None


def boleto_body(invoice_id: str) -> dict[str, str]:
    """`get_boleto` for one title, read-only: never `atualiza_boleto: "S"` (it recalculates and
    rewrites the charge), no interest or fine added, the PDF as base64 text."""
    return {
        "boletos": invoice_id,
        "juro": "N",
        "multa": "N",
        "atualiza_boleto": "N",
        "tipo_boleto": "arquivo",
        "base64": "S",
        "layout_impressao": "",
    }


def is_pdf(body: bytes) -> bool:
    """Whether a `get_boleto` answer is a PDF (raw, or base64 text): an unknown title gets an empty
    body or a non-PDF one with HTTP 200."""
    if body.startswith(b"%PDF"):
        return True
    try:
        return base64.b64decode(body.strip(), validate=True).startswith(b"%PDF")
    except (binascii.Error, ValueError):
        return False


def parse_unlock(body: Any, contract_id: str) -> UnlockResult:
    """A `desbloqueio_confianca` answer (keys in Portuguese: `tipo`/`codigo`/`mensagem`). A refusal
    keeps IXC's code and a plain Portuguese reason; `until` is read from the contract afterwards."""
    raise_for_error(body)
    if not isinstance(body, dict):
        raise IxcWireError("desbloqueio_confianca answer is not an object")
    kind = str(body.get("tipo", "")).lower()
    if kind == "sucesso":
        return UnlockResult(UnlockStatus.UNLOCKED, contract_id=contract_id)
    if kind != "erro":
        raise IxcWireError(f"desbloqueio_confianca answered tipo={kind!r}")
    code = str(body.get("codigo") or "").strip() or None
    reason = UNLOCK_REFUSALS.get(code or "") or str(body.get("mensagem") or "").strip() or None
    return UnlockResult(UnlockStatus.REFUSED, contract_id=contract_id, code=code, reason=reason)


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _required(row: Mapping[str, Any], name: str) -> str:
    value = _text(row, name)
    if not value:
        raise IxcWireError(f"row without {name}")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise IxcWireError(f"{name} is not a count: {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise IxcWireError(f"{name} is not a count: {str(value)[:20]!r}") from None
    if number < 0:
        raise IxcWireError(f"{name} is negative")
    return number


def _date(value: str) -> date | None:
    if value in _EMPTY_DATES:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise IxcWireError(f"not a date: {value[:20]!r}") from None
