"""Import files on disk: CSV (header row) or Parquet in, the rejected rows out as FILE.rejects.csv.

It implements the imports' file port (`arrears.services.import_files_port.ImportFiles`); the bootstrap plugs it
in. Problems with the file itself are an `InputError` naming the file and, where there is one, the line:
missing, unknown type, bytes that are not text in the encoding, a NUL byte, no or a repeated header, a row
with more or fewer fields than the header. A message never quotes a row's content (it may hold a name, a
phone or an ID number): it names the line and what is wrong with it.

CSV text: UTF-8 by default; a byte-order mark (UTF-8, UTF-16, UTF-32) says the encoding itself; other
encodings by name (`gbk`, `gb18030`, ...) or `auto` (UTF-8 if the bytes are UTF-8, else GB18030, the
superset of GBK and GB2312 that Chinese Excel writes). Lines may end in LF, CRLF or CR, mixed.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from arrears.domain.errors import InputError

DEFAULT_ENCODING = "utf-8"
AUTO = "auto"
# What --encoding accepts (besides `auto`): the encodings a lender's files come in. GB18030 is a superset of
# GBK, which is a superset of GB2312.
ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030", "gbk", "gb2312", "big5", "utf-16", "latin-1")

_BOMS: tuple[tuple[bytes, str], ...] = (  # longest first: the UTF-32 LE mark starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LINE_END = re.compile(rb"\r\n|\r|\n")


class LocalImportFiles:
    """Files on this machine's disk."""

    def read(self, path: str | Path, encoding: str | None = None) -> pa.Table:
        return read_table(path, encoding=encoding)

    def write_rejects(self, path: Path, rejects: pa.Table) -> str:
        """The rejected rows beside the file they came from: FILE.rejects.csv (UTF-8)."""
        out = Path(f"{path}.rejects.csv")
        pacsv.write_csv(rejects, out)
        return str(out)


def read_table(path: str | Path, *, encoding: str | None = None) -> pa.Table:
    """A CSV (header row; every column read as text) or Parquet file as a pyarrow Table."""
    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise InputError("file not found", file=name)
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            return pq.read_table(p)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"not a readable Parquet file: {exc}", file=name) from None
    if suffix not in (".csv", ".txt"):
        raise InputError("unknown file type (use .csv or .parquet)", file=name)
    data = utf8_text(p.read_bytes(), name, encoding or DEFAULT_ENCODING)
    header = _header(data, name)
    return _parse(data, header, name)


def check_encoding(encoding: str) -> str:
    """The encoding's canonical name if --encoding accepts it; an InputError otherwise."""
    wanted = encoding.strip().lower()
    if wanted == AUTO:
        return AUTO
    try:
        canonical = codecs.lookup(wanted).name
    except LookupError:
        canonical = ""
    for known in ENCODINGS:
        if codecs.lookup(known).name == canonical:
            return known
    raise InputError(f"unknown encoding {encoding!r} (use {AUTO}, {', '.join(ENCODINGS)})", field="encoding")


def utf8_text(data: bytes, name: str, encoding: str) -> bytes:
    """The file's bytes as UTF-8 without a byte-order mark, checked: text in `encoding`, no NUL byte."""
    wanted = check_encoding(encoding)
    for bom, codec in _BOMS:
        if data.startswith(bom):  # the file says what it is: a mark beats --encoding
            data = _recode(data, codec, name) if codec != "utf-8-sig" else data[len(bom) :]
            wanted = "utf-8"
            break
    if wanted != "utf-16":  # in the others a 0 byte is only ever NUL: say so before "not UTF-8"
        _no_nul(data, name)
    if wanted in (AUTO, "utf-8"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if wanted == "utf-8":
                raise InputError(
                    "not UTF-8 text (name the encoding with --encoding, e.g. gbk, or use --encoding auto)",
                    file=name,
                    line=line_of(data, exc.start),
                ) from None
            data = _recode(data, "gb18030", name, detected=True)
    else:
        data = _recode(data, wanted, name)
    _no_nul(data, name)
    return data


def _no_nul(data: bytes, name: str) -> None:
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(
            "holds a NUL byte: not a text file (a UTF-16 file needs its byte-order mark)",
            file=name,
            line=line_of(data, nul),
        )


def _recode(data: bytes, codec: str, name: str, *, detected: bool = False) -> bytes:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        what = "neither UTF-8 nor GB18030 (GBK) text" if detected else f"not {codec} text"
        raise InputError(what, file=name, line=line_of(data, exc.start)) from None
    return text.encode("utf-8")


def line_of(data: bytes, offset: int) -> int:
    """The line (1-based; LF, CRLF and CR each end one) of the byte at `offset`."""
    return len(_LINE_END.findall(data, 0, offset)) + 1


def _header(data: bytes, name: str) -> list[str]:
    """The CSV's column names (trimmed): present, each once."""
    first = _LINE_END.split(data, maxsplit=1)[0]
    try:
        header = next(csv.reader(io.StringIO(first.decode("utf-8"), newline="")), None)
    except csv.Error:
        raise InputError("the header row is not well-formed CSV", file=name, line=1) from None
    if not header or not any(h.strip() for h in header):
        raise InputError("empty file: no header row", file=name, line=1)
    header = [h.strip() for h in header]
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise InputError(f"column {h!r} appears twice in the header", file=name, line=1, field=h)
        seen.add(h)
    return header


def _parse(data: bytes, header: list[str], name: str, *, find_line: bool = False) -> pa.Table:
    """The rows as text columns. A row with another number of fields than the header: an InputError naming
    its line and both counts (pyarrow's own message quotes the row, so it is never shown)."""
    misfits: list[tuple[int | None, int, int]] = []

    def misfit(row: pacsv.InvalidRow) -> str:
        misfits.append((row.number, row.actual_columns, row.expected_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, use_threads=not find_line),
            parse_options=pacsv.ParseOptions(invalid_row_handler=misfit if find_line else None),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if not find_line and "columns, got" in str(exc):
            return _parse(data, header, name, find_line=True)  # again, one thread, to learn the line
        reason = "a row is too long to read" if "straddl" in str(exc) else "not well-formed CSV"
        raise InputError(f"cannot read CSV: {reason}", file=name) from None
    if misfits:
        line, got, expected = misfits[0]
        more = f" ({len(misfits) - 1} more such row(s))" if len(misfits) > 1 else ""
        raise InputError(
            f"{got} field(s), the header has {expected} (a comma inside a value needs quotes){more}",
            file=name,
            line=line,
        )
    return table
