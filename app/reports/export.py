"""Writers for the completion report: each yields bytes chunks and holds no list of rows.

CSV is made for Excel (UTF-8 with BOM, comma, CRLF, Swedish headers); XLSX uses openpyxl's
write-only mode through a temporary file; JSON is an object streamed row by row.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.reports.schemas import CompletionRowOut, ReportCampaign
from app.reports.service import CompletionRow

CHUNK_SIZE = 64 * 1024
BOM = "\ufeff"
# Excel runs a cell starting with one of these as a formula (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SHEET_TITLE = "Genomförande"
DATE_FORMAT = "yyyy-mm-dd"

# (Swedish header, XLSX column width in characters)
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Namn", 28),
    ("E-post", 34),
    ("Förvaltning", 26),
    ("Anställningsnummer", 20),
    ("Lektioner skickade", 18),
    ("Lektioner lästa", 16),
    ("Frågor besvarade", 17),
    ("Rätt första försöket", 20),
    ("Avanmäld", 10),
    ("Avanmäld datum", 15),
    ("Genomfört (%)", 14),
)
HEADERS = tuple(header for header, _ in COLUMNS)
TEXT_COLUMNS = 4  # name, e-mail, department, employee number come first


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"

    @property
    def media_type(self) -> str:
        return {
            ExportFormat.csv: "text/csv; charset=utf-8",
            ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ExportFormat.json: "application/json",
        }[self]


def guard_formula(text: str) -> str:
    """Prefix an apostrophe so a spreadsheet shows the text instead of running it."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _values(row: CompletionRow, tz: ZoneInfo) -> tuple[str | int | date | None, ...]:
    opted_out_on = row.opted_out_at.astimezone(tz).date() if row.opted_out_at else None
    return (
        row.name,
        row.email or "",
        row.department,
        row.employee_number or "",
        row.lessons_sent,
        row.lessons_viewed,
        row.questions_answered,
        row.correct_first_attempt,
        "Ja" if row.opted_out else "Nej",
        opted_out_on,
        row.completion_pct,
    )


def csv_chunks(rows: Iterable[CompletionRow], tz: ZoneInfo) -> Iterator[bytes]:
    """CSV that Excel opens correctly: BOM so it reads UTF-8, comma, CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(HEADERS)
    for row in rows:
        values = _values(row, tz)
        text = [guard_formula(str(v)) for v in values[:TEXT_COLUMNS]]
        rest = ["" if v is None else str(v) for v in values[TEXT_COLUMNS:]]
        writer.writerow(text + rest)
        if buffer.tell() >= CHUNK_SIZE:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _text_cell(sheet: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    # Forcing the string type keeps "=..." from becoming a formula, without altering the text.
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", text))
    cell.data_type = "s"
    return cell


def _date_cell(sheet: WriteOnlyWorksheet, value: date) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = DATE_FORMAT
    return cell


def _write_sheet(sheet: WriteOnlyWorksheet, rows: Iterable[CompletionRow], tz: ZoneInfo) -> None:
    # Write-only sheets take layout only before the first row.
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in HEADERS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        values = _values(row, tz)
        cells: list[object] = [_text_cell(sheet, str(v)) for v in values[:TEXT_COLUMNS]]
        for value in values[TEXT_COLUMNS:]:
            cells.append(_date_cell(sheet, value) if isinstance(value, date) else value)
        sheet.append(cells)


def xlsx_chunks(rows: Iterable[CompletionRow], tz: ZoneInfo) -> Iterator[bytes]:
    """An Excel workbook, built on disk (a zip cannot be streamed as it is written)."""
    fd, name = tempfile.mkstemp(prefix="nanolearn-report-", suffix=".xlsx")
    os.close(fd)
    try:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(SHEET_TITLE)
        _write_sheet(sheet, rows, tz)
        workbook.save(name)
        with open(name, "rb") as file:
            while chunk := file.read(CHUNK_SIZE):
                yield chunk
    finally:
        os.unlink(name)


def json_chunks(campaign: ReportCampaign, rows: Iterable[CompletionRow]) -> Iterator[bytes]:
    """`{"campaign": {...}, "rows": [...]}`, written one row at a time."""
    buffer = bytearray(b'{"campaign":' + campaign.model_dump_json().encode() + b',"rows":[')
    separator = b""
    for row in rows:
        buffer += separator + CompletionRowOut.model_validate(row).model_dump_json().encode()
        separator = b","
        if len(buffer) >= CHUNK_SIZE:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"]}"
    yield bytes(buffer)


def export_chunks(
    fmt: ExportFormat, campaign: ReportCampaign, rows: Iterable[CompletionRow], tz: ZoneInfo
) -> Iterator[bytes]:
    if fmt is ExportFormat.csv:
        return csv_chunks(rows, tz)
    if fmt is ExportFormat.xlsx:
        return xlsx_chunks(rows, tz)
    return json_chunks(campaign, rows)


def report_filename(campaign_id: int, day: date, fmt: ExportFormat) -> str:
    return f"genomforande-{campaign_id}-{day.isoformat()}.{fmt.value}"
