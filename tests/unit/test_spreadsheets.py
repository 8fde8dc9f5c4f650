import codecs
import csv
import io
import tempfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from shared.domain.errors import InvalidInput
from shared.imports import spreadsheets
from shared.imports.spreadsheets import (
    CHUNK_SIZE,
    SpreadsheetError,
    UnreadableRow,
    detect_format,
    escape_formula,
    iter_csv_bytes,
    iter_rows,
    write_xlsx,
)
from tests.unit.import_corpus import csv_bytes, ods_like, truncated_xlsx, xlsx_bytes, zip_bomb


class Trickle(io.RawIOBase):
    """A non-seekable stream handing out a few bytes per read, like a slow network body: every
    multi-byte character and CRLF ends up split across reads somewhere."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data, self._position, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data[self._position : self._position + self._step]
        self._position += len(chunk)
        return chunk


def rows(data: bytes, filename: str | None = "file.csv", **kwargs: int) -> list[tuple[int, list[object]]]:
    return list(iter_rows(io.BytesIO(data), filename, **kwargs))  # type: ignore[arg-type]


def error(data: bytes, filename: str | None = "file.csv", **kwargs: int) -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as caught:
        rows(data, filename, **kwargs)
    return caught.value


# --- detect_format ---


def test_zip_magic_is_xlsx_whatever_the_name() -> None:
    assert detect_format(b"PK\x03\x04rest", "export.csv") == "xlsx"


def test_text_is_csv_even_when_named_xls() -> None:
    # Legacy systems write tab-separated text into ".xls" files.
    assert detect_format(b"nome\ttelefone\r\n", "relatorio.xls") == "csv"


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "a PNG image"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",
            "a legacy Excel .xls file (or a password-protected workbook)",
        ),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
        (b"\x1f\x8b\x08\x00", "a gzip archive"),
    ],
)
def test_other_binary_formats_are_refused_with_what_they_are(head: bytes, what: str) -> None:
    with pytest.raises(SpreadsheetError) as caught:
        detect_format(head, "upload")
    assert caught.value.code == "unsupported_file_type"
    assert caught.value.message == (
        f"the file is {what}, not a spreadsheet: save it as .xlsx (Excel Workbook) or .csv and upload again"
    )


def test_unknown_binary_is_refused() -> None:
    with pytest.raises(SpreadsheetError) as caught:
        detect_format(b"MZ\x90\x00\x03\x00\x00\x00", "virus.exe")
    assert caught.value.code == "unsupported_file_type"
    assert "binary" in caught.value.message


def test_html_saved_as_xls_is_refused() -> None:
    with pytest.raises(SpreadsheetError) as caught:
        detect_format(b"\r\n<HTML><body><table>", "export.xls")
    assert caught.value.code == "unsupported_file_type"
    assert "HTML" in caught.value.message


def test_text_named_xlsx_is_corrupt() -> None:
    with pytest.raises(SpreadsheetError) as caught:
        detect_format(b"nome;cpf\r\n", "clientes.xlsx")
    assert caught.value.code == "corrupt_file"
    assert "'clientes.xlsx' is named as an Excel workbook but is not one" in caught.value.message


def test_no_bytes_is_an_empty_file() -> None:
    with pytest.raises(SpreadsheetError) as caught:
        detect_format(b"", "x.csv")
    assert caught.value.code == "empty_file"
    assert caught.value.message == "the file is empty (0 bytes)"


def test_spreadsheet_error_is_an_invalid_input_with_its_code() -> None:
    exc = SpreadsheetError("no_header", "why")
    assert isinstance(exc, InvalidInput)
    assert (exc.code, exc.message, str(exc)) == ("no_header", "why", "why")


# --- CSV: encodings ---


def test_utf8_with_bom() -> None:
    data = codecs.BOM_UTF8 + "nome;valor\r\nJoão;1\r\n".encode()
    assert rows(data) == [(1, ["nome", "valor"]), (2, ["João", "1"])]


def test_utf8_without_bom() -> None:
    assert rows("nome;valor\nConceição;1\n".encode()) == [(1, ["nome", "valor"]), (2, ["Conceição", "1"])]


def test_cp1252_with_its_own_characters() -> None:
    # “ ” and € exist in CP1252 but not in Latin-1.
    data = "nome;obs\r\nJosé;“ok” €\r\n".encode("cp1252")
    assert rows(data)[1] == (2, ["José", "“ok” €"])


def test_cp1252_detected_when_the_first_accent_is_far_into_the_file() -> None:
    ascii_lines = "".join(f"cliente {i};{i}\r\n" for i in range(20_000))
    data = ("nome;n\r\n" + ascii_lines + "Conceição;1\r\n").encode("cp1252")
    assert len(data) > 4 * CHUNK_SIZE
    result = rows(data)
    assert result[-1] == (20_002, ["Conceição", "1"])
    assert len(result) == 20_002


def test_cp1252_split_across_tiny_reads() -> None:
    data = "nome;valor\r\nJoão Simões;1\r\nÂngela;2\r\n".encode("cp1252")
    assert list(iter_rows(Trickle(data), "x.csv")) == [  # type: ignore[arg-type]
        (1, ["nome", "valor"]),
        (2, ["João Simões", "1"]),
        (3, ["Ângela", "2"]),
    ]


def test_utf8_multibyte_characters_split_across_tiny_reads() -> None:
    data = "nome;valor\r\nJoão Conceição Ñandú 🙂;1\r\n".encode()
    for step in (1, 2, 3, 5):
        assert list(iter_rows(Trickle(data, step), "x.csv"))[1] == (  # type: ignore[arg-type]
            2,
            ["João Conceição Ñandú 🙂", "1"],
        )


def test_utf8_file_with_a_stray_cp1252_byte_keeps_its_utf8() -> None:
    # Two exports pasted together: valid UTF-8 first, then a CP1252 "ç".
    data = "nome;n\nJoão;1\n".encode() + "Conceição;2\n".encode("cp1252")
    assert [cells for _, cells in rows(data)] == [["nome", "n"], ["João", "1"], ["Conceição", "2"]]


def test_utf16_text_export_with_tabs() -> None:
    # Excel's "Unicode Text" (Texto Unicode): UTF-16 LE with BOM, tab-delimited.
    data = csv_bytes([["nome", "valor"], ["João", "1,00"]], delimiter="\t", encoding="utf-16-le", bom=True)
    assert rows(data, "export.txt") == [(1, ["nome", "valor"]), (2, ["João", "1,00"])]


# --- CSV: delimiters, quoting, lines ---


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_delimiter_is_detected_from_the_header(delimiter: str) -> None:
    data = csv_bytes([["nome", "valor", "fatura"], ["Silva; João, Jr", "1,50", "F1"]], delimiter=delimiter)
    assert rows(data)[1] == (2, ["Silva; João, Jr", "1,50", "F1"])


def test_delimiter_inside_quoted_header_cells_does_not_count() -> None:
    data = b'"nome, completo";"valor, em reais";cpf\r\nAna;1,50;x\r\n'
    assert rows(data)[1] == (2, ["Ana", "1,50", "x"])


def test_excel_sep_hint_line_sets_the_delimiter() -> None:
    data = b"sep=,\r\nnome,valor;bruto\r\nAna,1;5\r\n"
    assert rows(data) == [(2, ["nome", "valor;bruto"]), (3, ["Ana", "1;5"])]


def test_quoted_cell_spanning_lines_keeps_later_line_numbers_true() -> None:
    data = b'nome;obs\r\nAna;"linha 1\r\nlinha 2\r\nlinha 3"\r\nBia;ok\r\n'
    assert rows(data) == [
        (1, ["nome", "obs"]),
        (2, ["Ana", "linha 1\r\nlinha 2\r\nlinha 3"]),
        (5, ["Bia", "ok"]),
    ]


def test_bare_delimiter_lines_above_the_header_do_not_hide_it() -> None:
    assert rows(b";;;\r\n,,\r\nnome,valor\r\nAna,1\r\n") == [(3, ["nome", "valor"]), (4, ["Ana", "1"])]


def test_blank_lines_are_skipped_without_renumbering() -> None:
    data = b"\r\n\r\nnome;valor\r\n\r\nAna;1\r\n;\r\n  \r\nBia;2\r\n\r\n"
    assert rows(data) == [(3, ["nome", "valor"]), (5, ["Ana", "1"]), (8, ["Bia", "2"])]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_every_line_ending(newline: str) -> None:
    data = csv_bytes([["nome", "valor"], ["Ana", "1"], ["Bia", "2"]], newline=newline)
    assert rows(data) == [(1, ["nome", "valor"]), (2, ["Ana", "1"]), (3, ["Bia", "2"])]


def test_crlf_split_across_reads_is_one_line_end() -> None:
    data = b"nome;valor\r\nAna;1\r\nBia;2\r\n"
    for step in (1, 2, 3, 4):
        assert [line for line, _ in iter_rows(Trickle(data, step), "x.csv")] == [1, 2, 3]  # type: ignore[arg-type]


def test_last_line_without_newline() -> None:
    assert rows(b"nome;valor\r\nAna;1") == [(1, ["nome", "valor"]), (2, ["Ana", "1"])]


def test_only_blank_lines_is_an_empty_file() -> None:
    exc = error(b"\r\n \r\n;;;\r\n")
    assert (exc.code, exc.message) == ("empty_file", "the file has no rows (only blank lines)")


def test_only_a_bom_is_an_empty_file() -> None:
    assert error(codecs.BOM_UTF8).code == "empty_file"


def test_a_huge_cell_is_an_unreadable_row_and_the_rows_after_it_are_read() -> None:
    data = b"nome;valor\r\nAna;1\r\n" + b'"' + b"x" * (csv.field_size_limit() + 10) + b'"\r\nBia;2\r\n'
    found = rows(data)
    assert found[:2] == [(1, ["nome", "valor"]), (2, ["Ana", "1"])]
    line, cells = found[2]
    assert line == 3
    assert isinstance(cells, UnreadableRow)
    assert (cells.code, cells.message) == (
        "unreadable_row",
        "line 3: longer than 131,072 characters; not imported",
    )
    assert found[3] == (4, ["Bia", "2"])


def test_a_quoted_cell_over_the_csv_limit_spanning_lines_is_one_unreadable_row() -> None:
    cell = b"x" * 1000 + b"\r\n"
    data = b"nome;valor\r\nAna;1\r\n" + b'"' + cell * 140 + b'"\r\nBia;2\r\n'
    found = rows(data)
    unreadable = [cells for _, cells in found if isinstance(cells, UnreadableRow)]
    assert len(unreadable) >= 1
    assert unreadable[0].message.startswith("lines 3-")
    assert "unreadable as CSV (field larger than field limit" in unreadable[0].message
    # The reader goes on after the limit; the closing quote then opens a cell that swallows the
    # last row, and that is reported too: no line is lost without a word.
    assert unreadable[-1].message.startswith("lines 143-144: read as one row")


def test_an_unclosed_quote_reports_the_rows_it_swallowed() -> None:
    data = b'nome;telefone;valor\r\nAna;11;1\r\nBia;"22;2\r\nCris;33;3\r\nDu;44;4\r\n'
    found = rows(data)
    assert found[:2] == [(1, ["nome", "telefone", "valor"]), (2, ["Ana", "11", "1"])]
    assert len(found) == 3
    line, cells = found[2]
    assert line == 3
    assert isinstance(cells, UnreadableRow)
    assert cells.message == (
        'lines 3-5: read as one row: the quote (") opened on line 3 is closed only on line 5, or '
        "never; fix the quote and import these lines again; not imported"
    )


def test_a_quoted_cell_with_a_line_break_is_still_one_cell() -> None:
    data = b'nome;endereco;valor\r\nAna;"Rua A, 1\r\nApto 2";1\r\n'
    assert rows(data)[1] == (2, ["Ana", "Rua A, 1\r\nApto 2", "1"])


@pytest.mark.parametrize("filler_rows", [1, 10_000])
def test_a_nul_byte_rejects_its_row_wherever_it_is(filler_rows: int) -> None:
    data = b"nome;valor\r\n" + b"Ana;1\r\n" * filler_rows + b"B\x00ia;2\r\nCris;3\r\n"
    assert len(data) > CHUNK_SIZE or filler_rows == 1
    found = rows(data)
    line, cells = found[-2]
    assert line == filler_rows + 2
    assert isinstance(cells, UnreadableRow)
    assert cells.message == f"line {line}: a NUL character (binary data); not imported"
    assert found[-1] == (filler_rows + 3, ["Cris", "3"])


def test_a_nul_byte_in_the_header_line_is_a_binary_file() -> None:
    assert error(b"no\x00me;valor\r\nAna;1\r\n").code == "unsupported_file_type"


def test_a_cell_starting_with_equals_is_just_text() -> None:
    assert rows(b"nome;n\r\n=1+1;@SUM(A1)\r\n")[1] == (2, ["=1+1", "@SUM(A1)"])


# --- Size limit ---


def test_seekable_file_over_the_limit_is_refused_before_reading() -> None:
    class Watched(io.BytesIO):
        reads = 0

        def read(self, size: int | None = -1) -> bytes:
            self.reads += 1
            return super().read(size)

    stream = Watched(b"nome;valor\r\n" + b"Ana;1\r\n" * 2000)
    with pytest.raises(SpreadsheetError) as caught:
        next(iter_rows(stream, "x.csv", max_bytes=10_000))
    assert caught.value.code == "file_too_large"
    assert stream.reads == 0


def test_limit_message_gives_both_sizes() -> None:
    data = b"nome;valor\r\n" + b"Ana;1\r\n" * 400_000
    exc = error(data, max_bytes=1_000_000)
    assert exc.message == "the file is 2.8 MB; the limit is 1.0 MB: split it into smaller files"


def test_stream_over_the_limit_fails_while_reading() -> None:
    data = b"nome;valor\r\n" + b"Ana;1\r\n" * 50_000
    seen: list[int] = []
    with pytest.raises(SpreadsheetError) as caught:
        for line, _ in iter_rows(Trickle(data, 4096), "x.csv", max_bytes=100_000):  # type: ignore[arg-type]
            seen.append(line)
    assert caught.value.code == "file_too_large"
    assert caught.value.message.startswith("the file is more than 0.1 MB; the limit is 0.1 MB")
    assert 0 < len(seen) < 50_000


def test_file_at_exactly_the_limit_is_accepted() -> None:
    data = b"nome;valor\r\nAna;1\r\n"
    assert len(rows(data, max_bytes=len(data))) == 2
    assert len(list(iter_rows(Trickle(data), "x.csv", max_bytes=len(data)))) == 2  # type: ignore[arg-type]


def test_reading_starts_at_the_stream_position() -> None:
    stream = io.BytesIO(b"junk" + b"nome;valor\r\nAna;1\r\n")
    stream.seek(4)
    assert list(iter_rows(stream, "x.csv", max_bytes=19)) == [(1, ["nome", "valor"]), (2, ["Ana", "1"])]


# --- XLSX ---


@pytest.fixture(params=["calamine", "openpyxl"])
def xlsx_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each XLSX test runs with both readers: calamine (whole sheet) and openpyxl (streamed, for
    sheets over XLSX_IN_MEMORY_SHEET_BYTES); they must give the same rows."""
    if request.param == "openpyxl":
        monkeypatch.setattr(spreadsheets, "XLSX_IN_MEMORY_SHEET_BYTES", -1)
    return str(request.param)


@pytest.mark.usefixtures("xlsx_reader")
def test_xlsx_cells_keep_their_types() -> None:
    data = xlsx_bytes(
        [["nome", "valor", "venc"], ["Ana", 150.5, datetime(2026, 1, 5)], ["Bia", 10, date(2026, 2, 1)]]
    )
    assert rows(data, "x.xlsx") == [
        (1, ["nome", "valor", "venc"]),
        (2, ["Ana", 150.5, date(2026, 1, 5)]),
        (3, ["Bia", 10.0, date(2026, 2, 1)]),
    ]


@pytest.mark.usefixtures("xlsx_reader")
def test_xlsx_line_numbers_are_excel_row_numbers() -> None:
    data = xlsx_bytes([["nome", "valor"], ["Ana", 1], [], [None, None], ["Bia", 2]], start_row=3)
    assert [line for line, _ in rows(data, "x.xlsx")] == [3, 4, 7]


@pytest.mark.usefixtures("xlsx_reader")
def test_xlsx_first_visible_sheet_is_read() -> None:
    data = xlsx_bytes([["nome"], ["Ana"]], hidden_first_sheet=True)
    assert rows(data, "x.xlsx") == [(1, ["nome"]), (2, ["Ana"])]


@pytest.mark.usefixtures("xlsx_reader")
def test_xlsx_formula_text_is_read_as_text_and_formulas_as_their_cached_value() -> None:
    data = xlsx_bytes([["a", "b"], ["=1+1", "x"]])  # stored as a text cell
    assert rows(data, "x.xlsx")[1] == (2, ["=1+1", "x"])
    formula = xlsx_bytes([["a", "b"], ["=1+1", "x"]], text_cells=False)  # a real formula, never computed
    assert rows(formula, "x.xlsx")[1] == (2, ["", "x"])


@pytest.mark.usefixtures("xlsx_reader")
def test_xlsx_from_a_non_seekable_stream_is_spooled() -> None:
    data = xlsx_bytes([["nome", "valor"], ["Ana", 1]])
    assert list(iter_rows(Trickle(data, 1000), "x.xlsx")) == [(1, ["nome", "valor"]), (2, ["Ana", 1.0])]  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["x.csv", "x.xlsx"])
def test_web_framework_spooled_upload(name: str) -> None:
    # FastAPI's UploadFile.file: a SpooledTemporaryFile, in memory or rolled over to disk.
    table = [["nome", "valor"], ["João", "1"]]
    data = xlsx_bytes(table) if name.endswith("xlsx") else csv_bytes(table)
    for max_size in (0, 10_000_000):
        with tempfile.SpooledTemporaryFile(max_size=max_size) as upload:
            upload.write(data)
            upload.seek(0)
            assert list(iter_rows(upload, name, max_bytes=len(data))) == [
                (1, ["nome", "valor"]),
                (2, ["João", "1"]),
            ]


def test_xlsx_non_seekable_over_the_limit() -> None:
    data = xlsx_bytes([["nome", "valor"], ["Ana", 1]])
    with pytest.raises(SpreadsheetError) as caught:
        list(iter_rows(Trickle(data, 1000), "x.xlsx", max_bytes=len(data) - 1))  # type: ignore[arg-type]
    assert caught.value.code == "file_too_large"


def test_truncated_xlsx_is_corrupt() -> None:
    filename, data = truncated_xlsx()
    exc = error(data, filename)
    assert (exc.code, exc.message) == (
        "corrupt_file",
        "the Excel workbook is damaged or incomplete (was the upload cut short?)",
    )


def test_zip_that_is_not_a_workbook_is_unsupported() -> None:
    filename, data = ods_like()
    exc = error(data, filename)
    assert exc.code == "unsupported_file_type"
    assert exc.message.startswith("the file is an OpenDocument spreadsheet (.ods), not an .xlsx workbook")


def test_zip_bomb_is_refused_before_inflating() -> None:
    filename, data = zip_bomb(8_000_000)
    exc = error(data, filename, max_bytes=50_000)
    assert exc.code == "file_too_large"
    assert exc.message == "the workbook inflates to 8.0 MB of XML, over the limit of 5.0 MB"


def test_damaged_sheet_inside_a_valid_zip_is_corrupt() -> None:
    out = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not really a workbook")
    exc = error(out.getvalue(), "x.xlsx")
    assert exc.code == "corrupt_file"
    assert exc.message.startswith("the Excel workbook cannot be read")


def test_empty_workbook_is_an_empty_file() -> None:
    assert error(xlsx_bytes([]), "x.xlsx").code == "empty_file"


# --- Writing ---


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+5511999998888", "'+5511999998888"),
        ("-10", "'-10"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("João", "João"),
        ("a=1", "a=1"),
        ("", ""),
    ],
)
def test_escape_formula(value: str, escaped: str) -> None:
    assert escape_formula(value) == escaped


def test_csv_report_is_excel_br_friendly_and_escaped() -> None:
    data = b"".join(iter_csv_bytes([("a", "b"), ("=1+1", None), ("x;y", 'diz "olá"')]))
    assert data == codecs.BOM_UTF8 + 'a;b\r\n\'=1+1;\r\n"x;y";"diz ""olá"""\r\n'.encode()


def test_csv_writer_streams_in_chunks() -> None:
    produced = 0

    def rows_() -> object:
        nonlocal produced
        for index in range(50_000):
            produced += 1
            yield (str(index), "x" * 20)

    chunks = iter_csv_bytes(rows_())  # type: ignore[arg-type]
    assert next(chunks) == codecs.BOM_UTF8
    first = next(chunks)
    assert CHUNK_SIZE <= len(first) < 2 * CHUNK_SIZE
    assert produced < 5_000  # the rest is not produced yet
    assert sum(len(chunk) for chunk in chunks) > 0


def test_xlsx_report_stores_escaped_text_never_formulas() -> None:
    out = io.BytesIO()
    write_xlsx([("line", "value"), ("2", "=1+1"), ("3", None), ("4", "bad\x00char")], out, sheet_title="R")
    out.seek(0)
    sheet = load_workbook(out)["R"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values == [["line", "value"], ["2", "'=1+1"], ["3", None], ["4", "badchar"]]
    assert sheet["B2"].data_type == "s"
