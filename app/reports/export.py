"""Writers for the completion reports: each yields bytes chunks and holds no list of rows.

CSV is made for Excel (UTF-8 with BOM, CRLF, Swedish headers) with the separator the reader's
Excel expects: a semicolon where the decimal mark is a comma (Swedish, Danish, German …), else a
comma (see `choose_separator`). No `sep=` line: Excel set to Swedish shows it as a stray row in
other programs. XLSX (app.reports.xlsx) is the first choice; JSON is an object streamed row by
row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from app.core.i18n import preferred_languages
from app.reports.schemas import ReportCampaign, ReportSummary
from app.reports.tables import EMPLOYEE, Cell, ReportBy, Table
from app.reports.xlsx import CHUNK_SIZE, xlsx_chunks

BOM = "\ufeff"
# Excel runs a cell starting with one of these as a formula (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


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


class CsvSeparator(StrEnum):
    comma = "comma"
    semicolon = "semicolon"

    @property
    def char(self) -> str:
        return ";" if self is CsvSeparator.semicolon else ","


# Languages whose Excel has a decimal comma, and therefore a semicolon as list separator.
SEMICOLON_LANGUAGES = frozenset(
    [
        "sv",
        "da",
        "nb",
        "nn",
        "no",
        "fi",
        "de",
        "nl",
        "fr",
        "es",
        "it",
        "pt",
        "pl",
        "cs",
        "sk",
        "sl",
        "hr",
        "sr",
        "hu",
        "ro",
        "bg",
        "ru",
        "uk",
        "et",
        "lv",
        "lt",
        "is",
        "tr",
        "el",
    ]
)


def choose_separator(setting: str, accept_language: str | None = None) -> CsvSeparator:
    """The CSV separator: `setting` when it is comma or semicolon; with "auto", the one that
    suits the reader's first language (Accept-Language, or the locale for the command line);
    with no language known, the installation's own, Swedish: a semicolon."""
    if setting in (CsvSeparator.comma, CsvSeparator.semicolon):
        return CsvSeparator(setting)
    languages = preferred_languages(accept_language)
    if not languages or languages[0] in SEMICOLON_LANGUAGES:
        return CsvSeparator.semicolon
    return CsvSeparator.comma


def guard_formula(text: str) -> str:
    """Prefix an apostrophe so a spreadsheet shows the text instead of running it."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _csv_cell(value: Cell, text: bool) -> str:
    if value is None:
        return ""
    if text:
        return guard_formula(str(value))
    return value.isoformat() if isinstance(value, date) else str(value)


def csv_chunks(
    table: Table,
    rows: Iterable[Any],
    tz: ZoneInfo,
    separator: CsvSeparator = CsvSeparator.comma,
) -> Iterator[bytes]:
    """CSV that Excel opens correctly: BOM so it reads UTF-8, CRLF, the chosen separator."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=separator.char, lineterminator="\r\n")
    writer.writerow(table.headers)
    text = [column.text for column in table.columns]
    for row in rows:
        writer.writerow([_csv_cell(v, t) for v, t in zip(table.cells(row, tz), text, strict=True)])
        if buffer.tell() >= CHUNK_SIZE:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def json_chunks(
    by: ReportBy,
    table: Table,
    campaign: ReportCampaign,
    rows: Iterable[Any],
    summary: Callable[[], ReportSummary] | None = None,
) -> Iterator[bytes]:
    """`{"campaign": {...}, "by": ..., "rows": [...], "summary": {...}}`, a row at a time."""
    head = f'{{"campaign":{campaign.model_dump_json()},"by":"{by.value}","rows":['
    buffer = bytearray(head.encode())
    separator = b""
    for row in rows:
        buffer += separator + table.model.model_validate(row).model_dump_json().encode()
        separator = b","
        if len(buffer) >= CHUNK_SIZE:
            yield bytes(buffer)
            buffer.clear()
    # Last: it may be summed from the rows that just went out.
    tail = summary().model_dump_json().encode() if summary else b"null"
    buffer += b'],"summary":' + tail + b"}"
    yield bytes(buffer)


def table_filename(table: Table, campaign_id: int, day: date, fmt: ExportFormat) -> str:
    return f"{table.file_stem}-{campaign_id}-{day.isoformat()}.{fmt.value}"


# The per-employee report as before issue 7, for callers not yet on app.reports.download
# (which also records the export in the audit log and knows departments and lessons).
def report_filename(campaign_id: int, day: date, fmt: ExportFormat) -> str:
    return table_filename(EMPLOYEE, campaign_id, day, fmt)


def export_chunks(
    fmt: ExportFormat, campaign: ReportCampaign, rows: Iterable[Any], tz: ZoneInfo
) -> Iterator[bytes]:
    if fmt is ExportFormat.csv:
        return csv_chunks(EMPLOYEE, rows, tz)
    if fmt is ExportFormat.xlsx:
        return xlsx_chunks(EMPLOYEE, rows, tz)
    return json_chunks(ReportBy.employee, EMPLOYEE, campaign, rows)


__all__ = [
    "BOM",
    "CHUNK_SIZE",
    "CsvSeparator",
    "ExportFormat",
    "choose_separator",
    "csv_chunks",
    "export_chunks",
    "guard_formula",
    "json_chunks",
    "report_filename",
    "table_filename",
    "xlsx_chunks",
]
