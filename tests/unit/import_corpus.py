"""A corpus of realistic import files — good, bad and mangled — built in memory for the tests.

Each builder returns `(filename, bytes)`; tests/unit/test_imports.py asserts exact outcomes for
each. Nothing binary is committed: `python tests/unit/import_corpus.py [DIR]` writes the corpus
to DIR (default tests/fixtures/imports/) to try it by hand in the upload UI or the sandbox.
"""

from __future__ import annotations

import codecs
import io
import sys
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

TODAY = date(2026, 3, 10)  # the import day the corpus is written for
FIVE_YEARS_AGO = date(2021, 3, 10)

# Valid documents (check digits verified independently in test_documents.py's reference).
CPF = "111.444.777-35"
CPF_DIGITS = "11144477735"
CPF_LEADING_ZERO = "01234567890"
CNPJ = "11.222.333/0001-81"
CNPJ_LEADING_ZEROS = "00360305000104"  # Caixa Econômica Federal
CNPJ_ALPHANUMERIC = "12.ABC.345/01DE-35"

PT_HEADER = ["Nome", "Telefone", "CPF", "Valor", "Fatura", "Ponto de Instalação", "Vencimento"]
SEED_HEADER = [
    "clientName",
    "phoneNumber",
    "clientDocument",
    "installationPoint",
    "debtAmount",
    "invoiceNumber",
]


def cpf(base9: str) -> str:
    """A valid CPF from 9 base digits (plain mod-11, independent of shared.domain.documents)."""
    first = _dv(base9, range(10, 1, -1))
    return base9 + first + _dv(base9 + first, range(11, 1, -1))


def _dv(base: str, weights: range) -> str:
    remainder = sum((ord(c) - 48) * w for c, w in zip(base, weights, strict=True)) % 11
    return "0" if remainder < 2 else str(11 - remainder)


def csv_bytes(
    rows: Sequence[Sequence[object]],
    *,
    delimiter: str = ";",
    encoding: str = "cp1252",
    bom: bool = False,
    newline: str = "\r\n",
) -> bytes:
    """Rows joined by hand (not csv.writer) so the tests control every byte; cells with the
    delimiter, quotes or newlines are quoted."""
    lines = []
    for row in rows:
        cells = []
        for cell in row:
            text = "" if cell is None else str(cell)
            if any(char in text for char in (delimiter, '"', "\n", "\r")):
                text = '"' + text.replace('"', '""') + '"'
            cells.append(text)
        lines.append(delimiter.join(cells))
    data = (newline.join(lines) + newline).encode(encoding)
    if bom:
        data = (codecs.BOM_UTF16_LE if encoding == "utf-16-le" else codecs.BOM_UTF8) + data
    return data


def xlsx_bytes(
    rows: Sequence[Sequence[object]],
    *,
    start_row: int = 1,
    hidden_first_sheet: bool = False,
    text_cells: bool = True,
) -> bytes:
    """A workbook like Excel writes; strings are stored as text cells even when they start with
    "=" (`text_cells`), as a user typing '=1+1 with a quote would get."""
    workbook = Workbook(write_only=True)
    if hidden_first_sheet:
        hidden = workbook.create_sheet("Notas")
        hidden.append(["this sheet is hidden"])
        hidden.sheet_state = "hidden"
    sheet = workbook.create_sheet("Inadimplentes")
    for _ in range(start_row - 1):
        sheet.append([])
    for row in rows:
        cells: list[object] = []
        for value in row:
            if text_cells and isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- The corpus ---


def latin1_semicolon() -> tuple[str, bytes]:
    """Excel-BR's "CSV (separado por vírgulas)": CP1252, ';', decimal comma, accents everywhere."""
    rows = [
        PT_HEADER,
        ["João Conceição", "(11) 98765-4321", CPF, "R$ 1.234,56", "FAT-001", "PI-9", "05/01/2026"],
        ["Ângela Simões", "21 99876-5432", cpf("123456789"), "89,90", "FAT-002", "", "10/02/2026"],
        ["Raimundo Araújo", "+55 31 3333-4444", CNPJ, "1.500", "FAT-003", "", ""],
    ]
    return "inadimplentes.csv", csv_bytes(rows)


def late_latin1(ascii_rows: int = 3000) -> tuple[str, bytes]:
    """CP1252 whose first non-ASCII byte comes after the first 64 KB chunk."""
    rows: list[list[object]] = [PT_HEADER]
    for index in range(ascii_rows):
        rows.append(
            [f"Customer {index}", "11987654321", cpf(f"{index + 100:09d}"), "10,00", f"F{index}", "", ""]
        )
    rows.append(["Conceição Magalhães", "11987654321", CPF, "10,00", "F-LAST", "", ""])
    return "late.csv", csv_bytes(rows)


def utf8_bom_seed_columns() -> tuple[str, bytes]:
    """The seed system's camelCase columns, comma-delimited UTF-8 with BOM, dot decimals."""
    rows = [
        SEED_HEADER,
        ["Silva, João", "5511999998888", CPF, "123456", "150.00", "FAT-2024-12-001"],
        ["Maria José", "5521987654321", CNPJ_ALPHANUMERIC, "", "89.9", "FAT-2024-12-002"],
    ]
    return "targets.csv", csv_bytes(rows, delimiter=",", encoding="utf-8", bom=True, newline="\n")


def excel_mangled() -> tuple[str, bytes]:
    """What Excel does to numbers: floats, dropped leading zeros, scientific notation."""
    rows: list[list[object]] = [
        ["Nome", "Celular", "CPF/CNPJ", "Valor", "Fatura", "Vencimento"],
        ["Float CPF", 5511999998888.0, 11144477735.0, 150.0, 1001.0, datetime(2026, 1, 5)],
        ["Int CPF lost zero", 11987654321, 1234567890, 89.9, 1002, datetime(2026, 1, 5, 14, 30)],
        ["CNPJ lost zeros", "5.511999998888E12", 360305000104.0, 1234.56, "1003", date(2026, 2, 1)],
        ["Scientific text", "11 98765-4321", "1.1144477735E10", "99,90", "1004", 46000],
        ["Lossy scientific", "11 98765-4321", "1,11445E+10", "99,90", "1005", None],
        ["Short invalid", "11 98765-4321", 123456789.0, "99,90", "1006", None],
    ]
    return "mangled.xlsx", xlsx_bytes(rows)


def invalid_documents() -> tuple[str, bytes]:
    rows = [
        ["nome", "telefone", "cpf_cnpj", "valor", "fatura"],
        ["Wrong check digit", "11987654321", "111.444.777-36", "10,00", "F1"],
        ["All equal", "11987654321", "111.111.111-11", "10,00", "F2"],
        ["Too short", "11987654321", "111.444.777", "10,00", "F3"],
        ["Alphanumeric valid", "11987654321", CNPJ_ALPHANUMERIC, "10,00", "F4"],
        ["Alphanumeric lower", "11987654321", CNPJ_ALPHANUMERIC.lower(), "10,00", "F5"],
        ["Alphanumeric wrong", "11987654321", "12.ABC.345/01DE-36", "10,00", "F6"],
        ["Letters in CPF", "11987654321", "111.444.77A-35", "10,00", "F7"],
    ]
    return "documents.csv", csv_bytes(rows)


def duplicates() -> tuple[str, bytes]:
    rows = [
        ["nome", "telefone", "documento", "valor", "fatura"],
        ["Ana", "11987654321", CPF, "10,00", "F1"],
        ["Ana", "11987654321", CPF_DIGITS, "20,00", "F1"],  # same debt, other punctuation
        ["Ana", "11987654321", CPF, "10,00", "F2"],  # another invoice: kept
        ["Bia", "11987654321", CNPJ, "10,00", ""],
        ["Bia", "11987654321", CNPJ, "30,00", ""],  # no invoice number: same document twice
    ]
    return "duplicates.csv", csv_bytes(rows)


def formula_injection() -> tuple[str, bytes]:
    rows = [
        ["nome", "telefone", "cpf", "valor", "fatura"],
        ["=1+1", "11987654321", CPF, "10,00", "F1"],
        ["@SUM(A1)", "11987654321", CPF, "10,00", "F2"],
        ['=HYPERLINK("http://evil.example","clique")', "11987654321", CPF, "10,00", "F3"],
        ["Plus Phone", "+55 11 98765-4321", CPF, "10,00", "F4"],
        ["Minus Amount", "11987654321", CPF, "-10", "F5"],
        ["Formula Invoice", "11987654321", CPF, "10,00", "=cmd|' /C calc'!A0"],
    ]
    return "formulas.csv", csv_bytes(rows)


def missing_columns() -> tuple[str, bytes]:
    return "missing.csv", csv_bytes([["nome", "cpf", "fatura"], ["Ana", CPF, "F1"]])


def header_only() -> tuple[str, bytes]:
    return "header.csv", csv_bytes([PT_HEADER])


def pdf() -> tuple[str, bytes]:
    return "planilha.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"


def legacy_xls() -> tuple[str, bytes]:
    return "planilha.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def png() -> tuple[str, bytes]:
    return "print.png", b"\x89PNG\r\n\x1a\n" + bytes(32)


def truncated_xlsx() -> tuple[str, bytes]:
    _, data = excel_mangled()
    return "cut.xlsx", data[: len(data) // 2]


def ods_like() -> tuple[str, bytes]:
    """A zip that is not a workbook (what an .ods or .docx looks like to a sniffer)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return "planilha.ods", out.getvalue()


def zip_bomb(inflated: int = 8_000_000) -> tuple[str, bytes]:
    """A workbook-shaped zip whose sheet inflates thousands of times its size."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(inflated))
    return "bomb.xlsx", out.getvalue()


def blank_lines() -> tuple[str, bytes]:
    rows: list[list[object]] = [
        [],
        PT_HEADER,
        ["Ana", "11987654321", CPF, "10,00", "F1", "", ""],
        [],
        ["", "", "", "", "", "", ""],
        ["Bia", "11987654321", CPF, "10,00", "F2", "", ""],
        [],
    ]
    return "blank.csv", csv_bytes(rows)


def time_barred() -> tuple[str, bytes]:
    rows = [
        ["nome", "telefone", "cpf", "valor", "fatura", "data_vencimento"],
        ["Exactly five years", "11987654321", CPF, "10,00", "F1", f"{FIVE_YEARS_AGO:%d/%m/%Y}"],
        ["One day more", "11987654321", CPF, "10,00", "F2", f"{FIVE_YEARS_AGO - timedelta(days=1):%d/%m/%Y}"],
        ["ISO old", "11987654321", CPF, "10,00", "F3", "2019-12-31"],
        ["Recent", "11987654321", CPF, "10,00", "F4", "2026-03-01"],
    ]
    return "old.csv", csv_bytes(rows)


def mixed(good: int = 40) -> tuple[str, bytes]:
    """Good rows with a bad one every fifth line; the good ones must all survive."""
    rows: list[list[object]] = [PT_HEADER]
    for index in range(good):
        rows.append(
            [f"Cliente {index}", "11987654321", cpf(f"{index + 1:09d}"), "49,90", f"F{index}", "", ""]
        )
        if index % 5 == 4:
            rows.append([f"Ruim {index}", "123", cpf(f"{index + 1:09d}"), "49,90", f"X{index}", "", ""])
    return "mixed.csv", csv_bytes(rows)


CORPUS: dict[str, Callable[[], tuple[str, bytes]]] = {
    builder.__name__: builder
    for builder in (
        latin1_semicolon,
        late_latin1,
        utf8_bom_seed_columns,
        excel_mangled,
        invalid_documents,
        duplicates,
        formula_injection,
        missing_columns,
        header_only,
        pdf,
        legacy_xls,
        png,
        truncated_xlsx,
        ods_like,
        blank_lines,
        time_barred,
        mixed,
    )
}


def main(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, build in CORPUS.items():
        filename, data = build()
        target = directory / f"{name}{Path(filename).suffix}"
        target.write_bytes(data)
        print(f"{target} ({len(data):,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "fixtures" / "imports")
