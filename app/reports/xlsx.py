"""XLSX reports written as they stream: SpreadsheetML by hand into a zip that is never seeked.

openpyxl (even write-only) spent 20 s on 100,000 rows building a cell object per value; here a
row is one formatted string, and the zip goes out in chunks as it is written (entries carry
data descriptors), so nothing waits on a temporary file. openpyxl and Excel read the result.

The first sheet is the table (styled, frozen header row, column widths, a filter, numbers and
dates as real numbers and dates, text always as text so nothing runs as a formula); the second,
"Sammanfattning", the campaign's numbers.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter

from app.reports.summary import SummaryLine
from app.reports.tables import Cell, Table

CHUNK_SIZE = 64 * 1024
SUMMARY_TITLE = "Sammanfattning"
EXCEL_EPOCH = date(1899, 12, 30)
# Style ids in STYLES below.
HEADER, DATE, SHARE = 1, 2, 3
# Markup escaped, and the control characters XML 1.0 does not allow dropped, in one pass.
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
    | {chr(c): None for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20))}
)
_NS = (
    'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"

STYLES = (
    f'{_XML}<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="0.0%"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FF1F4E78"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"'
    ' applyAlignment="1"><alignment vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _text(value: str) -> str:
    return value.translate(_ESCAPES)


def _string_cell(ref: str, value: str, style: int = 0) -> str:
    # An inline string is never a formula, whatever it starts with.
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}" t="inlineStr"{s}><is><t xml:space="preserve">{_text(value)}</t></is></c>'


def _cell(ref: str, value: Cell, text: bool, style: int = 0) -> str:
    if value is None or value == "":
        return ""  # an empty cell, as Excel writes one
    if text or isinstance(value, str):
        return _string_cell(ref, str(value), style)
    if isinstance(value, date):
        return f'<c r="{ref}" s="{DATE}"><v>{(value - EXCEL_EPOCH).days}</v></c>'
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s}><v>{value}</v></c>'


class _Sink(io.RawIOBase):
    """Where the zip writes: collects bytes for the generator to hand on; cannot seek."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class _Sheet:
    def __init__(self, title: str, widths: Sequence[int]) -> None:
        self.title = title
        self.widths = widths
        self.letters = [get_column_letter(i) for i in range(1, len(widths) + 1)]
        self.rows = 0

    def head(self) -> str:
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
            for i, w in enumerate(self.widths, start=1)
        )
        pane = (
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        )
        return (
            f'{_XML}<worksheet {_NS}><sheetViews><sheetView workbookViewId="0">{pane}'
            f"</sheetView></sheetViews><cols>{cols}</cols><sheetData>"
        )

    def header(self, titles: Sequence[str]) -> str:
        return self.row(titles, [True] * len(titles), HEADER)

    def row(self, values: Sequence[Cell], text: Sequence[bool], style: int = 0) -> str:
        self.rows += 1
        n = self.rows
        cells = "".join(
            _cell(f"{letter}{n}", v, t, style)
            for letter, v, t in zip(self.letters, values, text, strict=True)
        )
        return f'<row r="{n}">{cells}</row>'

    @property
    def area(self) -> str:
        return f"A1:{self.letters[-1]}{self.rows}"

    def tail(self, with_filter: bool) -> str:
        return "</sheetData>" + (f'<autoFilter ref="{self.area}"/>' if with_filter else "")


def _summary_row(sheet: _Sheet, line: SummaryLine) -> str:
    label, value, kind = line
    if kind == "share" and isinstance(value, float):
        sheet.rows += 1
        n = sheet.rows
        return f'<row r="{n}">{_string_cell(f"A{n}", label)}<c r="B{n}" s="{SHARE}"><v>{value}</v></c></row>'
    return sheet.row((label, value), (True, kind == "text"))


def _table_parts(table: Table, rows: Iterable[Any], tz: ZoneInfo, sheet: _Sheet) -> Iterator[str]:
    yield sheet.head()
    yield sheet.header(table.headers)
    text = [c.text for c in table.columns]
    for row in rows:
        yield sheet.row(table.cells(row, tz), text)
    yield sheet.tail(with_filter=True) + "</worksheet>"


def _summary_parts(lines: Callable[[], Sequence[SummaryLine]], sheet: _Sheet) -> Iterator[str]:
    yield sheet.head()
    yield sheet.header(("Mått", "Värde"))
    for line in lines():
        yield _summary_row(sheet, line)
    yield sheet.tail(with_filter=False) + "</worksheet>"


def _package(sheets: Sequence[_Sheet]) -> dict[str, str]:
    """Everything but the sheets, written last, when the filter ranges are known."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_MAIN}.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    content_types = (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_MAIN}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_MAIN}.styles+xml"/>{overrides}</Types>'
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    styles_rel = (
        f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
    )
    entries = "".join(
        f'<sheet name="{_text(s.title)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, start=1)
    )
    filters = (
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"'{_text(sheets[0].title)}'!{_absolute(sheets[0].area)}</definedName>"
    )
    return {
        "[Content_Types].xml": content_types,
        "_rels/.rels": (
            f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f"{_XML}<workbook {_NS}><sheets>{entries}</sheets>"
            f"<definedNames>{filters}</definedNames></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML}<Relationships xmlns="{_PKG_REL}">{sheet_rels}{styles_rel}</Relationships>'
        ),
        "xl/styles.xml": STYLES,
    }


def _absolute(area: str) -> str:
    start, end = area.split(":")
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", ref) for ref in (start, end))


def xlsx_chunks(
    table: Table,
    rows: Iterable[Any],
    tz: ZoneInfo,
    summary: Callable[[], Sequence[SummaryLine]] | None = None,
    widths: Sequence[int] | None = None,
) -> Iterator[bytes]:
    """An Excel workbook, streamed: bytes go out as the rows come in.

    `summary` is called once the rows are written (it may be summed from them). `widths`, when
    given, are the columns' widths (wide enough for the longest address or department): they
    are written before the rows, so they are measured before.
    """
    sink = _Sink()
    sheets = [_Sheet(table.sheet, list(widths) if widths else table.widths())]
    parts = [_table_parts(table, rows, tz, sheets[0])]
    if summary is not None:
        sheets.append(_Sheet(SUMMARY_TITLE, (38, 24)))
        parts.append(_summary_parts(summary, sheets[1]))
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for number, sheet_parts in enumerate(parts, start=1):
            with zf.open(f"xl/worksheets/sheet{number}.xml", "w") as entry:
                pending: list[str] = []
                size = 0
                for part in sheet_parts:
                    pending.append(part)
                    size += len(part)
                    if size >= CHUNK_SIZE:
                        entry.write("".join(pending).encode())
                        pending, size = [], 0
                        if len(sink.buffer) >= CHUNK_SIZE:
                            yield sink.take()
                entry.write("".join(pending).encode())
        for name, xml in _package(sheets).items():
            zf.writestr(name, xml)
    yield sink.take()
