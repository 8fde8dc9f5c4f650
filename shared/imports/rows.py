"""Target import: a supervisor's spreadsheet → validated targets, per-row errors, a rejected-rows report.

Shared by the synchronous upload API and the S3 ingest Lambda. `parse_targets` streams: it yields,
row by row, either a `TargetRow` (valid, keep it) or an `ImportRowError` (rejected, report it), so
one bad row never sinks the file while a file that is not a usable spreadsheet at all raises a
`SpreadsheetError` (a 4xx) — for lazily-read files, when iteration starts.

The rules, in one place:
- columns are recognised by name, Portuguese or English, ignoring case, accents, spaces and
  punctuation (`COLUMN_SYNONYMS`); several columns for one field (`telefone` and `celular`, `cpf`
  and `cnpj`) are tried in preference order, the first non-empty one wins;
- a row needs a name, a phone, a valid CPF/CNPJ and an amount > 0; a due date, if given, must not
  be more than 5 years old (the debt would be time-barred: SPEC §4, never collected);
- numbers Excel mangled are repaired when that is unambiguous: a document that became a float
  gets back the leading zeros Excel dropped, but only if the padded value passes its check digits;
- the same document + invoice number twice in a file is reported as a duplicate, not imported twice;
- each rejected row gets one error (the first problem found), with its line and a human message.

Error messages and values are for the supervisor who uploaded the file: they may contain the row's
document and phone. Never log them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import starmap
from operator import itemgetter
from types import MappingProxyType
from typing import IO, Final, NamedTuple

from shared.domain.documents import InvalidDocument, is_valid_cnpj, is_valid_cpf, normalize_document
from shared.domain.models import ImportRowError
from shared.domain.money import InvalidAmount, parse_money
from shared.domain.phones import InvalidPhone, normalize_phone
from shared.domain.time_bar import TIME_BAR_YEARS, time_bar_cutoff
from shared.imports.spreadsheets import (
    Cell,
    Row,
    SpreadsheetError,
    UnreadableRow,
    iter_csv_bytes,
    iter_rows,
    write_xlsx,
)

# --- Columns: the one table of header names ---

# Field → the header names it is known by, in preference order (when a file has two columns for
# one field, the earlier name is tried first). Written as people write them; matching ignores case,
# accents, spaces, underscores and punctuation, and anything in parentheses ("Valor (R$)").
COLUMN_SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "client_name": (
            "nome", "clientName", "nome do cliente", "nome_cliente", "cliente", "nome completo",
            "razão social", "nome/razão social", "name", "client name", "customer", "customer name",
            "customerName", "assinante",
        ),
        "phone": (
            # Mobiles first: WhatsApp needs one.
            "celular", "whatsapp", "telefone celular", "phoneNumber", "telefone", "fone", "phone",
            "phone number", "mobile", "cel", "tel", "telefone 1",
        ),
        "document": (
            "cpf_cnpj", "cpf/cnpj", "cpf ou cnpj", "cnpj/cpf", "documento", "clientDocument", "cpf", "cnpj",
            "doc", "document", "client document", "taxId", "tax id",
        ),
        "debt_amount": (
            "valor", "debtAmount", "valor da dívida", "valor_divida", "valor em aberto", "valor do débito",
            "valor_debito", "valor devido", "valor da fatura", "valor_fatura", "valor total", "débito",
            "dívida", "saldo devedor", "saldo", "amount", "debt amount", "amount due",
        ),
        "invoice_number": (
            "fatura", "invoiceNumber", "número da fatura", "numero_fatura", "nº fatura", "n fatura",
            "num fatura", "nr fatura", "título", "documento fatura", "invoice", "invoice number",
            "invoice id",
        ),
        "installation_point": (
            "ponto_instalacao", "installationPoint", "ponto de instalação", "ponto", "instalação",
            "código de instalação", "installation point", "installation",
        ),
        "invoice_due_date": (
            "vencimento", "dueDate", "data_vencimento", "data de vencimento", "dt vencimento",
            "venc", "vcto", "invoiceDueDate", "due date",
        ),
    }
)  # fmt: skip
REQUIRED_FIELDS: Final = ("client_name", "phone", "document", "debt_amount")

MAX_NAME_LENGTH: Final = 150
# How many distinct recent rows the parser remembers to name a duplicate's first line (see
# ImportValidator): about 1 MB, and a billing export lists a customer's invoices together.
DUPLICATE_WINDOW: Final = 8192
# A title line or two above the header ("Relatório de inadimplentes — março") is common.
HEADER_SEARCH_ROWS: Final = 10

_PARENTHESIZED = re.compile(r"\(.*?\)")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def normalize_header(label: object) -> str:
    """A header cell reduced to what identifies it: `"Ponto de Instalação"` → `"pontodeinstalacao"`."""
    text = unicodedata.normalize("NFKD", str(label)).lower()
    text = "".join(char for char in text if not unicodedata.combining(char))
    return _NOT_ALNUM.sub("", _PARENTHESIZED.sub("", text))


# normalized header → (field, preference rank)
_HEADER_INDEX: Final[Mapping[str, tuple[str, int]]] = MappingProxyType(
    {
        normalize_header(name): (field, rank)
        for field, names in COLUMN_SYNONYMS.items()
        for rank, name in enumerate(names)
    }
)


# How a missing required column is named to the supervisor: the Portuguese name, then the others.
_MISSING_COLUMN_HINTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "client_name": "nome (or clientName)",
        "phone": "telefone (or celular, phoneNumber)",
        "document": "cpf (or cpf_cnpj, documento, clientDocument)",
        "debt_amount": "valor (or debtAmount)",
    }
)


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Where each field is in the rows of one file."""

    header_line: int
    columns: Mapping[str, tuple[int, ...]]  # field → column indexes, preferred first
    labels: Mapping[str, str]  # field → its header as written in the file (for messages)

    @classmethod
    def from_header(cls, line: int, cells: Sequence[Cell]) -> ColumnMap:
        """Map a header row; raises `SpreadsheetError` (`no_header`, `missing_columns`)."""
        found: dict[str, list[tuple[int, int]]] = {}
        labels: dict[str, str] = {}
        for index, cell in enumerate(cells):
            if cell is None or cell == "":
                continue
            match = _HEADER_INDEX.get(normalize_header(cell))
            if match is not None:
                field, rank = match
                found.setdefault(field, []).append((rank, index))
        if not found:
            shown = ", ".join(repr(str(cell)[:30]) for cell in cells[:6] if cell not in ("", None))
            raise SpreadsheetError(
                "no_header",
                f"line {line} is not a header row: expected column names such as nome, telefone, cpf, "
                f"valor (Portuguese or English), found {shown or 'nothing'}",
            )
        missing = [field for field in REQUIRED_FIELDS if field not in found]
        if missing:
            present = ", ".join(str(cell) for cell in cells if cell not in ("", None))
            raise SpreadsheetError(
                "missing_columns",
                f"missing required column(s): {'; '.join(_MISSING_COLUMN_HINTS[field] for field in missing)}. "
                f"The header on line {line} has: {present}",
            )
        columns = {field: tuple(index for _, index in sorted(hits)) for field, hits in found.items()}
        for field, indexes in columns.items():
            labels[field] = str(cells[indexes[0]]).strip()
        return cls(line, MappingProxyType(columns), MappingProxyType(labels))


def find_header(rows: Iterator[Row]) -> ColumnMap:
    """The column map of a file, from its header: the first row with at least two filled cells.

    Rows above it with a single cell are title lines ("Relatório de inadimplentes — março") and are
    skipped. Consumes rows up to and including the header. Raises `SpreadsheetError`: the header's
    own problem (`no_header`, `missing_columns`), or `no_header` when the first
    `HEADER_SEARCH_ROWS` rows all have a single column (usually an unsupported delimiter).
    """
    first: Row | None = None
    for _, (line, cells) in zip(range(HEADER_SEARCH_ROWS), rows, strict=False):
        if first is None:
            first = (line, cells)
        if sum(1 for cell in cells if cell is not None and str(cell).strip()) >= 2:
            return ColumnMap.from_header(line, cells)
    if first is None:
        raise SpreadsheetError("empty_file", "the file has no rows")
    line, cells = first
    text = next((str(cell) for cell in cells if cell is not None and str(cell).strip()), "")
    raise SpreadsheetError(
        "no_header",
        f"line {line} has a single column ({text[:60]!r}): columns must be separated by ';', ',' or tab",
    )


# --- Rows ---


class TargetRow(NamedTuple):
    """A valid row of an import file: one invoice of a customer, ready to fold into the customer's
    case in the campaign (`shared.domain.cases`)."""

    line: int
    client_name: str
    phone: str  # E.164 digits
    document: str  # normalized CPF (11 digits) or CNPJ (14 upper-case characters)
    debt_amount: Decimal  # > 0, two places
    invoice_number: str | None
    installation_point: str | None
    invoice_due_date: date | None


def duplicate_key(document: str, invoice_number: str | None) -> str:
    """What makes two rows the same debt: normalized document + invoice number.

    Rows without an invoice number share the key of their document. A customer's case keys its
    invoices the same way (`shared.domain.cases.invoice_key`), so a file imported twice does not
    double them.
    """
    return f"{document}|{invoice_number or ''}"


_MEMO_SIZE = 4096
_MEMO_TYPES = (str, float)
# `tuple.__new__(TargetRow, values)` builds a row in a third of the time of `TargetRow(...)`, which
# matters on the hot path; the values are validated by the caller.
_new_tuple = tuple.__new__


class _Reject(Exception):
    """One row's first problem (internal: `ImportValidator.validate` turns it into an ImportRowError)."""

    def __init__(self, field: str | None, code: str, message: str, value: Cell = None) -> None:
        super().__init__(message)
        self.field, self.code, self.message, self.value = field, code, message, value


class ImportValidator:
    """Validates the rows of one file against its `ColumnMap`, remembering what it has seen.

    `today` is the import's calendar day in `COBRANCA_TIMEZONE`: it anchors the time-bar rule.
    """

    def __init__(self, today: date, columns: ColumnMap) -> None:
        self._labels = columns.labels
        self._cutoff = time_bar_cutoff(today)
        # duplicate_key → line of its first occurrence, for the rows of the last DUPLICATE_WINDOW to
        # 2 x DUPLICATE_WINDOW distinct keys (two generations): memory stays flat however long the
        # file. A repeat further back is still never stored twice — the customer's case already has
        # the invoice (`shared.domain.cases.merge`) — but is reported without the line of the first one.
        self._seen: dict[str, int] = {}
        self._seen_before: dict[str, int] = {}
        index = columns.columns
        self._required = itemgetter(*(index[field][0] for field in REQUIRED_FIELDS))
        self._fallbacks = {field: index[field][1:] for field in REQUIRED_FIELDS if len(index[field]) > 1}
        self._invoice = index.get("invoice_number", (None,))[0]
        self._installation = index.get("installation_point", (None,))[0]
        self._due = index.get("invoice_due_date", (None,))[0]
        self._needed = 1 + max(i for indexes in index.values() for i in indexes)
        # Billing exports list a customer's invoices one after the other: the identity cells of the
        # previous row are checked again only when they change.
        self._last_identity: tuple[Cell, Cell, Cell] | None = None
        self._last_customer: tuple[str, str, str] = ("", "", "")
        # Amounts (plan prices) and due dates (billing days) repeat across a file: valid values
        # are remembered, up to a bound, and invalid ones are checked again every time.
        self._amounts: dict[Cell, Decimal] = {}
        self._dates: dict[Cell, date] = {}

    def validate(self, line: int, cells: Sequence[Cell]) -> TargetRow | ImportRowError:
        """A `TargetRow`, or the row's first problem as an `ImportRowError` (duplicates included)."""
        # One method on purpose: this runs for every row, and a call costs a few % of the budget.
        try:
            if len(cells) < self._needed:  # a short row (trailing empty cells left out)
                if type(cells) is UnreadableRow:  # the reader's own per-row error (it has no cells)
                    return ImportRowError.model_construct(
                        line=line, field=None, code=cells.code, message=cells.message, value=None
                    )
                cells = [*cells, *[""] * (self._needed - len(cells))]
            name, phone, document, amount = self._required(cells)
            if self._fallbacks:
                name, phone, document, amount = self._with_fallbacks(cells, (name, phone, document, amount))
            identity = (name, phone, document)
            if identity == self._last_identity:
                client_name, e164, normalized = self._last_customer
            else:
                # Happy paths inlined (a call per field costs a tenth of the budget); a cell they do
                # not take goes to the field's reader, for its repairs or the precise message.
                client_name = " ".join(name.split()) if type(name) is str else ""
                if not (client_name[:2].isalpha() and 1 < len(client_name) <= MAX_NAME_LENGTH):
                    client_name = self._name(name)
                try:
                    e164 = normalize_phone(phone) if type(phone) is str else self._phone(phone)
                except InvalidPhone:
                    e164 = self._phone(phone)
                try:
                    normalized = (
                        normalize_document(document) if type(document) is str else self._document(document)
                    )
                except InvalidDocument:
                    normalized = self._document(document)
                self._last_identity, self._last_customer = identity, (client_name, e164, normalized)
            # Only text and floats are remembered: True == 1 must not pass for a remembered R$ 1,00.
            debt_amount = self._amounts.get(amount) if type(amount) in _MEMO_TYPES else None
            if debt_amount is None:
                debt_amount = self._amount(amount)
            invoice: str | None = None
            installation: str | None = None
            due_date: date | None = None
            if self._invoice is not None:
                raw = cells[self._invoice]
                invoice = (raw.strip() or None) if type(raw) is str else _identifier(raw)
            if self._installation is not None:
                raw = cells[self._installation]
                installation = (raw.strip() or None) if type(raw) is str else _identifier(raw)
            if self._due is not None:
                raw = cells[self._due]
                due_date = self._dates.get(raw)
                if due_date is None:
                    due_date = self._due_date(raw)
            key = f"{normalized}|{invoice or ''}"  # duplicate_key, inlined on the hot path
            seen = self._seen
            first = seen.get(key)
            if first is None:
                seen[key] = first = self._seen_before.get(key, line)
                if len(seen) >= DUPLICATE_WINDOW:
                    self._seen_before, self._seen = seen, {}
            if first != line:
                detail = f"invoice {invoice}" if invoice else "no invoice number"
                raise _Reject(
                    "document",
                    "duplicate",
                    f"duplicate of line {first}: same document and {detail}",
                    document,
                )
            return _new_tuple(
                TargetRow,
                (line, client_name, e164, normalized, debt_amount, invoice, installation, due_date),
            )
        except _Reject as reject:
            # model_construct: every field is already known valid, and validation would double the
            # cost of a rejected row.
            return ImportRowError.model_construct(
                line=line,
                field=reject.field,
                code=reject.code,
                message=reject.message,
                value=_shown(reject.value),
            )

    def _with_fallbacks(self, cells: Sequence[Cell], values: tuple[Cell, ...]) -> tuple[Cell, ...]:
        """Empty preferred cells replaced by the first non-empty alternative column."""
        chosen = list(values)
        for position, field in enumerate(REQUIRED_FIELDS):
            if _is_blank(chosen[position]):
                for index in self._fallbacks.get(field, ()):
                    if not _is_blank(cells[index]):
                        chosen[position] = cells[index]
                        break
        return tuple(chosen)

    # Field readers. The happy path makes one call into shared.domain.phones/documents/money and no
    # blank checks: an empty cell fails there too, and only then is it told apart as missing.

    def _missing(self, field: str, what: str) -> _Reject:
        return _Reject(field, "missing_value", f"{what} is missing (column {self._labels[field]!r})")

    def _name(self, cell: Cell) -> str:
        text = " ".join(cell.split()) if type(cell) is str else _text(cell)
        # Most names start with two letters; only the others need the slower checks.
        if not (text[:2].isalpha() and len(text) > 1):
            if not text:
                raise self._missing("client_name", "name")
            if text[0] in "=+-@":
                raise _Reject(
                    "client_name",
                    "invalid_name",
                    f"name starts with {text[0]!r}: it looks like a formula",
                    cell,
                )
            if _TWO_LETTERS.search(text) is None:
                raise _Reject("client_name", "invalid_name", "name must contain letters", cell)
        if len(text) > MAX_NAME_LENGTH:
            raise _Reject(
                "client_name",
                "invalid_name",
                f"name is too long ({len(text)} characters, at most {MAX_NAME_LENGTH})",
                cell,
            )
        return text

    def _phone(self, cell: Cell) -> str:
        try:
            return normalize_phone(cell if type(cell) is str else _text(cell))
        except InvalidPhone as exc:
            if _is_blank(cell):
                raise self._missing("phone", "phone") from None
            raise _Reject("phone", "invalid_phone", exc.message, cell) from None

    def _document(self, cell: Cell) -> str:
        if type(cell) is not str:
            if cell is None:
                raise self._missing("document", "CPF/CNPJ")
            return _numeric_document(cell)
        try:
            return normalize_document(cell)
        except InvalidDocument as exc:
            if _is_blank(cell):
                raise self._missing("document", "CPF/CNPJ") from None
            return _repaired_text_document(cell.strip(), exc)

    def _amount(self, cell: Cell) -> Decimal:
        try:
            amount = parse_money(cell)  # type: ignore[arg-type]  # it refuses other cell types itself
        except InvalidAmount as exc:
            if _is_blank(cell):
                raise self._missing("debt_amount", "amount") from None
            raise _Reject("debt_amount", "invalid_amount", exc.message, cell) from None
        if amount <= 0:
            raise _Reject(
                "debt_amount",
                "invalid_amount",
                f"amount must be greater than zero, got {_brazilian(amount)}",
                cell,
            )
        if type(cell) in _MEMO_TYPES and len(self._amounts) < _MEMO_SIZE:
            self._amounts[cell] = amount
        return amount

    def _due_date(self, cell: Cell) -> date | None:
        if type(cell) is str:
            if not cell.strip():
                return None
            # Fast path for Excel-BR's own format, DD/MM/YYYY; anything else gets the full parser.
            if len(cell) == 10 and cell[2] == "/" and cell[5] == "/" and cell.replace("/", "").isdecimal():
                try:
                    due = date(int(cell[6:]), int(cell[3:5]), int(cell[:2]))
                except ValueError:
                    due = _parse_date(cell)  # for the precise message
            else:
                due = _parse_date(cell)
        elif cell is None:
            return None
        else:
            due = _parse_date(cell)
        due = self._not_time_barred(due, cell)
        if len(self._dates) < _MEMO_SIZE:
            self._dates[cell] = due
        return due

    def _not_time_barred(self, due: date, cell: Cell) -> date:
        if due < self._cutoff:
            raise _Reject(
                "invoice_due_date",
                "time_barred",
                f"due date {due:%d/%m/%Y} is more than {TIME_BAR_YEARS} years ago (before "
                f"{self._cutoff:%d/%m/%Y}): the debt is time-barred and cannot be collected",
                cell,
            )
        return due


def parse_targets(
    stream: IO[bytes], filename: str | None, today: date, max_bytes: int | None = None
) -> Iterator[TargetRow | ImportRowError]:
    """Every data row of an uploaded CSV/XLSX as a `TargetRow` or an `ImportRowError`, in file order.

    Streams (CSV never held whole in memory; XLSX see `shared.imports.spreadsheets`). Raises
    `SpreadsheetError` when the file as a whole is unusable — empty, header only, not CSV/XLSX,
    corrupt, over `max_bytes`, no header or required columns missing. This is a generator: those
    errors surface when iteration starts (or, for a non-seekable CSV over the limit, part-way).
    """
    rows = iter_rows(stream, filename, max_bytes)
    columns = find_header(rows)
    validate = ImportValidator(today, columns).validate
    first = next(rows, None)
    if first is None:
        raise SpreadsheetError(
            "empty_file", f"the file has a header (line {columns.header_line}) but no data rows"
        )
    yield validate(*first)
    yield from starmap(validate, rows)  # the loop runs in C: no per-row cost for this layer


# --- The rejected-rows report ---

REPORT_COLUMNS: Final = ("line", "field", "code", "message", "value")


def _report_rows(errors: Iterable[ImportRowError], header: bool = True) -> Iterator[tuple[str | None, ...]]:
    if header:
        yield REPORT_COLUMNS
    for error in errors:
        yield str(error.line), error.field, error.code, error.message, error.value


def iter_rejected_rows_csv(errors: Iterable[ImportRowError], *, start: bool = True) -> Iterator[bytes]:
    """The rejected-rows report as CSV chunks (UTF-8 with BOM, `;`: Excel-BR opens it as is).

    Streams: pass a generator and write the chunks as they come, or call it once per part of the
    errors, with `start=False` (no BOM, no header row) after the first. Formula-looking cells
    (`=1+1`, `+5511…`) are prefixed with `'`, so no spreadsheet program ever evaluates them.
    """
    return iter_csv_bytes(_report_rows(errors, header=start), bom=start)


def rejected_rows_csv(errors: Iterable[ImportRowError]) -> bytes:
    """The whole rejected-rows CSV report in memory (small reports; see `iter_rejected_rows_csv`)."""
    return b"".join(iter_rejected_rows_csv(errors))


def write_rejected_rows_xlsx(errors: Iterable[ImportRowError], out: IO[bytes]) -> None:
    """The rejected-rows report as an .xlsx (openpyxl write-only, cells stored as escaped text)."""
    write_xlsx(_report_rows(errors), out, sheet_title="Linhas rejeitadas")


# --- Cell readers ---

_TWO_LETTERS = re.compile(r"[^\W\d_].*[^\W\d_]", re.DOTALL)
_FLOAT_TEXT = re.compile(r"(\d{1,14})\.0+")  # "11144477735.0": a number that went through a float
_SCIENTIFIC = re.compile(r"(\d)[.,](\d+)[eE]\+?(\d{1,2})")  # "1.1144477735E10", "1,11445E+10"
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?.*)?")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 (Lotus' 1900 leap-year bug included)
_MAX_SHOWN = 100


def _is_blank(cell: Cell) -> bool:
    return cell is None or (type(cell) is str and not cell.strip())


def _text(cell: Cell) -> str:
    """A cell as the text a supervisor sees (whole floats without ".0", dates as ISO)."""
    if type(cell) is str:
        return cell.strip()
    if cell is None:
        return ""
    if type(cell) is float:
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, date):  # datetime included
        return cell.isoformat()
    return str(cell)


def _shown(cell: Cell) -> str | None:
    text = _text(cell)
    return text[:_MAX_SHOWN] if text else None


def _identifier(cell: Cell) -> str | None:
    """An invoice number or installation point: text kept as written (12345.0 → "12345")."""
    if type(cell) is str:
        text = cell.strip()
        return text or None
    return _text(cell) or None


def _padded_document(digits: str) -> str | None:
    """The CPF/CNPJ Excel shortened by dropping leading zeros, if zero-padding makes it valid.

    The length decides which: up to 10 digits can only be a CPF, 12-13 only a CNPJ. Eleven digits
    are a CPF as they stand — never padded into a CNPJ, or a mistyped CPF could pass as one.
    """
    length = len(digits)
    if length < 11:
        candidate = digits.zfill(11)
        return candidate if is_valid_cpf(candidate) else None
    if 11 < length < 14:
        candidate = digits.zfill(14)
        return candidate if is_valid_cnpj(candidate) else None
    return None


def _numeric_document(cell: Cell) -> str:
    """A document cell Excel stored as a number (11144477735.0, or 1234567890 for 01234567890)."""
    if isinstance(cell, int | float) and not isinstance(cell, bool) and float(cell).is_integer():
        digits = str(int(cell))
        padded = _padded_document(digits)
        if padded is not None:
            return padded
        try:
            return normalize_document(digits)
        except InvalidDocument as exc:
            hint = _LEADING_ZEROS_HINT if len(digits) < 11 else ""
            raise _Reject("document", "invalid_document", exc.message + hint, cell) from None
    raise _Reject("document", "invalid_document", "CPF/CNPJ must be text or a whole number", cell)


def _repaired_text_document(text: str, exc: InvalidDocument) -> str:
    """A document typed or exported as an Excel-mangled number, repaired; else the precise reason.

    Handles "11144477735.0" (went through a float), "1.1144477735E10" (scientific notation with
    every digit) and "1234567890" (leading zero dropped when a CSV was re-saved by Excel).
    """
    digits: str | None = None
    if text.isdigit() and text.isascii():
        digits = text
    elif (whole := _FLOAT_TEXT.fullmatch(text)) is not None:
        digits = whole.group(1)
    elif (scientific := _SCIENTIFIC.fullmatch(text)) is not None:
        lead, fraction, exponent = scientific.group(1), scientific.group(2), int(scientific.group(3))
        if len(fraction) < exponent:
            # Excel shows ~6 significant digits (1,11445E+10): the rest are gone, never guess them.
            raise _Reject(
                "document",
                "invalid_document",
                "CPF/CNPJ in scientific notation has lost digits: format the column as text and export again",
                text,
            )
        if len(fraction) == exponent:
            digits = lead + fraction
    if digits is not None:
        padded = _padded_document(digits)
        if padded is not None:
            return padded
        if digits != text:
            try:
                return normalize_document(digits)
            except InvalidDocument as retry:
                exc = retry
        if len(digits) < 14 and len(digits) != 11:
            raise _Reject("document", "invalid_document", exc.message + _LEADING_ZEROS_HINT, text)
    raise _Reject("document", "invalid_document", exc.message, text)


_LEADING_ZEROS_HINT = " (if Excel dropped leading zeros, format the column as text)"


def _brazilian(amount: Decimal) -> str:
    """1234.5 → "1.234,50" (how the supervisor's spreadsheet shows it)."""
    return f"{amount:,.2f}".translate(str.maketrans(",.", ".,"))


def _parse_date(cell: Cell) -> date:
    """A due date from a date cell, an Excel serial number, `DD/MM/YYYY` or `YYYY-MM-DD`."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        # A date cell that lost its format shows as its serial number (45292 = 01/01/2024).
        if 1 <= cell < 2958466:  # up to 9999-12-31
            return _EXCEL_EPOCH + timedelta(days=int(cell))
        raise _Reject("invoice_due_date", "invalid_date", "due date is not a valid date", cell)
    text = _text(cell)
    match = _DMY.fullmatch(text)
    if match is not None:
        day, month, year = match.groups()
        if len(year) != 4:
            raise _Reject(
                "invoice_due_date", "invalid_date", "due date needs a 4-digit year (DD/MM/YYYY)", cell
            )
    else:
        match = _ISO.fullmatch(text)
        if match is None:
            raise _Reject(
                "invoice_due_date", "invalid_date", "due date must be DD/MM/YYYY or YYYY-MM-DD", cell
            )
        year, month, day = match.groups()
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise _Reject(
            "invoice_due_date",
            "invalid_date",
            f"due date {text} does not exist (day {int(day)}, month {int(month)}): dates are DD/MM/YYYY",
            cell,
        ) from None
