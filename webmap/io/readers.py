"""Reading delimited text files row by row, whatever their encoding and delimiter.

:func:`open_csv` looks at the first 64 KiB of a file and refuses what is not a delimited text
file (a PNG, a zip or an .xlsx renamed ``.csv``, a PDF, binary content) before anything is
read; it detects the encoding (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1256 Arabic
when the bytes are not UTF-8 and decode to Arabic letters; anything else is refused, naming the
``--encoding`` option) and the delimiter (the one of ``, ; tab |`` that splits the header into
the most columns). Rows are then streamed: a 2 GB file is never loaded whole, and no line is
read past :data:`LINE_LIMIT` characters (a file without line breaks is refused, not read whole).

Row numbers are those a spreadsheet shows: the header is row 1, the first data row row 2 (a
value spanning several lines inside quotes is still one row).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import ImportFailed, InvalidRecord, UnreadableFile
from ..files import capped_lines, check_input_file

ROW_NUMBERING = "row numbers as in a spreadsheet: the header is row 1"
SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16", "cp1256": "Windows-1256"}

# Magic numbers of files people rename to .csv by mistake.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one: save it as CSV UTF-8)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file such as Excel .xls (save it as CSV UTF-8)"),
    (b"\x1f\x8b", "a gzip archive (unpack it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (unpack it first)"),
    (b"Rar!", "a RAR archive (unpack it first)"),
    (b"SQLite format 3\x00", "a SQLite database"),
)
# A single CSV value larger than this is refused rather than read into memory.
FIELD_LIMIT = 1_000_000
# One line of a file: a value of FIELD_LIMIT and the rest of its row.
LINE_LIMIT = 2 * FIELD_LIMIT


def refuse(path: Path | str, problem: str) -> ImportFailed:
    """The error for a file refused whole: ``<name>: <problem>; nothing written``."""
    return ImportFailed([], header=f"{Path(path).name}: {problem}; nothing written")


def sniff_file(path: Path) -> bytes:
    """The first bytes of ``path``, after refusing missing, empty, non-regular and non-text files."""
    try:
        check_input_file(path)
    except UnreadableFile as exc:
        raise refuse(path, exc.problem) from None
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip():
        raise refuse(path, "the file is empty")
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            raise refuse(path, f"not a text file: it is {what}")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise refuse(path, "not a text file: it holds binary data (NUL bytes)")
    return head


def detect_encoding(head: bytes, complete: bool) -> str:
    """The Python codec of a text file from its first bytes (``complete``: the whole file).

    Raises :class:`ValueError` with a user-facing reason when the encoding is not recognised.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Windows-1256 assigns every byte, so decoding proves nothing: require that the non-ASCII
    # characters be (nearly all) Arabic letters, which Latin-1 or Cyrillic text never gives.
    non_ascii = [c for c in head.decode("cp1256") if ord(c) > 127]
    arabic = sum(1 for c in non_ascii if "\u0600" <= c <= "\u06ff")
    if arabic >= 0.9 * len(non_ascii):
        return "cp1256"
    raise ValueError(
        "the file is neither UTF-8 nor Windows-1256 Arabic text: save it as 'CSV UTF-8' "
        "or name its encoding with --encoding (e.g. --encoding latin-1)"
    )


def _header_line(text: str) -> str:
    return text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""


def detect_delimiter(header_line: str) -> str:
    """The delimiter among ``, ; tab |`` that splits ``header_line`` into the most columns."""
    counts = {d: len(next(csv.reader([header_line], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))


@dataclass
class CsvSource:
    """An opened delimited file: its header and how it was read; iterate :meth:`rows`."""

    path: Path
    encoding: str
    delimiter: str
    columns: list[str]
    size: int
    hxl_row: bool = False
    _binary: BinaryIO | None = field(default=None, repr=False)

    @property
    def described(self) -> str:
        """How the file was read, e.g. ``UTF-8 with BOM, comma-separated``."""
        name = ENCODING_NAMES.get(self.encoding, self.encoding)
        return f"{name}, {_DELIMITER_NAMES[self.delimiter]}-separated"

    def position(self) -> int:
        """Bytes of the file read so far (for progress bars)."""
        return self._binary.tell() if self._binary and not self._binary.closed else self.size

    def stream(
        self,
        convert: Callable[[dict], dict],
        columns: dict[str, str],
        *,
        described: str | None = None,
        ignored_columns: list[str] | None = None,
    ) -> RowStream:
        """The :class:`RowStream` of this file's rows through ``convert``."""
        return RowStream(
            rows=self.rows(),
            convert=convert,
            described=described or self.described,
            position=self.position,
            size=self.size,
            columns=columns,
            ignored_columns=ignored_columns or [],
        )

    def rows(self) -> Iterator[tuple[int, dict[str, str] | InvalidRecord]]:
        """``(row number, {column: value})`` for every data row; blank lines are skipped.

        A row with more or fewer values than the header yields an :class:`InvalidRecord` instead
        of a dict, so the caller lists it among the bad rows. Bytes that are not valid in the
        detected encoding end the file with :class:`ImportFailed`.
        """
        csv.field_size_limit(FIELD_LIMIT)
        with self.path.open("rb") as binary:
            self._binary = binary
            text = io.TextIOWrapper(binary, encoding=self.encoding, newline="")
            reader = csv.reader(capped_lines(text, LINE_LIMIT, self.path.name), delimiter=self.delimiter)
            row_number = 1
            try:
                next(reader)
                if self.hxl_row:
                    next(reader)
                    row_number += 1
                width = len(self.columns)
                for values in reader:
                    row_number += 1
                    if not values or (len(values) == 1 and not values[0].strip()):
                        continue
                    if len(values) != width:
                        yield (
                            row_number,
                            InvalidRecord(
                                "columns",
                                f"{len(values)} values but the header has {width} columns "
                                f"(a stray {_DELIMITER_NAMES[self.delimiter]} or an unclosed quote?)",
                            ).at_row(row_number),
                        )
                        continue
                    yield row_number, dict(zip(self.columns, values, strict=False))
            except UnicodeError:
                name = ENCODING_NAMES.get(self.encoding, self.encoding)
                raise refuse(
                    self.path,
                    f"after row {row_number} the bytes are not valid {name}: save the file as "
                    "'CSV UTF-8' or name its encoding with --encoding",
                ) from None
            except csv.Error as exc:
                raise refuse(self.path, f"row {row_number + 1}: unreadable CSV ({exc})") from None
            except UnreadableFile as exc:
                raise refuse(self.path, f"after row {row_number}: {exc.problem}") from None


def open_csv(path: Path | str, *, encoding: str | None = None) -> CsvSource:
    """Open a delimited text file for streaming, or raise :class:`ImportFailed` saying why not.

    ``encoding`` (a Python codec name) overrides detection. A second row whose every non-empty
    value starts with ``#`` is an HXL tag row (HDX exports) and is skipped.
    """
    path = Path(path)
    head = sniff_file(path)
    size = path.stat().st_size
    if encoding:
        try:
            # rot13, hex, base64 ... are codecs too, but do not turn bytes into text.
            head.decode(encoding, errors="ignore")
        except LookupError:
            raise refuse(path, f"--encoding: unknown text encoding {encoding!r}") from None
    else:
        try:
            encoding = detect_encoding(head, complete=size <= len(head))
        except ValueError as exc:
            raise refuse(path, str(exc)) from None
    delimiter = detect_delimiter(_header_line(head.decode(encoding, errors="ignore")))
    with path.open("rb") as binary:
        try:
            text = io.TextIOWrapper(binary, encoding=encoding, newline="")
            reader = csv.reader(capped_lines(text, LINE_LIMIT, path.name), delimiter=delimiter)
            header = next(reader, [])
            second = next(reader, [])
        except (UnicodeError, csv.Error) as exc:  # UnicodeError: e.g. UTF-16 without a BOM
            raise refuse(path, f"the header cannot be read as {encoding}: {exc}") from None
        except UnreadableFile as exc:
            raise refuse(path, exc.problem) from None
    columns = [c.strip().lstrip("\ufeff").strip() for c in header]
    if not any(columns):
        raise refuse(path, "the first row (the header) is empty")
    seen: set[str] = set()
    for name in columns:
        if name and name.lower() in seen:
            raise refuse(path, f"the header names the column {name!r} twice")
        seen.add(name.lower())
    hxl = any(v.strip() for v in second) and all(v.strip().startswith("#") for v in second if v.strip())
    return CsvSource(path, encoding, delimiter, columns, size, hxl_row=hxl)


def open_known_layout(
    path: Path, column_map, encoding: str | None, required: tuple[str, ...], what: str, flag: str
) -> tuple[CsvSource, Callable[[dict, str], str | None]]:
    """Open a CSV of a published layout (ACLED, UCDP): refuse ``--map``, require its columns.

    Returns the source and ``get(row, column)``: the stripped value, or None when blank or absent.
    """
    if column_map:
        raise refuse(path, f"--map is for --format csv; {flag} files are read by their own column names")
    source = open_csv(path, encoding=encoding)
    present = require_columns(source, required, what)

    def get(row: dict, name: str) -> str | None:
        column = present.get(name)
        value = row[column].strip() if column else ""
        return value or None

    return source, get


def require_columns(source: CsvSource, required: tuple[str, ...] | list[str], what: str) -> dict[str, str]:
    """Map each lower-cased column name to its spelling in the file; refuse listing every missing one."""
    present = {c.lower(): c for c in source.columns}
    missing = [c for c in required if c.lower() not in present]
    if missing:
        shown = ", ".join(source.columns[:12]) + (", ..." if len(source.columns) > 12 else "")
        raise refuse(
            source.path,
            f"not {what}: missing required column(s) {', '.join(missing)} "
            f"(read as {source.described}, the header has: {shown})",
        )
    return present


@dataclass
class RowStream:
    """What an importer format hands the import pipeline.

    ``rows`` yields ``(row number, raw row)`` (or an :class:`InvalidRecord` for a row that
    cannot even be split); ``convert`` turns a raw row into record field values for
    :func:`webmap.records.validate_incident`, raising :class:`InvalidRecord` naming the field.
    ``columns`` maps a record field to the file's column it came from, so errors name the
    column the user sees; ``numbering`` says how rows are counted.
    """

    rows: Iterator[tuple[int, Any]]
    convert: Callable[[Any], dict]
    described: str
    position: Callable[[], int]
    size: int
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    numbering: str = ROW_NUMBERING
