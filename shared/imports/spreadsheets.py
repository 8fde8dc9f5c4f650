"""Reading rows from uploaded CSV/XLSX files, and writing spreadsheet reports safely.

Format concerns only: which format a file is, how its bytes decode, where its rows and line numbers
are. What the columns mean is `shared.imports.rows`' business.

- **CSV** is streamed: the bytes are read in chunks, decoded incrementally and split into lines, so
  memory stays flat however long the file is. Encoding: a BOM decides (UTF-8 or UTF-16); otherwise
  UTF-8, switching to CP1252 (what Excel-BR and legacy ISP systems write) at the first byte that is
  not UTF-8, however late in the file it appears. The delimiter (`;`, `,` or tab) is read from the
  header line; Excel's `sep=;` hint line is honoured.
- **XLSX** is a zip, and a zip's directory is at its end: it needs random access. A seekable stream
  (a file, an upload spooled by the web framework) is read in place; any other stream (an S3 body)
  is first spooled to a temporary file on disk — never to memory. The first visible worksheet is
  read with python-calamine, which measured ~10x faster than openpyxl's read-only mode here
  (tests/benchmarks/bench_ingest.py). Calamine parses the whole sheet into native memory before
  the first row comes out, so a sheet whose XML exceeds `XLSX_IN_MEMORY_SHEET_BYTES` (~500k rows)
  is streamed by openpyxl's read-only mode instead: slower, but memory stays flat. openpyxl also
  writes the reports.

Hostile files are bounded before they cost anything. A workbook is refused from its zip directory,
before anything is inflated, when it would inflate too far in total, when a member is packed more
tightly than real XML ever is (a zip bomb), or when its shared strings (held whole) are too large; a
member lying about its size is stopped by the readers at the declared size. In a CSV, a row that
cannot be read — a line over `MAX_LINE_CHARS` (never held whole), a NUL byte anywhere after the
header, a cell over csv's limit, an unclosed quote that swallowed the rows after it — comes out as an
`UnreadableRow` naming its lines: a per-row error, so the good rows around it are kept and nothing
is dropped without a word.

Cells are returned as read, never evaluated: CSV cells are text (a leading `=` is just a character)
and workbook cells are the stored values (a formula cell gives its cached result). Reports written
back out escape formula-looking text (`escape_formula`) so a spreadsheet program never runs it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
import zipfile
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from itertools import chain
from typing import IO, Literal, TypeAlias

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from shared.domain.errors import InvalidInput

SpreadsheetFormat: TypeAlias = Literal["csv", "xlsx"]
SpreadsheetErrorCode: TypeAlias = Literal[
    "empty_file", "unsupported_file_type", "file_too_large", "corrupt_file", "missing_columns", "no_header"
]
# What a cell can hold: text (CSV, XLSX strings), numbers and booleans, dates and times from
# workbooks. Empty cells are "" (both readers) or None.
Cell: TypeAlias = str | int | float | date | time | timedelta | None
Row: TypeAlias = tuple[int, list[Cell]]

CHUNK_SIZE = 64 * 1024
# A physical CSV line longer than this is not a row of debtors (a real one is well under 1 KB): it is
# reported as unreadable and skipped without being held in memory. csv's own cell limit (131,072
# characters) catches a quoted cell running over many lines (an unclosed quote).
MAX_LINE_CHARS = 128 * 1024
# A worksheet whose XML inflates beyond this is streamed by openpyxl instead of read whole by
# calamine, which holds ~1.6 bytes per byte of sheet XML (~300 MB at this size, ~500k rows).
XLSX_IN_MEMORY_SHEET_BYTES = 192 * 1024 * 1024
# A workbook that inflates beyond this many times the upload limit is a zip bomb, not a sheet of
# debtors (real workbooks measured ~5-10x).
MAX_XLSX_EXPANSION = 100
# Deflate packs real worksheet XML 5-20x; a large member packed tighter than this is a zip bomb
# (deflate's best is ~1,030x). Members under the floor may compress however they like.
MAX_XLSX_COMPRESSION_RATIO = 100
XLSX_RATIO_FLOOR_BYTES = 1024 * 1024
# The shared strings are held whole by both readers, however the sheet is read: bounded apart.
MAX_XLSX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024

_SAVE_AS = "save it as .xlsx (Excel Workbook) or .csv and upload again"


class UnreadableRow(list[Cell]):
    """The cells of a row that could not be read (no cells), with why: a per-row error, never a
    reason to refuse the file. `iter_rows` yields it in the row's place, so the rest of the file is
    still read and nothing it held is lost silently."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__()
        self.code = code
        self.message = message


class SpreadsheetError(InvalidInput):
    """A file that cannot be read as a spreadsheet of targets; the whole upload is refused (4xx)."""

    code = "invalid_spreadsheet"

    def __init__(self, code: SpreadsheetErrorCode, message: str) -> None:
        super().__init__(message, code=code)


# --- Format detection ---

# Binary formats supervisors actually upload by mistake, by their magic bytes.
_OTHER_FORMATS: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Excel .xls file (or a password-protected workbook)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"{\\rtf", "an RTF document"),
)
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_TEXT_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Legacy systems "export to Excel" by writing an HTML table or XML into a .xls file.
_MARKUP = re.compile(rb"\s*<(?:!doctype|html|table|\?xml)", re.IGNORECASE)


def detect_format(head: bytes, filename: str | None = None) -> SpreadsheetFormat:
    """Whether the file starting with `head` is a CSV or an XLSX workbook.

    The content decides (magic bytes); the name is only used to explain a mismatch. Raises
    `SpreadsheetError` — `empty_file` for no bytes, `unsupported_file_type` for PDFs, images, legacy
    `.xls`, HTML and other binaries, `corrupt_file` for a text file named `.xlsx`.
    """
    if not head:
        raise SpreadsheetError("empty_file", "the file is empty (0 bytes)")
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_EMPTY_ZIP_MAGIC):
        raise SpreadsheetError("corrupt_file", "the file is an empty zip archive, not an Excel workbook")
    for magic, what in _OTHER_FORMATS:
        if head.startswith(magic):
            raise SpreadsheetError(
                "unsupported_file_type", f"the file is {what}, not a spreadsheet: {_SAVE_AS}"
            )
    is_utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    # A NUL in the header line means binary data; one in a later row only rejects that row
    # (`iter_rows`), wherever it is in the file.
    if b"\x00" in head.split(b"\n", 1)[0] and not is_utf16:
        raise SpreadsheetError("unsupported_file_type", f"the file is binary, not CSV text: {_SAVE_AS}")
    if not is_utf16 and _MARKUP.match(head):
        raise SpreadsheetError(
            "unsupported_file_type",
            f"the file is an HTML/XML document (some systems export these as .xls): {_SAVE_AS}",
        )
    if filename is not None and filename.lower().endswith((".xlsx", ".xlsm")):
        raise SpreadsheetError(
            "corrupt_file", f"{_display(filename)} is named as an Excel workbook but is not one: {_SAVE_AS}"
        )
    return "csv"


# --- Reading ---


def iter_rows(stream: IO[bytes], filename: str | None = None, max_bytes: int | None = None) -> Iterator[Row]:
    """The non-blank rows of an uploaded CSV or XLSX, as `(line_number, cells)`.

    `line_number` is where a supervisor finds the row: the 1-based line of a CSV (a quoted cell
    spanning lines counts them all) or the row number of the worksheet. Fully blank rows are
    skipped, without renumbering the rest. The stream is read from its current position.

    A row that cannot be read comes as `(line, UnreadableRow)`: no cells, the reason attached.

    `max_bytes` bounds the file: checked up front on a seekable stream, otherwise while reading
    (a CSV then fails part-way, after some rows were yielded — treat the whole import as failed).
    Raises `SpreadsheetError` for an empty, unsupported, corrupt or oversized file.
    """
    remaining = _remaining_size(stream)
    if max_bytes is not None and remaining is not None and remaining > max_bytes:
        raise _too_large(remaining, max_bytes)
    head = _read_head(stream)
    if detect_format(head, filename) == "xlsx":
        rows = _xlsx_rows(stream, head, max_bytes)
    else:
        rows = _csv_rows(_chunks(stream, head, max_bytes))
    first = next(rows, None)
    if first is None:
        raise SpreadsheetError("empty_file", "the file has no rows (only blank lines)")
    yield first
    yield from rows  # delegation runs in C: no per-row cost for this layer


def _remaining_size(stream: IO[bytes]) -> int | None:
    """Bytes left from the current position, when the stream can tell without reading."""
    try:
        if not stream.seekable():
            return None
        position = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(position)
    except (AttributeError, OSError, ValueError):
        return None
    return end - position


def _read_head(stream: IO[bytes]) -> bytes:
    """The first chunk: enough for magic bytes, the BOM and usually the header line."""
    head = stream.read(CHUNK_SIZE) or b""
    # Network streams may return a few bytes at a time; magic numbers need the first eight.
    while 0 < len(head) < 8:
        more = stream.read(CHUNK_SIZE)
        if not more:
            break
        head += more
    return head


def _chunks(stream: IO[bytes], head: bytes, max_bytes: int | None) -> Iterator[bytes]:
    """The stream's bytes in chunks, starting with the already-read `head`, enforcing the limit."""
    total = len(head)
    if max_bytes is not None and total > max_bytes:
        raise _too_large(total, max_bytes, at_least=True)
    yield head
    while chunk := stream.read(CHUNK_SIZE):
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise _too_large(total, max_bytes, at_least=True)
        yield chunk


def _too_large(size: int, limit: int, *, at_least: bool = False) -> SpreadsheetError:
    over = "more than " if at_least else ""
    return SpreadsheetError(
        "file_too_large",
        f"the file is {over}{_megabytes(size)}; the limit is {_megabytes(limit)}: split it into smaller files",
    )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _display(filename: str) -> str:
    return repr(filename[-80:])


# --- CSV ---

# Delimiters Brazilian spreadsheets use, in order of preference when counts tie (Excel-BR writes ";").
_DELIMITERS = (";", ",", "\t")
_QUOTED = re.compile(r'"[^"]*"')


def _csv_rows(chunks: Iterator[bytes]) -> Iterator[Row]:
    flaws: deque[tuple[int, str]] = deque()  # (line, what is wrong with it), in line order
    lines = _split_lines(_decode(chunks), flaws)
    skipped = 0  # lines before the header: blank ones and Excel's "sep=;" hint
    delimiter: str | None = None
    for line in lines:
        stripped = line.strip()
        if not stripped.strip(";,\t"):  # blank, or bare delimiters
            skipped += 1
            continue
        if stripped[:4].lower() == "sep=" and len(stripped) == 5:
            skipped += 1
            delimiter = stripped[4]
            continue
        header = line
        break
    else:
        return
    if delimiter is None:
        delimiter = _detect_delimiter(header)
    # A line inside a quoted cell with as many delimiters as the header is a row it swallowed.
    row_delimiters = max(1, _QUOTED.sub("", header).count(delimiter))
    reader = csv.reader(chain((header,), lines), delimiter=delimiter, quotechar='"', doublequote=True)
    previous_end = skipped  # line_num counts physical lines the reader consumed so far
    while True:
        start = previous_end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a cell over csv's limit: the reader goes on at the next line
            previous_end = skipped + reader.line_num
            _flaw_within(flaws, start, previous_end)
            yield (
                start,
                _unreadable(start, previous_end, f"unreadable as CSV ({exc}; an unclosed quote?)"),
            )
            continue
        previous_end = skipped + reader.line_num
        if flaws and flaws[0][0] <= previous_end:
            flaw = _flaw_within(flaws, start, previous_end)
            if flaw is not None:
                yield start, _unreadable(start, previous_end, flaw)
                continue
        if previous_end > start and _swallows_rows(cells, delimiter, row_delimiters):
            yield (
                start,
                _unreadable(
                    start,
                    previous_end,
                    f'read as one row: the quote (") opened on line {start} is closed only on line '
                    f"{previous_end}, or never; fix the quote and import these lines again",
                ),
            )
            continue
        # Blank: [] for an empty line, ["", "", …] for bare delimiters, or only spaces. Only rows
        # whose first cell is blank pay for the full check.
        if not cells or not cells[0] or cells[0].isspace():
            if _is_blank_row(cells):
                continue
        yield start, cells  # type: ignore[misc]  # list[str] is a list[Cell]


def _unreadable(start: int, end: int, why: str) -> UnreadableRow:
    where = f"line {start}" if start == end else f"lines {start}-{end}"
    return UnreadableRow("unreadable_row", f"{where}: {why}; not imported")


def _flaw_within(flaws: deque[tuple[int, str]], start: int, end: int) -> str | None:
    """The first flaw of lines start..end, dropping every flaw up to `end`."""
    found = None
    while flaws and flaws[0][0] <= end:
        line, why = flaws.popleft()
        if found is None and line >= start:
            found = why
    return found


def _swallows_rows(cells: list[str], delimiter: str, row_delimiters: int) -> bool:
    """Whether a cell spanning lines holds a line that looks like a whole row of its own."""
    return any(
        part.count(delimiter) >= row_delimiters
        for cell in cells
        if "\n" in cell or "\r" in cell
        for part in cell.splitlines()[1:]
    )


def _detect_delimiter(header: str) -> str:
    """The delimiter occurring most in the header line outside quotes (ties: ';' first)."""
    unquoted = _QUOTED.sub("", header)
    counts = [(unquoted.count(delimiter), -rank, delimiter) for rank, delimiter in enumerate(_DELIMITERS)]
    return max(counts)[2]


def _decode(chunks: Iterator[bytes]) -> Iterator[str]:
    """Text from byte chunks: BOM → that encoding; else UTF-8 until a byte proves it is not."""
    first = next(chunks)
    for bom, encoding in _TEXT_BOMS:
        if first.startswith(bom):
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
            for chunk in chain((first,), chunks):
                yield decoder.decode(chunk)
            yield decoder.decode(b"", True)
            return
    yield from _decode_utf8_or_cp1252(chain((first,), chunks))


def _decode_utf8_or_cp1252(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8, switching to CP1252 at the first invalid byte.

    Until then everything decoded was ASCII — identical in both encodings — so switching mid-stream
    gives exactly what decoding the whole file as CP1252 would. If valid non-ASCII UTF-8 came
    before (a file pasted together from two sources), UTF-8 stays and only the stray bytes are
    read as CP1252.
    """
    chunk_iter = iter(chunks)
    pending = b""
    seen_non_ascii = False
    for chunk in chunk_iter:
        data = pending + chunk if pending else chunk
        try:
            # final=False keeps an incomplete trailing sequence for the next chunk.
            text, consumed = codecs.utf_8_decode(data, "strict", False)
        except UnicodeDecodeError as exc:
            valid = data[: exc.start].decode("utf-8")
            yield valid
            fallback: codecs.IncrementalDecoder
            if seen_non_ascii or not valid.isascii():
                fallback = codecs.getincrementaldecoder("utf-8")(errors=_CP1252_FALLBACK)
            else:
                fallback = codecs.getincrementaldecoder("cp1252")(errors="replace")
            yield fallback.decode(data[exc.start :])
            for rest in chunk_iter:
                yield fallback.decode(rest)
            yield fallback.decode(b"", True)
            return
        pending = data[consumed:]
        # str.isascii is O(1) in CPython: it reads a flag of the string object.
        if not seen_non_ascii and not text.isascii():
            seen_non_ascii = True
        yield text
    if pending:  # a multi-byte sequence cut short by the end of the file
        yield pending.decode("utf-8" if seen_non_ascii else "cp1252", errors="replace")


def _cp1252_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read the bytes UTF-8 rejected as CP1252 and carry on."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return bad.decode("cp1252", errors="replace"), exc.end


_CP1252_FALLBACK = "cobranca.cp1252_fallback"
codecs.register_error(_CP1252_FALLBACK, _cp1252_bytes)


def _split_lines(texts: Iterator[str], flaws: deque[tuple[int, str]]) -> Iterator[str]:
    """Physical lines with their endings (\\n, \\r\\n or a lone \\r), across chunk boundaries.

    Lines are counted, and one holding a NUL character (binary data, wherever it is in the file)
    or longer than `MAX_LINE_CHARS` is noted in `flaws` as `(line, why)`. A too-long line is never
    held whole: it is passed on as its bare ending — after a quote if it held an odd number of
    them, so the CSV reader stays inside or outside a quoted cell as the whole line would have left
    it — while the rest of its text is dropped as it streams by.
    """
    pending = ""
    number = 0  # lines passed on so far
    skipping = False  # inside a too-long line
    quotes = 0  # quotes in the too-long line so far
    for text in texts:
        if skipping:
            ending = _LINE_END.search(text)
            if ending is None:
                quotes += text.count('"')
                continue
            quotes += text.count('"', 0, ending.start())
            skipping = False
            number += 1
            yield '"' * (quotes % 2) + "\n"
            text = text[ending.end() :]
        if pending:
            text = pending + text
        if not text:
            continue
        # StringIO(newline="") splits on \n, \r and \r\n and keeps the endings: what csv expects.
        lines = io.StringIO(text, newline="").readlines()
        pending = lines.pop()
        if pending[-1] == "\n":  # a complete last line (a trailing "\r" may still meet its "\n")
            lines.append(pending)
            pending = ""
        if lines and len(lines[0]) > MAX_LINE_CHARS:  # completed by this chunk
            flaws.append((number + 1, f"longer than {MAX_LINE_CHARS:,} characters"))
            first = lines[0]
            lines[0] = '"' * (first.count('"') % 2) + first[len(first.rstrip("\r\n")) :]
        if "\x00" in text:
            flaws.extend(
                (line_number, "a NUL character (binary data)")
                for line_number, line in enumerate(lines, start=number + 1)
                if "\x00" in line
            )
        if len(pending) > MAX_LINE_CHARS:
            flaws.append((number + len(lines) + 1, f"longer than {MAX_LINE_CHARS:,} characters"))
            skipping, quotes, pending = True, pending.count('"'), ""
        number += len(lines)
        yield from lines
    if pending:
        yield pending
    elif skipping:
        yield '"' * (quotes % 2)


_LINE_END = re.compile(r"\r\n|\r|\n")


# --- XLSX ---


def _xlsx_rows(stream: IO[bytes], head: bytes, max_bytes: int | None) -> Iterator[Row]:
    with _SeekableSource(stream, head, max_bytes) as (file, start):
        largest_sheet = _check_workbook(file, max_bytes)
        file.seek(start)
        escaped_nul = False
        if largest_sheet > XLSX_IN_MEMORY_SHEET_BYTES:
            numbered = _streamed_xlsx_rows(file)  # openpyxl leaves "_x0000_" as text
        else:
            escaped_nul = _escapes_nul(file)
            file.seek(start)
            numbered = _calamine_rows(file)
        for line, cells in numbered:
            # calamine turns OOXML's "_x0000_" into a NUL: such a row is rejected, as in a CSV.
            if escaped_nul and any(type(cell) is str and "\x00" in cell for cell in cells):
                yield line, _unreadable(line, line, "a NUL character (binary data)")
                continue
            lead = cells[0] if cells else None  # as for CSV: a non-blank first cell settles it
            if lead is None or (type(lead) is str and (not lead or lead.isspace())):
                if _is_blank_row(cells):
                    continue
            yield line, cells


def _calamine_rows(file: IO[bytes]) -> Iterator[Row]:
    """The first visible worksheet's rows, numbered, read with python-calamine (whole sheet at once)."""
    try:
        workbook = CalamineWorkbook.from_filelike(file)
        sheet = workbook.get_sheet_by_index(_first_visible_sheet(workbook))
        origin = sheet.start
        if origin is None:  # no cell at all
            return
        rows = sheet.iter_rows()
        first_line = 1
        if origin[0] > 0:
            # python-calamine 0.9 pads the rows above the used area with empty ones, so its rows
            # are numbered as Excel does, from 1. Should a version start at the used area
            # instead, its first row is not blank: number from the used area's first row.
            first = next(rows, None)
            if first is None:
                return
            if not _is_blank_row(first):
                first_line = origin[0] + 1
            rows = chain((first,), rows)
        yield from enumerate(rows, start=first_line)
    except CalamineError as exc:
        raise SpreadsheetError("corrupt_file", f"the Excel workbook cannot be read ({exc})") from None


def _streamed_xlsx_rows(file: IO[bytes]) -> Iterator[Row]:
    """The first visible worksheet's rows, numbered, streamed by openpyxl's read-only mode.

    For sheets too large to hold in memory: flat memory, ~8x slower. Cells come out as calamine
    gives them (empty "", numbers float, date-only values `date`), so both readers feed the
    validator the same rows.
    """
    from openpyxl import load_workbook  # only huge workbooks need it

    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises whatever its zip/XML layers raise
        raise SpreadsheetError("corrupt_file", f"the Excel workbook cannot be read ({exc})") from None
    try:
        sheets = workbook.worksheets
        sheet = next((ws for ws in sheets if ws.sheet_state == "visible"), sheets[0])
        for line, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            yield line, [_as_calamine_cell(cell) for cell in row]
    finally:
        workbook.close()


def _as_calamine_cell(cell: object) -> Cell:
    if cell is None:
        return ""
    if type(cell) is int:
        return float(cell)
    if type(cell) is datetime and cell.time() == time():
        return cell.date()
    return cell  # type: ignore[return-value]  # str, float, bool, date, time, timedelta


def _is_blank_row(cells: Sequence[object]) -> bool:
    return all(cell is None or (type(cell) is str and (not cell or cell.isspace())) for cell in cells)


class _SeekableSource:
    """The stream itself when it can seek, else a disk spool of it; yields (file, start offset)."""

    def __init__(self, stream: IO[bytes], head: bytes, max_bytes: int | None) -> None:
        self._stream = stream
        self._head = head
        self._max_bytes = max_bytes
        self._spool: IO[bytes] | None = None

    def __enter__(self) -> tuple[IO[bytes], int]:
        stream = self._stream
        if _remaining_size(stream) is not None:
            return stream, stream.tell() - len(self._head)
        self._spool = tempfile.TemporaryFile(prefix="cobranca-import-")
        for chunk in _chunks(stream, self._head, self._max_bytes):
            self._spool.write(chunk)
        return self._spool, 0

    def __exit__(self, *exc_info: object) -> None:
        if self._spool is not None:
            self._spool.close()


def _check_workbook(file: IO[bytes], max_bytes: int | None) -> int:
    """Refuse, with a precise reason, zips that are not .xlsx workbooks or would inflate too far.

    Returns the uncompressed size of the largest worksheet's XML.
    """
    try:
        with zipfile.ZipFile(file) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise SpreadsheetError(
            "corrupt_file", "the Excel workbook is damaged or incomplete (was the upload cut short?)"
        ) from None
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            what = "an Excel binary workbook (.xlsb)"
        elif "content.xml" in names:
            what = "an OpenDocument spreadsheet (.ods)"
        elif "word/document.xml" in names:
            what = "a Word document"
        else:
            what = "a zip archive"
        raise SpreadsheetError(
            "unsupported_file_type", f"the file is {what}, not an .xlsx workbook: {_SAVE_AS}"
        )
    if max_bytes is not None:
        inflated = sum(info.file_size for info in infos)
        if inflated > MAX_XLSX_EXPANSION * max_bytes:
            raise SpreadsheetError(
                "file_too_large",
                f"the workbook inflates to {_megabytes(inflated)} of XML, "
                f"over the limit of {_megabytes(MAX_XLSX_EXPANSION * max_bytes)}",
            )
    for info in infos:
        if info.file_size > XLSX_RATIO_FLOOR_BYTES and (
            info.file_size > MAX_XLSX_COMPRESSION_RATIO * info.compress_size
        ):
            raise SpreadsheetError(
                "corrupt_file",
                f"the workbook's {_display(info.filename)} inflates from {_megabytes(info.compress_size)} "
                f"to {_megabytes(info.file_size)}, over {MAX_XLSX_COMPRESSION_RATIO} times: a zip bomb, "
                f"not a spreadsheet",
            )
        if info.filename == "xl/sharedStrings.xml" and info.file_size > MAX_XLSX_SHARED_STRINGS_BYTES:
            raise SpreadsheetError(
                "file_too_large",
                f"the workbook's text cells inflate to {_megabytes(info.file_size)}, over the limit of "
                f"{_megabytes(MAX_XLSX_SHARED_STRINGS_BYTES)}: split it into smaller files",
            )
    return max((info.file_size for info in infos if info.filename.startswith("xl/worksheets/")), default=0)


_ESCAPED_NUL = b"_x0000_"


def _escapes_nul(file: IO[bytes]) -> bool:
    """Whether the workbook's text (shared strings or worksheets) holds OOXML's escape of a NUL,
    searched as it inflates, a chunk at a time (the members were bounded by `_check_workbook`)."""
    try:
        with zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                if info.filename != "xl/sharedStrings.xml" and not info.filename.startswith("xl/worksheets/"):
                    continue
                with archive.open(info) as member:
                    tail = b""
                    while chunk := member.read(CHUNK_SIZE * 16):
                        if _ESCAPED_NUL in tail + chunk[: len(_ESCAPED_NUL)] or _ESCAPED_NUL in chunk:
                            return True
                        tail = chunk[-len(_ESCAPED_NUL) :]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:  # a damaged or lying member
        raise SpreadsheetError("corrupt_file", f"the Excel workbook cannot be read ({exc})") from None
    return False


def _first_visible_sheet(workbook: CalamineWorkbook) -> int:
    """The index of the first worksheet a supervisor sees (hidden sheets and chart sheets skipped)."""
    for index, meta in enumerate(workbook.sheets_metadata):
        if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet:
            return index
    return 0


# --- Writing ---

# A spreadsheet program treats a cell starting with these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: str) -> str:
    """`value` made inert for a spreadsheet program: formula-looking text gets a leading `'`."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def iter_csv_bytes(
    rows: Iterable[Sequence[str | None]], *, delimiter: str = ";", bom: bool = True
) -> Iterator[bytes]:
    """Encode rows as a CSV that Excel-BR opens correctly: UTF-8 with BOM, `;`, CRLF.

    Streams: one chunk per ~64 KB of output, never the whole file. Every cell goes through
    `escape_formula`; None becomes an empty cell. `bom=False` continues a file already started.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    if bom:
        yield codecs.BOM_UTF8
    for row in rows:
        writer.writerow(["" if cell is None else escape_formula(cell) for cell in row])
        if buffer.tell() >= CHUNK_SIZE:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def write_xlsx(rows: Iterable[Sequence[str | None]], out: IO[bytes], *, sheet_title: str = "Sheet1") -> None:
    """Write rows as a one-sheet .xlsx to `out` with openpyxl's streaming (write-only) mode.

    Every cell is stored as text (never as a formula) and escaped with `escape_formula`, so the
    file stays inert even when copied into a CSV.
    """
    from openpyxl import Workbook  # only reports need it: keep it off the import path of readers
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title)
    for row in rows:
        cells: list[object] = []
        for value in row:
            if not value:
                cells.append(None)
                continue
            # openpyxl refuses control characters; they carry no meaning in a report anyway.
            cell = WriteOnlyCell(sheet, value=escape_formula(ILLEGAL_CHARACTERS_RE.sub("", value)))
            cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
            cells.append(cell)
        sheet.append(cells)
    workbook.save(out)
