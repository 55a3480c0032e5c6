"""Streamed, bounded reading of XLSX workbooks (and any XML in a ZIP) for uploads.

The first sheet is read with expat as a stream: no element tree is kept, no DTD is allowed, at
most MAX_XML_DEPTH nested elements and MAX_XML_TOKEN bytes between two '>' (one tag, cell text
or comment), MAX_CELL_CHARS per cell (Excel's own limit), MAX_COLUMNS columns and
MAX_SHARED_TEXT bytes of shared strings, on top of the ZIP limits of app.core.uploads.

openpyxl's read-only mode is not used: on a sheet without a <dimension> element it parses the
whole sheet when the workbook opens and keeps an element per row (a 1.5 MB file with 5 million
rows took over two minutes and 430 MB before the first row came out).
"""

from __future__ import annotations

import posixpath
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

from app.core.uploads import MB, UploadError, UploadLimits, ZipArchive, number

MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
MAX_COLUMNS = 1_000
MAX_XML_DEPTH = 64
MAX_XML_TOKEN = 1 * MB  # a cell of MAX_CELL_CHARS escaped (&amp; etc.) fits
MAX_SHARED_TEXT = 64 * MB


# --- XML (expat, streamed, nothing kept) --------------------------------------------------


Start = Callable[[str, dict[str, str]], None]
End = Callable[[str], None]
Text = Callable[[str], None]


def parse_xml(
    chunks: Iterable[bytes],
    start: Start,
    end: End | None = None,
    text: Text | None = None,
    *,
    damaged: str,
) -> Iterator[None]:
    """Feed `chunks` to expat with bounds; yields after each chunk so callers can emit rows.

    Element names reach the handlers without their namespace ("row", "c", "v").
    """
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    depth = 0

    def on_start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_XML_DEPTH:
            raise UploadError(damaged)
        start(name.rpartition(" ")[2], attrs)

    def on_end(name: str) -> None:
        nonlocal depth
        depth -= 1
        if end is not None:
            end(name.rpartition(" ")[2])

    def refuse_dtd(*_: object) -> None:
        raise UploadError(damaged)  # no Office file has one; entity tricks need one

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    if text is not None:
        parser.CharacterDataHandler = text
    since_tag_end = 0  # bytes since the last '>': bounds what expat must buffer as one token
    try:
        for chunk in chunks:
            first, last = chunk.find(b">"), chunk.rfind(b">")
            longest = since_tag_end + (len(chunk) if first < 0 else first)
            since_tag_end = longest if first < 0 else len(chunk) - last - 1
            if longest > MAX_XML_TOKEN:
                raise UploadError(damaged)
            parser.Parse(chunk, False)
            yield
        parser.Parse(b"", True)
    except expat.ExpatError:
        raise UploadError(damaged) from None
    yield


# --- XLSX ---------------------------------------------------------------------------------

_CELL_REF = re.compile(r"([A-Z]{1,3})")
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def xlsx_rows(
    data: bytes, limits: UploadLimits, *, damaged: str, sheet: int = 0
) -> Iterator[tuple[int, list[str]]]:
    """The rows of one sheet (the first by default) as text, with Excel's row numbers.

    Numbers that are whole come as "1234", not "1234.0"; dates come as Excel's day numbers
    (the style that makes them dates is not read); formulas as their last computed value.
    """
    archive = ZipArchive(data, limits.max_unpacked_bytes, damaged)
    package = _relations(archive, "")
    workbook = next(
        (path for kind, path in package.values() if kind == "officeDocument"), "xl/workbook.xml"
    )
    sheets: list[str] = []

    def on_sheet(name: str, attrs: dict[str, str]) -> None:
        if name == "sheet":
            sheets.append(attrs.get(f"{_REL_NS} id", ""))

    _drain(parse_xml(archive.chunks(workbook), on_sheet, damaged=damaged))
    rels = _relations(archive, workbook)
    if len(sheets) <= sheet or sheets[sheet] not in rels:
        raise UploadError(damaged)
    strings = _shared_strings(archive, rels, damaged)
    yield from _sheet_rows(archive, rels[sheets[sheet]][1], strings, damaged)


def _drain(steps: Iterator[None]) -> None:
    for _ in steps:
        pass


def _relations(archive: ZipArchive, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type's last word, member path) of one part ("" for the package)."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    found: dict[str, tuple[str, str]] = {}

    def on_rel(tag: str, attrs: dict[str, str]) -> None:
        if tag == "Relationship" and "Target" in attrs:
            target = attrs["Target"]
            path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            kind = attrs.get("Type", "").rpartition("/")[2]
            found[attrs.get("Id", "")] = (kind, posixpath.normpath(path))

    if archive.has(rels_name):
        _drain(parse_xml(archive.chunks(rels_name), on_rel, damaged=archive.damaged))
    return found


class _Strings:
    """The shared strings, packed as UTF-8 in one buffer: no object per string."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.ends = array("Q")

    def append(self, text: str) -> None:
        self.buffer += text.encode()
        self.ends.append(len(self.buffer))

    def __getitem__(self, index: int) -> str:
        start = self.ends[index - 1] if index > 0 else 0
        return self.buffer[start : self.ends[index]].decode()

    def __len__(self) -> int:
        return len(self.ends)


def _shared_strings(
    archive: ZipArchive, rels: dict[str, tuple[str, str]], damaged: str
) -> _Strings:
    strings = _Strings()
    path = next((p for kind, p in rels.values() if kind == "sharedStrings"), None)
    if path is None or not archive.has(path):
        return strings
    parts: list[str] = []
    state = {"in_t": False, "phonetic": 0, "size": 0}

    def on_start(name: str, attrs: dict[str, str]) -> None:
        if name == "si":
            parts.clear()
            state["size"] = 0
        elif name == "rPh":  # phonetic guide (Japanese): not part of the text
            state["phonetic"] += 1
        elif name == "t" and not state["phonetic"]:
            state["in_t"] = True

    def on_end(name: str) -> None:
        if name == "si":
            strings.append("".join(parts))
            if len(strings.buffer) > MAX_SHARED_TEXT:
                raise UploadError(
                    f"Arbetsboken innehåller mer än {MAX_SHARED_TEXT // MB} MB text och läses "
                    "inte. Spara bara det blad som behövs, utan andra blad, och försök igen."
                )
        elif name == "rPh":
            state["phonetic"] -= 1
        elif name == "t":
            state["in_t"] = False

    def on_text(text: str) -> None:
        if state["in_t"]:
            state["size"] += len(text)
            if state["size"] > MAX_CELL_CHARS:
                raise UploadError(_long_cell(None))
            parts.append(text)

    _drain(parse_xml(archive.chunks(path), on_start, on_end, on_text, damaged=damaged))
    return strings


def _long_cell(row: int | None) -> str:
    where = f"En cell på rad {number(row)}" if row is not None else "En cell"
    return (
        f"{where} har mer text än Excel tillåter ({number(MAX_CELL_CHARS)} tecken). "
        "Korta texten och försök igen."
    )


@dataclass
class _SheetState:
    row: int = 0
    column: int = 0
    kind: str = "n"
    capture: bool = False
    in_inline: bool = False
    phonetic: int = 0
    parts: list[str] = field(default_factory=list)
    size: int = 0
    cells: dict[int, str] = field(default_factory=dict)
    done: list[tuple[int, list[str]]] = field(default_factory=list)


def _sheet_rows(
    archive: ZipArchive, path: str, strings: _Strings, damaged: str
) -> Iterator[tuple[int, list[str]]]:
    s = _SheetState()

    def on_start(name: str, attrs: dict[str, str]) -> None:
        if name == "row":
            s.row = _int(attrs.get("r"), s.row + 1, damaged)
            s.column = 0
            s.cells = {}
        elif name == "c":
            ref = _CELL_REF.match(attrs.get("r", ""))
            s.column = _column(ref.group(1)) if ref else s.column + 1
            if s.column > MAX_COLUMNS:
                raise UploadError(
                    f"Rad {number(s.row)} har innehåll längre till höger än kolumn "
                    f"{number(MAX_COLUMNS)}. Ta bort det och försök igen."
                )
            s.kind = attrs.get("t", "n")
            s.parts.clear()
            s.size = 0
        elif name == "is":
            s.in_inline = True
        elif name == "rPh":
            s.phonetic += 1
        elif (name == "v" and not s.in_inline) or (name == "t" and s.in_inline):
            s.capture = not s.phonetic

    def on_end(name: str) -> None:
        if name in ("v", "t"):
            s.capture = False
        elif name == "is":
            s.in_inline = False
        elif name == "rPh":
            s.phonetic -= 1
        elif name == "c":
            value = _cell_value(s.kind, "".join(s.parts), strings)
            if value is None:
                raise UploadError(damaged)
            if value:
                s.cells[s.column] = value
        elif name == "row":
            width = max(s.cells, default=0)
            s.done.append((s.row, [s.cells.get(i, "") for i in range(1, width + 1)]))

    def on_text(text: str) -> None:
        if s.capture:
            s.size += len(text)
            if s.size > MAX_CELL_CHARS:
                raise UploadError(_long_cell(s.row))
            s.parts.append(text)

    for _ in parse_xml(archive.chunks(path), on_start, on_end, on_text, damaged=damaged):
        yield from s.done
        s.done.clear()


def _int(value: str | None, default: int, damaged: str) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise UploadError(damaged) from None


def _column(letters: str) -> int:
    result = 0
    for letter in letters:
        result = result * 26 + ord(letter) - ord("A") + 1
    return result


def _cell_value(kind: str, raw: str, strings: _Strings) -> str | None:
    """The cell as text; None when the file is damaged (e.g. a shared string that is missing)."""
    if not raw.strip():
        return ""
    if kind == "s":
        try:
            index = int(raw)
        except ValueError:
            return None
        return strings[index].strip() if 0 <= index < len(strings) else None
    if kind == "b":
        return {"1": "True", "0": "False"}.get(raw.strip(), "")
    if kind == "n":
        try:
            return str(int(raw))
        except ValueError:
            pass
        try:
            value = float(raw)
        except ValueError:
            return None
        # Employee numbers typed as numbers: 1234.0 -> "1234".
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else raw.strip()
    return raw.strip()  # inlineStr, str (formula text), e (error like #N/A), d (ISO date)
