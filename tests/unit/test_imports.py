import codecs
import io
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from shared.domain.models import ImportRowError
from shared.imports import spreadsheets
from shared.imports.rows import (
    COLUMN_SYNONYMS,
    DUPLICATE_WINDOW,
    ColumnMap,
    ImportValidator,
    TargetRow,
    duplicate_key,
    find_header,
    iter_rejected_rows_csv,
    normalize_header,
    parse_targets,
    rejected_rows_csv,
    write_rejected_rows_xlsx,
)
from shared.imports.spreadsheets import Cell, SpreadsheetError
from tests.unit import import_corpus as corpus
from tests.unit.import_corpus import CNPJ, CPF, PT_HEADER, TODAY, cpf, csv_bytes, xlsx_bytes

Result = TargetRow | ImportRowError


def parse(build: Callable[[], tuple[str, bytes]] | tuple[str, bytes], **kwargs: int) -> list[Result]:
    filename, data = build() if callable(build) else build
    return list(parse_targets(io.BytesIO(data), filename, TODAY, **kwargs))


def refused(build: Callable[[], tuple[str, bytes]] | tuple[str, bytes], **kwargs: int) -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as caught:
        parse(build, **kwargs)
    return caught.value


def valid(results: list[Result]) -> list[TargetRow]:
    return [result for result in results if isinstance(result, TargetRow)]


def errors(results: list[Result]) -> list[tuple[int, str | None, str, str]]:
    return [
        (result.line, result.field, result.code, result.message)
        for result in results
        if isinstance(result, ImportRowError)
    ]


def validator(*header: str) -> ImportValidator:
    columns = ColumnMap.from_header(
        1, list(header or ("nome", "telefone", "cpf", "valor", "fatura", "vencimento"))
    )
    return ImportValidator(TODAY, columns)


def check(*cells: Cell, header: tuple[str, ...] = ()) -> Result:
    return validator(*header).validate(2, list(cells))


def error_of(*cells: Cell) -> tuple[str | None, str, str]:
    result = check(*cells)
    assert isinstance(result, ImportRowError), result
    return result.field, result.code, result.message


# --- Header mapping ---


@pytest.mark.parametrize(
    ("label", "normalized"),
    [
        ("Ponto de Instalação", "pontodeinstalacao"),
        ("ponto_instalacao", "pontoinstalacao"),
        ("  CPF/CNPJ ", "cpfcnpj"),
        ("clientName", "clientname"),
        ("Valor (R$)", "valor"),
        ("Nº Fatura", "nofatura"),
        ("VENCIMENTO", "vencimento"),
        (2026, "2026"),
    ],
)
def test_normalize_header(label: object, normalized: str) -> None:
    assert normalize_header(label) == normalized


@pytest.mark.parametrize(
    "header",
    [
        ["nome", "telefone", "cpf", "valor"],
        ["NOME", "Celular", "CPF/CNPJ", "Valor (R$)"],
        ["clientName", "phoneNumber", "clientDocument", "debtAmount"],
        ["Nome do Cliente", "WhatsApp", "Documento", "Valor da Dívida"],
        ["name", "phone", "document", "amount"],
    ],
)
def test_required_columns_in_portuguese_or_english(header: list[str]) -> None:
    columns = ColumnMap.from_header(1, [*header, "ignored column"])
    assert {field: indexes[0] for field, indexes in columns.columns.items()} == {
        "client_name": 0,
        "phone": 1,
        "document": 2,
        "debt_amount": 3,
    }


def test_optional_columns_and_their_synonyms() -> None:
    columns = ColumnMap.from_header(
        1, ["nome", "telefone", "cpf", "valor", "invoiceNumber", "Ponto de Instalação", "data_vencimento"]
    )
    assert columns.columns["invoice_number"] == (4,)
    assert columns.columns["installation_point"] == (5,)
    assert columns.columns["invoice_due_date"] == (6,)
    assert columns.labels["installation_point"] == "Ponto de Instalação"


def test_synonyms_are_unambiguous() -> None:
    owners: dict[str, set[str]] = {}
    for field, names in COLUMN_SYNONYMS.items():
        for name in names:
            owners.setdefault(normalize_header(name), set()).add(field)
    assert {name: fields for name, fields in owners.items() if len(fields) > 1} == {}


def test_every_synonym_is_recognised() -> None:
    base = {"client_name": "nome", "phone": "telefone", "document": "cpf", "debt_amount": "valor"}
    for field, names in COLUMN_SYNONYMS.items():
        for name in names:
            header = [label for other, label in base.items() if other != field] + [name]
            assert ColumnMap.from_header(1, header).columns[field] == (len(header) - 1,), name


def test_two_phone_columns_prefer_the_mobile_one() -> None:
    columns = ColumnMap.from_header(1, ["nome", "telefone", "cpf", "valor", "celular"])
    assert columns.columns["phone"] == (4, 1)


def test_missing_columns_are_named_with_their_synonyms() -> None:
    with pytest.raises(SpreadsheetError) as caught:
        ColumnMap.from_header(1, ["nome", "cpf", "fatura"])
    assert caught.value.code == "missing_columns"
    assert caught.value.message == (
        "missing required column(s): telefone (or celular, phoneNumber); valor (or debtAmount). "
        "The header on line 1 has: nome, cpf, fatura"
    )


def test_a_data_row_is_not_a_header() -> None:
    with pytest.raises(SpreadsheetError) as caught:
        ColumnMap.from_header(1, ["João", "11999998888", CPF, "10,00"])
    assert caught.value.code == "no_header"
    assert caught.value.message == (
        "line 1 is not a header row: expected column names such as nome, telefone, cpf, valor "
        "(Portuguese or English), found 'João', '11999998888', '111.444.777-35', '10,00'"
    )


def test_title_lines_above_the_header_are_skipped() -> None:
    rows = iter(
        [
            (1, ["Relatório de inadimplentes — março/2026", "", "", ""]),
            (2, ["Gerado em 10/03/2026", "", "", ""]),
            (4, ["nome", "telefone", "cpf", "valor"]),
            (5, ["Ana", "11987654321", CPF, "10"]),
        ]
    )
    assert find_header(rows).header_line == 4  # type: ignore[arg-type]
    assert next(rows)[0] == 5


def test_the_header_is_the_first_row_with_two_filled_cells() -> None:
    rows = [(1, ["Relatório", ""]), (2, ["nome", "cpf"]), (3, ["nome", "telefone", "cpf", "valor"])]
    with pytest.raises(SpreadsheetError) as caught:
        find_header(iter(rows))  # type: ignore[arg-type]
    assert caught.value.code == "missing_columns"
    assert caught.value.message.endswith("The header on line 2 has: nome, cpf")


def test_a_single_column_file_hints_at_the_delimiter() -> None:
    exc = refused(("x.csv", b"nome|telefone|cpf|valor\r\nAna|11987654321|x|1\r\n"))
    assert (exc.code, exc.message) == (
        "no_header",
        "line 1 has a single column ('nome|telefone|cpf|valor'): columns must be separated by ';', ',' or tab",
    )


# --- Row validation: names ---


def test_a_valid_row() -> None:
    assert check(
        " João  da   Silva ", "(11) 98765-4321", CPF, "R$ 1.234,56", " F1 ", "05/01/2026"
    ) == TargetRow(
        line=2,
        client_name="João da Silva",
        phone="5511987654321",
        document="11144477735",
        debt_amount=Decimal("1234.56"),
        invoice_number="F1",
        installation_point=None,
        invoice_due_date=date(2026, 1, 5),
    )


def test_target_row_is_frozen() -> None:
    row = check("Ana", "11987654321", CPF, "10", "", "")
    assert isinstance(row, TargetRow)
    with pytest.raises(AttributeError):
        row.client_name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("=1+1", "name starts with '=': it looks like a formula"),
        ('=HYPERLINK("http://x","y")', "name starts with '=': it looks like a formula"),
        ("@SUM(A1)", "name starts with '@': it looks like a formula"),
        ("+Ana", "name starts with '+': it looks like a formula"),
        ("-Ana", "name starts with '-': it looks like a formula"),
        ("12345", "name must contain letters"),
        ("A", "name must contain letters"),
        ("A" * 151, "name is too long (151 characters, at most 150)"),
    ],
)
def test_invalid_names(name: str, message: str) -> None:
    assert error_of(name, "11987654321", CPF, "10", "", "") == ("client_name", "invalid_name", message)


def test_company_names_may_start_with_a_digit() -> None:
    assert isinstance(check("3M do Brasil Ltda", "11987654321", CNPJ, "10", "", ""), TargetRow)


@pytest.mark.parametrize(
    ("cells", "field", "message"),
    [
        (("", "11987654321", CPF, "10"), "client_name", "name is missing (column 'nome')"),
        (("   ", "11987654321", CPF, "10"), "client_name", "name is missing (column 'nome')"),
        (("Ana", "", CPF, "10"), "phone", "phone is missing (column 'telefone')"),
        (("Ana", "11987654321", " ", "10"), "document", "CPF/CNPJ is missing (column 'cpf')"),
        (("Ana", "11987654321", None, "10"), "document", "CPF/CNPJ is missing (column 'cpf')"),
        (("Ana", "11987654321", CPF, ""), "debt_amount", "amount is missing (column 'valor')"),
    ],
)
def test_missing_values_name_their_column(cells: tuple[Cell, ...], field: str, message: str) -> None:
    assert error_of(*cells, "", "") == (field, "missing_value", message)


def test_empty_preferred_column_falls_back_to_the_other() -> None:
    v = validator("nome", "telefone", "cpf", "valor", "celular", "cnpj")
    row = v.validate(2, ["Ana", "", "", "10", "11987654321", CNPJ])
    assert isinstance(row, TargetRow)
    assert (row.phone, row.document) == ("5511987654321", "11222333000181")
    both = v.validate(3, ["Ana", "1133334444", CPF, "10", "11987654321", ""])
    assert isinstance(both, TargetRow) and both.phone == "5511987654321"  # celular preferred


def test_short_rows_are_padded() -> None:
    row = check("Ana", "11987654321", CPF, "10")
    assert isinstance(row, TargetRow)
    assert (row.invoice_number, row.invoice_due_date) == (None, None)


# --- Phones, documents, amounts ---


@pytest.mark.parametrize(
    "phone", ["+55 (11) 98765-4321", "11 98765 4321", "5511987654321", "5511987654321.0", "5.511987654321E12"]
)
def test_phone_forms(phone: str) -> None:
    row = check("Ana", phone, CPF, "10", "", "")
    assert isinstance(row, TargetRow) and row.phone == "5511987654321"


def test_phone_as_excel_number() -> None:
    for cell in (5511987654321.0, 11987654321, 11987654321.0):
        row = check("Ana", cell, CPF, "10", "", "")
        assert isinstance(row, TargetRow) and row.phone == "5511987654321"


def test_invalid_phone_reason_comes_from_the_phone_rules() -> None:
    assert error_of("Ana", "123", CPF, "10", "", "") == (
        "phone",
        "invalid_phone",
        "phone number is too short (3 digits): it needs the area code (DDD) and 8 or 9 digits",
    )


@pytest.mark.parametrize(
    ("cell", "document"),
    [
        (11144477735.0, "11144477735"),
        (11144477735, "11144477735"),
        (1234567890, "01234567890"),  # Excel dropped the leading zero
        (1234567890.0, "01234567890"),
        (360305000104.0, "00360305000104"),  # a CNPJ that lost two zeros
        ("11144477735.0", "11144477735"),
        ("1.1144477735E10", "11144477735"),
        ("1,1144477735E+10", "11144477735"),
        ("1234567890", "01234567890"),  # a re-saved CSV lost it too
        ("12.abc.345/01de-35", "12ABC34501DE35"),
    ],
)
def test_excel_mangled_documents_are_repaired(cell: Cell, document: str) -> None:
    row = check("Ana", "11987654321", cell, "10", "", "")
    assert isinstance(row, TargetRow), row
    assert row.document == document


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("111.444.777-36", "CPF check digits do not match"),
        ("12.ABC.345/01DE-36", "CNPJ check digits do not match"),
        ("111.111.111-11", "CPF with all digits equal is invalid"),
        (
            "1,11445E+10",
            "CPF/CNPJ in scientific notation has lost digits: format the column as text and export again",
        ),
        (
            123456789.0,
            "document must have 11 (CPF) or 14 (CNPJ) characters, got 9 "
            "(if Excel dropped leading zeros, format the column as text)",
        ),
        (11144477736.0, "CPF check digits do not match"),
        (1.5, "CPF/CNPJ must be text or a whole number"),
        ("=1+1", "document may contain only digits, letters A-Z and the punctuation . - /"),
    ],
)
def test_invalid_documents(cell: Cell, message: str) -> None:
    assert error_of("Ana", "11987654321", cell, "10", "", "") == ("document", "invalid_document", message)


def test_a_mistyped_cpf_is_never_padded_into_a_cnpj() -> None:
    # 81745734860 is no CPF, but 00081745734860 happens to pass the CNPJ check digits.
    for cell in (81745734860.0, "81745734860"):
        assert error_of("Ana", "11987654321", cell, "10", "", "") == (
            "document",
            "invalid_document",
            "CPF check digits do not match",
        )


def test_padding_is_used_only_when_it_validates() -> None:
    # 1234567891 padded is 01234567891: wrong check digits, so no silent "repair".
    assert error_of("Ana", "11987654321", 1234567891, "10", "", "")[1] == "invalid_document"


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("R$ 1.234,56", Decimal("1234.56")),
        ("150,00", Decimal("150.00")),
        ("150.00", Decimal("150.00")),
        ("R$ 89,90", Decimal("89.90")),
        (89.9, Decimal("89.90")),
        (150, Decimal("150.00")),
    ],
)
def test_amounts(cell: Cell, amount: Decimal) -> None:
    row = check("Ana", "11987654321", CPF, cell, "", "")
    assert isinstance(row, TargetRow) and row.debt_amount == amount


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("0,00", "amount must be greater than zero, got 0,00"),
        ("-10", "amount must be greater than zero, got -10,00"),
        ("-R$ 1.234,50", "amount must be greater than zero, got -1.234,50"),
        (0.0, "amount must be greater than zero, got 0,00"),
        ("abc", "amount contains letters"),
        ("1,2,3", "amount has misplaced thousands separators ','"),
    ],
)
def test_invalid_amounts(cell: Cell, message: str) -> None:
    assert error_of("Ana", "11987654321", CPF, cell, "", "") == ("debt_amount", "invalid_amount", message)


def test_remembered_amounts_are_still_checked_per_row() -> None:
    v = validator()
    for line in (2, 3):
        row = v.validate(line, ["Ana", "11987654321", CPF, "99,90", f"F{line}", ""])
        assert isinstance(row, TargetRow) and row.debt_amount == Decimal("99.90")
    for line in (4, 5):
        bad = v.validate(line, ["Ana", "11987654321", CPF, "0", f"F{line}", ""])
        assert isinstance(bad, ImportRowError) and bad.code == "invalid_amount"


def test_a_remembered_number_does_not_let_a_boolean_through() -> None:
    v = validator()
    assert isinstance(v.validate(2, ["Ana", "11987654321", CPF, 1.0, "F1", ""]), TargetRow)
    bad = v.validate(3, ["Ana", "11987654321", CPF, True, "F2", ""])
    assert isinstance(bad, ImportRowError)
    assert (bad.code, bad.message) == ("invalid_amount", "amount must be a number or text, got a boolean")


# --- Dates and the time bar ---


@pytest.mark.parametrize(
    ("cell", "due"),
    [
        ("05/01/2026", date(2026, 1, 5)),
        ("5/1/2026", date(2026, 1, 5)),
        ("05-01-2026", date(2026, 1, 5)),
        ("05.01.2026", date(2026, 1, 5)),
        ("2026-01-05", date(2026, 1, 5)),
        ("2026-01-05 00:00:00", date(2026, 1, 5)),
        ("05/01/2026 13:45", date(2026, 1, 5)),
        (datetime(2026, 1, 5, 13, 45), date(2026, 1, 5)),
        (date(2026, 1, 5), date(2026, 1, 5)),
        (46027.0, date(2026, 1, 5)),  # a date cell that lost its format: its serial number
        ("", None),
        (None, None),
    ],
)
def test_due_dates(cell: Cell, due: date | None) -> None:
    row = check("Ana", "11987654321", CPF, "10", "F1", cell)
    assert isinstance(row, TargetRow), row
    assert row.invoice_due_date == due


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("31/02/2026", "due date 31/02/2026 does not exist (day 31, month 2): dates are DD/MM/YYYY"),
        ("12/31/2025", "due date 12/31/2025 does not exist (day 12, month 31): dates are DD/MM/YYYY"),
        ("05/01/26", "due date needs a 4-digit year (DD/MM/YYYY)"),
        ("janeiro", "due date must be DD/MM/YYYY or YYYY-MM-DD"),
        ("46027", "due date must be DD/MM/YYYY or YYYY-MM-DD"),
        (-1.0, "due date is not a valid date"),
    ],
)
def test_invalid_dates(cell: Cell, message: str) -> None:
    assert error_of("Ana", "11987654321", CPF, "10", "F1", cell) == (
        "invoice_due_date",
        "invalid_date",
        message,
    )


def test_time_bar_is_five_years_to_the_day() -> None:
    ok = check("Ana", "11987654321", CPF, "10", "F1", "10/03/2021")
    assert isinstance(ok, TargetRow)
    assert error_of("Ana", "11987654321", CPF, "10", "F1", "09/03/2021") == (
        "invoice_due_date",
        "time_barred",
        "due date 09/03/2021 is more than 5 years ago (before 10/03/2021): "
        "the debt is time-barred and cannot be collected",
    )


def test_time_barred_dates_are_rejected_every_time() -> None:
    v = validator()
    for line in (2, 3):
        bad = v.validate(line, ["Ana", "11987654321", CPF, "10", f"F{line}", "01/01/2020"])
        assert isinstance(bad, ImportRowError) and bad.code == "time_barred"


def test_time_bar_from_a_leap_day() -> None:
    columns = ColumnMap.from_header(1, ["nome", "telefone", "cpf", "valor", "vencimento"])
    v = ImportValidator(date(2028, 2, 29), columns)
    assert isinstance(v.validate(2, ["Ana", "11987654321", CPF, "10", "28/02/2023"]), TargetRow)
    assert isinstance(v.validate(3, ["Ana", "11987654321", CPF, "10", "27/02/2023"]), ImportRowError)


# --- Duplicates ---


def test_duplicate_key() -> None:
    assert duplicate_key("11144477735", "F1") == "11144477735|F1"
    assert duplicate_key("11144477735", None) == duplicate_key("11144477735", "") == "11144477735|"


def test_the_parser_names_the_first_line_of_duplicates_within_its_window() -> None:
    v = validator()
    assert isinstance(v.validate(2, ["Ana", "11987654321", CPF, "10", "F1", ""]), TargetRow)
    for line in range(3, 3 + DUPLICATE_WINDOW):  # a full window of other rows in between
        assert isinstance(v.validate(line, ["Ana", "11987654321", CPF, "10", f"G{line}", ""]), TargetRow)
    repeat = v.validate(3 + DUPLICATE_WINDOW, ["Ana", "11987654321", CPF, "10", "F1", ""])
    assert isinstance(repeat, ImportRowError)
    assert (repeat.code, repeat.message) == ("duplicate", "duplicate of line 2: same document and invoice F1")
    again = v.validate(4 + DUPLICATE_WINDOW, ["Ana", "11987654321", CPF, "10", "F1", ""])
    assert isinstance(again, ImportRowError) and again.message.startswith("duplicate of line 2:")


def test_the_parser_forgets_rows_beyond_two_windows_so_memory_stays_flat() -> None:
    # The data layer refuses what the parser forgot (tests/integration/api: far duplicates).
    v = validator()
    assert isinstance(v.validate(2, ["Ana", "11987654321", CPF, "10", "F1", ""]), TargetRow)
    for line in range(3, 3 + 2 * DUPLICATE_WINDOW):
        assert isinstance(v.validate(line, ["Ana", "11987654321", CPF, "10", f"G{line}", ""]), TargetRow)
    assert isinstance(
        v.validate(3 + 2 * DUPLICATE_WINDOW, ["Ana", "11987654321", CPF, "10", "F1", ""]), TargetRow
    )


def test_a_rejected_row_does_not_make_a_later_one_a_duplicate() -> None:
    v = validator()
    assert isinstance(v.validate(2, ["Ana", "123", CPF, "10", "F1", ""]), ImportRowError)
    assert isinstance(v.validate(3, ["Ana", "11987654321", CPF, "10", "F1", ""]), TargetRow)


# --- The corpus: whole files ---


def test_latin1_semicolon_decimal_comma() -> None:
    results = parse(corpus.latin1_semicolon)
    assert errors(results) == []
    assert [(r.line, r.client_name, r.debt_amount, r.installation_point) for r in valid(results)] == [
        (2, "João Conceição", Decimal("1234.56"), "PI-9"),
        (3, "Ângela Simões", Decimal("89.90"), None),
        (4, "Raimundo Araújo", Decimal("1500.00"), None),  # "1.500": Brazilian thousands
    ]
    assert valid(results)[2].phone == "553133334444"  # a landline is kept (voice may call it)


def test_latin1_accent_far_into_the_file() -> None:
    results = parse(corpus.late_latin1)
    assert len(valid(results)) == 3001
    assert valid(results)[-1].client_name == "Conceição Magalhães"


def test_utf8_bom_with_the_seed_columns() -> None:
    results = parse(corpus.utf8_bom_seed_columns)
    assert errors(results) == []
    first, second = valid(results)
    assert (first.client_name, first.installation_point, first.invoice_number) == (
        "Silva, João",
        "123456",
        "FAT-2024-12-001",
    )
    assert (second.document, second.debt_amount, second.installation_point) == (
        "12ABC34501DE35",
        Decimal("89.90"),
        None,
    )


@pytest.mark.parametrize("streamed", [False, True], ids=["calamine", "openpyxl"])
def test_excel_mangled_workbook(streamed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if streamed:
        monkeypatch.setattr(spreadsheets, "XLSX_IN_MEMORY_SHEET_BYTES", -1)
    results = parse(corpus.excel_mangled)
    assert [(r.line, r.phone, r.document, r.invoice_number, r.invoice_due_date) for r in valid(results)] == [
        (2, "5511999998888", "11144477735", "1001", date(2026, 1, 5)),
        (3, "5511987654321", "01234567890", "1002", date(2026, 1, 5)),
        (4, "5511999998888", "00360305000104", "1003", date(2026, 2, 1)),
        (5, "5511987654321", "11144477735", "1004", date(2025, 12, 9)),
    ]
    assert errors(results) == [
        (
            6,
            "document",
            "invalid_document",
            "CPF/CNPJ in scientific notation has lost digits: format the column as text and export again",
        ),
        (
            7,
            "document",
            "invalid_document",
            "document must have 11 (CPF) or 14 (CNPJ) characters, got 9 "
            "(if Excel dropped leading zeros, format the column as text)",
        ),
    ]
    assert [r.value for r in results if isinstance(r, ImportRowError)] == ["1,11445E+10", "123456789"]


def test_invalid_documents_file() -> None:
    results = parse(corpus.invalid_documents)
    assert [r.line for r in valid(results)] == [5, 6]
    assert {r.document for r in valid(results)} == {"12ABC34501DE35"}
    assert errors(results) == [
        (2, "document", "invalid_document", "CPF check digits do not match"),
        (3, "document", "invalid_document", "CPF with all digits equal is invalid"),
        (4, "document", "invalid_document", "document must have 11 (CPF) or 14 (CNPJ) characters, got 9"),
        (7, "document", "invalid_document", "CNPJ check digits do not match"),
        (8, "document", "invalid_document", "CPF must contain only digits"),
    ]


def test_duplicates_are_reported_not_doubled() -> None:
    results = parse(corpus.duplicates)
    assert [(r.line, r.invoice_number) for r in valid(results)] == [(2, "F1"), (4, "F2"), (5, None)]
    assert errors(results) == [
        (3, "document", "duplicate", "duplicate of line 2: same document and invoice F1"),
        (6, "document", "duplicate", "duplicate of line 5: same document and no invoice number"),
    ]


def test_formula_injection_cells_are_plain_text() -> None:
    results = parse(corpus.formula_injection)
    assert errors(results) == [
        (2, "client_name", "invalid_name", "name starts with '=': it looks like a formula"),
        (3, "client_name", "invalid_name", "name starts with '@': it looks like a formula"),
        (4, "client_name", "invalid_name", "name starts with '=': it looks like a formula"),
        (6, "debt_amount", "invalid_amount", "amount must be greater than zero, got -10,00"),
    ]
    plus_phone, formula_invoice = valid(results)
    assert plus_phone.phone == "5511987654321"  # "+55 …" is a phone, not a formula
    assert formula_invoice.invoice_number == "=cmd|' /C calc'!A0"  # kept as inert text

    report = rejected_rows_csv(r for r in results if isinstance(r, ImportRowError)).decode("utf-8-sig")
    assert "\r\n2;client_name;invalid_name;name starts with '=': it looks like a formula;'=1+1\r\n" in report
    assert (
        "\r\n3;client_name;invalid_name;name starts with '@': it looks like a formula;'@SUM(A1)\r\n" in report
    )
    assert ";'-10\r\n" in report
    assert ';"\'=HYPERLINK(""http://evil.example"",""clique"")"\r\n' in report


def test_missing_columns_file() -> None:
    exc = refused(corpus.missing_columns)
    assert exc.code == "missing_columns"
    assert exc.message == (
        "missing required column(s): telefone (or celular, phoneNumber); valor (or debtAmount). "
        "The header on line 1 has: nome, cpf, fatura"
    )


def test_empty_file() -> None:
    exc = refused(("vazio.csv", b""))
    assert (exc.code, exc.message) == ("empty_file", "the file is empty (0 bytes)")


def test_header_only() -> None:
    exc = refused(corpus.header_only)
    assert (exc.code, exc.message) == ("empty_file", "the file has a header (line 1) but no data rows")


def test_header_then_blank_lines_only() -> None:
    exc = refused(("x.csv", csv_bytes([PT_HEADER, [], ["", ""], []])))
    assert exc.code == "empty_file"


@pytest.mark.parametrize(
    ("build", "what"),
    [
        (corpus.pdf, "a PDF document"),
        (corpus.legacy_xls, "a legacy Excel .xls file (or a password-protected workbook)"),
        (corpus.png, "a PNG image"),
    ],
)
def test_wrong_file_types(build: Callable[[], tuple[str, bytes]], what: str) -> None:
    exc = refused(build)
    assert exc.code == "unsupported_file_type"
    assert exc.message == (
        f"the file is {what}, not a spreadsheet: save it as .xlsx (Excel Workbook) or .csv and upload again"
    )


def test_truncated_xlsx() -> None:
    exc = refused(corpus.truncated_xlsx)
    assert (exc.code, exc.message) == (
        "corrupt_file",
        "the Excel workbook is damaged or incomplete (was the upload cut short?)",
    )


def test_over_the_limit() -> None:
    filename, data = corpus.late_latin1()
    exc = refused((filename, data), max_bytes=100_000)
    assert exc.code == "file_too_large"
    assert exc.message == (
        f"the file is {len(data) / 1e6:.1f} MB; the limit is 0.1 MB: split it into smaller files"
    )


def test_blank_lines_keep_true_line_numbers() -> None:
    results = parse(corpus.blank_lines)
    assert errors(results) == []
    assert [r.line for r in valid(results)] == [3, 6]


def test_time_barred_file() -> None:
    results = parse(corpus.time_barred)
    assert [r.invoice_number for r in valid(results)] == ["F1", "F4"]
    assert [(line, code) for line, _, code, _ in errors(results)] == [(3, "time_barred"), (4, "time_barred")]


def test_mixed_file_keeps_every_good_row() -> None:
    results = parse(corpus.mixed)
    good = valid(results)
    assert len(good) == 40 and len(errors(results)) == 8
    assert [r.client_name for r in good] == [f"Cliente {i}" for i in range(40)]
    assert all(code == "invalid_phone" for _, _, code, _ in errors(results))
    assert [r.line for r in results] == list(range(2, 50))


@pytest.mark.parametrize("streamed", [False, True], ids=["calamine", "openpyxl"])
def test_xlsx_and_csv_of_the_same_rows_agree(streamed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if streamed:
        monkeypatch.setattr(spreadsheets, "XLSX_IN_MEMORY_SHEET_BYTES", -1)
    rows: list[list[object]] = [
        PT_HEADER,
        ["Ana", "11987654321", CPF, "10,50", "F1", "P1", "05/01/2026"],
        ["Bia", "11987654321", cpf("987654321"), "1.234,56", "F2", "", "2026-02-01"],
    ]
    from_csv = parse(("x.csv", csv_bytes(rows)))
    from_xlsx = parse(("x.xlsx", xlsx_bytes(rows)))
    assert from_csv == from_xlsx and len(valid(from_csv)) == 2


# --- The rejected-rows report ---


def _error(line: int, value: str | None, code: str = "invalid_name") -> ImportRowError:
    return ImportRowError(line=line, field="client_name", code=code, message="why", value=value)


def test_report_csv_exact_bytes() -> None:
    report = rejected_rows_csv([_error(2, "=1+1"), _error(3, None), _error(4, "João; Bia")])
    assert (
        report
        == codecs.BOM_UTF8
        + (
            "line;field;code;message;value\r\n"
            "2;client_name;invalid_name;why;'=1+1\r\n"
            "3;client_name;invalid_name;why;\r\n"
            '4;client_name;invalid_name;why;"João; Bia"\r\n'
        ).encode()
    )


def test_report_csv_streams_from_a_generator() -> None:
    pulled = 0

    def many() -> object:
        nonlocal pulled
        for line in range(2, 20_000):
            pulled += 1
            yield _error(line, "+5511999998888")

    chunks = iter_rejected_rows_csv(many())  # type: ignore[arg-type]
    next(chunks), next(chunks)
    assert pulled < 5_000
    rest = b"".join(chunks)
    assert rest.endswith(b";'+5511999998888\r\n")


def test_report_xlsx_escapes_and_stores_text() -> None:
    out = io.BytesIO()
    write_rejected_rows_xlsx([_error(2, "=1+1"), _error(3, "@SUM(A1)")], out)
    out.seek(0)
    sheet = load_workbook(out).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values == [
        ["line", "field", "code", "message", "value"],
        ["2", "client_name", "invalid_name", "why", "'=1+1"],
        ["3", "client_name", "invalid_name", "why", "'@SUM(A1)"],
    ]


def test_report_round_trips_through_the_parser_as_text() -> None:
    # A supervisor re-uploading the report by mistake gets a precise 4xx, not an evaluation.
    report = rejected_rows_csv([_error(2, "=1+1")])
    exc = refused(("rejeitadas.csv", report))
    assert exc.code == "no_header"
