"""app.core.uploads and app.core.xlsx: the bounded reading shared by every file upload."""

from __future__ import annotations

import io
import zipfile

import pytest

from app.core.uploads import Capped, UploadError, UploadLimits, ZipArchive, csv_rows, limited_rows
from app.core.xlsx import MAX_CELL_CHARS, xlsx_rows
from tests.employees.hostile import xlsx_with_sheet

DAMAGED = "skadad"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet_rows(sheet: str | bytes) -> list[tuple[int, list[str]]]:
    data = sheet.encode() if isinstance(sheet, str) else sheet
    return list(xlsx_rows(xlsx_with_sheet(data), UploadLimits(), damaged=DAMAGED))


def refused(sheet: str | bytes) -> str:
    with pytest.raises(UploadError) as caught:
        sheet_rows(sheet)
    return str(caught.value)


def test_capped_keeps_the_first_and_counts_all() -> None:
    capped: Capped[int] = Capped(3)
    for i in range(10):
        capped.add(i)
    assert (capped.items, capped.total, capped.left_out) == ([0, 1, 2], 10, 7)


def test_limited_rows_skips_empty_rows_and_stops_after_the_limit() -> None:
    rows = [(1, ["h"]), (2, ["", ""]), (3, ["a"]), (4, ["b"]), (5, ["c"])]
    assert list(limited_rows(rows[:4], 2)) == [(1, ["h"]), (3, ["a"]), (4, ["b"])]
    with pytest.raises(UploadError, match="fler än 2 rader under rubrikraden \\(rad 5 "):
        list(limited_rows(rows, 2))


def test_zip_with_too_many_members_is_refused_before_opening() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(10_001):
            archive.writestr(f"{i}.md", b"")
    with pytest.raises(UploadError, match="fler än 10 000 filer"):
        ZipArchive(buffer.getvalue(), 200 * 1024 * 1024, DAMAGED)


def test_cells_as_text_with_excel_row_numbers() -> None:
    sheet = (
        '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<x:sheetData><x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c>'
        '<x:c r="C1" t="inlineStr"><x:is><x:r><x:t>Ab</x:t></x:r><x:r><x:t>c </x:t></x:r>'
        "<x:rPh><x:t>phonetic</x:t></x:rPh></x:is></x:c></x:row>"
        '<x:row r="4"><x:c r="A4"><x:v>1234.0</x:v></x:c><x:c r="B4"><x:v>12345678901234567890</x:v>'
        '</x:c><x:c r="C4" t="b"><x:v>1</x:v></x:c><x:c r="D4"><x:v>1.5</x:v></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    )
    assert sheet_rows(sheet) == [
        (1, ["E-post", "", "Abc"]),
        (4, ["1234", "12345678901234567890", "True", "1.5"]),
    ]


@pytest.mark.parametrize(
    ("sheet", "expected"),
    [
        # An entity bomb needs a DTD; none is allowed.
        (
            '<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            f'<worksheet {NS}><sheetData><row><c t="inlineStr"><is><t>&b;</t></is></c></row>'
            "</sheetData></worksheet>",
            DAMAGED,
        ),
        ("<a>" * 1000 + "</a>" * 1000, DAMAGED),
        (f'<worksheet {NS} x="' + "y" * 2_000_000 + '"/>', DAMAGED),
        (f"<worksheet {NS}><!--" + "y" * 2_000_000 + "--></worksheet>", DAMAGED),
        (f'<worksheet {NS}><sheetData><row><c t="s"><v>99</v></c></row></sheetData>', DAMAGED),
        (f"<worksheet {NS}><sheetData><row>", DAMAGED),
        (
            f'<worksheet {NS}><sheetData><row r="7"><c t="inlineStr"><is><t>'
            + "y" * (MAX_CELL_CHARS + 1)
            + "</t></is></c></row></sheetData></worksheet>",
            "En cell på rad 7 har mer text än Excel tillåter (32 767 tecken)",
        ),
        (
            f'<worksheet {NS}><sheetData><row r="2"><c r="ALM2"><v>1</v></c></row></sheetData>'
            "</worksheet>",
            "Rad 2 har innehåll längre till höger än kolumn 1 000",
        ),
    ],
)
def test_hostile_sheets_are_refused_with_a_reason(sheet: str, expected: str) -> None:
    assert expected in refused(sheet)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("E-post;Namn\r\nanna@kommun.se;Anna\r\n".encode("utf-16"), "UTF-16"),
        (b"E-post;Namn\r\na;b\r\n\x81;x\r\n", "tecken på rad 3 som varken är UTF-8"),
        (b"E-post;Namn\r\na;\x00\r\n", "styrtecken (kod 0) på rad 2"),
        (b"E-post;Namn\r\n" + b"x" * 100_001, "Rad 2 är längre än 100 000 tecken"),
        (b'E-post;Namn\r\na;"b\r\n' + b"x" * 99_000 + b"\r\n" + b"y" * 99_000, "citattecken"),
    ],
)
def test_unreadable_csv_names_the_problem(data: bytes, expected: str) -> None:
    with pytest.raises(UploadError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        list(csv_rows(data))


def test_csv_streams_records_in_cp1252_and_utf8() -> None:
    text = 'E-post;Förnamn\r\nörjan@kommun.se;"Örjan\r\nÅ"\r\n'
    for encoding in ("utf-8-sig", "cp1252"):
        assert list(csv_rows(text.encode(encoding))) == [
            (1, ["E-post", "Förnamn"]),
            (2, ["örjan@kommun.se", "Örjan\r\nÅ"]),
        ]
