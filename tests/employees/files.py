"""Small staff-list files made in the tests: CSV in several encodings and a real .xlsx."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

Rows = Sequence[Sequence[Any]]

HEADER_SV = ["E-post", "Förnamn", "Efternamn", "Förvaltning", "Anst.nr"]
HEADER_EN = ["Email", "First name", "Last name", "Department", "Employee ID"]


def make_csv(
    rows: Rows, *, delimiter: str = ";", encoding: str = "utf-8", line_end: str = "\r\n"
) -> bytes:
    """Like Excel writes it: every line ends with CRLF, cells quoted only when needed."""
    lines = []
    for row in rows:
        cells = []
        for value in row:
            text = "" if value is None else str(value)
            if any(c in text for c in (delimiter, '"', "\n")):
                text = '"' + text.replace('"', '""') + '"'
            cells.append(text)
        lines.append(delimiter.join(cells))
    return (line_end.join(lines) + line_end).encode(encoding)


def make_xlsx(rows: Rows, *, title: str = "Personal", extra_sheet_first: bool = False) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=number, column=column, value=value)
    if extra_sheet_first:
        # The active sheet is not the first one: the importer must read the first.
        workbook.active = workbook.create_sheet("Annat")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def staff(
    count: int, *, domain: str = "kommun.se", department: str = "Socialförvaltningen"
) -> list[list[Any]]:
    """A header and `count` valid people with numbers 1000, 1001, ..."""
    rows: list[list[Any]] = [list(HEADER_SV)]
    for i in range(count):
        rows.append([f"person{i}@{domain}", f"Förnamn{i}", f"Efternamn{i}", department, 1000 + i])
    return rows
