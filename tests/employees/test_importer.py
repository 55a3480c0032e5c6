"""Reading staff lists: encodings, delimiters, Excel, header names and row validation."""

from __future__ import annotations

import pytest

from app.employees.importer import (
    ParsedFile,
    RowError,
    UnsupportedFileError,
    fold_header,
    parse_file,
    split_full_name,
)
from tests.employees.files import HEADER_EN, HEADER_SV, make_csv, make_xlsx

ANNA = ["Anna.Berg@Kommun.se", "Anna", "Berg", "Socialförvaltningen", "0012"]
ÖRJAN = ["orjan.ahlen@kommun.se", "Örjan", "Åhlén", "Äldreomsorgen", "77"]


def parse_ok(data: bytes, filename: str = "personal.csv") -> ParsedFile:
    parsed = parse_file(data, filename)
    assert parsed.errors == []
    return parsed


def only_error(parsed: ParsedFile) -> RowError:
    assert parsed.rows == []
    assert len(parsed.errors) == 1, parsed.errors
    return parsed.errors[0]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ";"),
        ("utf-8", ","),
        ("utf-8-sig", ";"),  # Excel's "CSV UTF-8" starts with a BOM
        ("utf-8-sig", "\t"),
        ("cp1252", ";"),  # Excel's plain "CSV" on Swedish Windows
        ("cp1252", ","),
    ],
)
def test_csv_encodings_and_delimiters_read_åäö(encoding: str, delimiter: str) -> None:
    data = make_csv([HEADER_SV, ANNA, ÖRJAN], encoding=encoding, delimiter=delimiter)
    if encoding == "cp1252":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # really not UTF-8, so the fallback is exercised
    parsed = parse_ok(data)
    anna, orjan = parsed.rows
    assert (anna.row, anna.email, anna.first_name, anna.last_name) == (
        2,
        "anna.berg@kommun.se",
        "Anna",
        "Berg",
    )
    assert (anna.department, anna.employee_number) == ("Socialförvaltningen", "0012")
    assert (orjan.row, orjan.first_name, orjan.last_name, orjan.department) == (
        3,
        "Örjan",
        "Åhlén",
        "Äldreomsorgen",
    )
    assert parsed.warnings == []


def test_english_headers_and_unix_line_ends() -> None:
    data = make_csv([HEADER_EN, ANNA], delimiter=",", line_end="\n")
    (anna,) = parse_ok(data).rows
    assert (anna.email, anna.department, anna.employee_number) == (
        "anna.berg@kommun.se",
        "Socialförvaltningen",
        "0012",
    )


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-postadress", "email"),
        ("epost", "email"),
        ("Mejl", "email"),
        ("E-mail", "email"),
        ("MAIL", "email"),
        (" e-post ", "email"),
        ("Förnamn", "first_name"),
        ("Fornamn", "first_name"),
        ("first_name", "first_name"),
        ("Anställningsnummer", "employee_number"),
        ("Anst. nr", "employee_number"),
        ("employee number", "employee_number"),
        ("Avdelning", "department"),
        ("Enhet", "department"),
        ("Fullständigt namn", "full_name"),
    ],
)
def test_header_names_fold_case_space_and_punctuation(header: str, field: str) -> None:
    from app.employees.importer import COLUMN_ALIASES

    assert fold_header(header) in COLUMN_ALIASES[field]


def test_full_name_column_is_split_at_first_space_or_comma() -> None:
    data = make_csv(
        [["Namn", "Mejl"], ["Anna Maria Berg", "a@kommun.se"], ["Berg, Per", "p@kommun.se"]]
    )
    anna, per = parse_ok(data).rows
    assert (anna.first_name, anna.last_name) == ("Anna", "Maria Berg")
    assert (per.first_name, per.last_name) == ("Per", "Berg")
    assert split_full_name("  Cher ") == ("Cher", "")


def test_unknown_columns_are_ignored_and_named_in_a_warning() -> None:
    data = make_csv(
        [["E-post", "Namn", "Chef", "Personnummer"], ["a@kommun.se", "Anna Berg", "X", "Y"]]
    )
    parsed = parse_ok(data)
    assert len(parsed.rows) == 1
    assert parsed.warnings == [
        "Dessa kolumner känns inte igen och används inte: Chef, Personnummer"
    ]


def test_quoted_cell_with_line_break_counts_as_one_excel_row() -> None:
    data = make_csv(
        [
            ["E-post", "Namn", "Förvaltning"],
            ["a@kommun.se", "Anna Berg", "Kultur;\nfritid"],
            ["bad", "Per Ek", ""],
        ]
    )
    parsed = parse_file(data, "personal.csv")
    assert parsed.rows[0].department == "Kultur;\nfritid"
    assert parsed.errors == [
        RowError(3, "e-post", "E-postadressen saknar @. Skriv den som namn@kommun.se.")
    ]


def test_xlsx_first_sheet_numbers_and_empty_rows() -> None:
    rows = [
        HEADER_SV,
        ["anna@kommun.se", "Anna", "Berg", "Skola", 12345],
        [None, None, None, None, None],  # an empty row keeps the numbering of the rows below
        ["per@kommun.se", "Per", "Ek", None, 77.0],
        ["bad-address", "Eva", "Lind", None, None],
    ]
    parsed = parse_file(make_xlsx(rows, extra_sheet_first=True), "Personal.XLSX")
    anna, per = parsed.rows
    assert (anna.row, anna.employee_number, anna.department) == (2, "12345", "Skola")
    assert (per.row, per.employee_number, per.department) == (4, "77", None)
    assert [(e.row, e.field) for e in parsed.errors] == [(5, "e-post")]


def test_rows_are_checked_and_all_errors_collected_with_excel_row_numbers() -> None:
    rows = [
        HEADER_SV,
        ["anna@kommun.se", "Anna", "Berg", "", "1"],
        ["", "Per", "Ek", "", "2"],
        ["eva@@kommun.se", "Eva", "", "", "3"],
        ["olle@kommun", "", "", "", "4"],
        ["ANNA@kommun.se", "Anna", "B", "", "5"],
        ["sara@kommun.se", "Sara", "Al", "", "1"],
        ["x y@kommun.se", "X", "Y", "", ""],
        ["long@kommun.se", "L" * 101, "Y", "", ""],
    ]
    parsed = parse_file(make_csv(rows), "personal.csv")
    assert [r.row for r in parsed.rows] == [2]
    assert [(e.row, e.field) for e in parsed.errors] == [
        (3, "e-post"),
        (4, "e-post"),
        (5, "e-post"),
        (5, "namn"),
        (6, "e-post"),
        (7, "anställningsnummer"),
        (8, "e-post"),
        (9, "förnamn"),
    ]
    messages = {(e.row, e.field): e.message for e in parsed.errors}
    assert messages[(3, "e-post")] == "E-postadress saknas. Fyll i personens e-postadress."
    assert "mer än ett @" in messages[(4, "e-post")]
    assert messages[(6, "e-post")].startswith("Samma e-postadress finns redan på rad 2")
    assert messages[(7, "anställningsnummer")].startswith(
        "Samma anställningsnummer finns redan på rad 2"
    )
    assert "mellanslag" in messages[(8, "e-post")]
    assert "högst 100 tecken" in messages[(9, "förnamn")]
    # Privacy: the address itself is never echoed back.
    assert not any("olle@" in e.message or "eva@" in e.message for e in parsed.errors)


def test_missing_email_column_names_found_columns() -> None:
    error = only_error(
        parse_file(make_csv([["Namn", "Avdelning"], ["Anna Berg", "Skola"]]), "p.csv")
    )
    assert (error.row, error.field) == (1, "rubriker")
    assert "kolumn för e-post" in error.message
    assert "'Namn', 'Avdelning'" in error.message


def test_missing_name_columns_is_a_file_error() -> None:
    error = only_error(
        parse_file(make_csv([["E-post", "Enhet"], ["a@kommun.se", "Skola"]]), "p.csv")
    )
    assert (error.row, error.field) == (1, "rubriker")
    assert "kolumn för namn" in error.message
    assert "e-post" not in error.message.split("Kolumner i filen")[0]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "Filen är tom"),
        (b"\r\n \r\n;;\r\n", "Filen är tom"),
        (make_csv([HEADER_SV]), "inga rader med anställda"),
        (make_csv([HEADER_SV, ANNA], encoding="utf-16"), "UTF-16"),
        (make_csv([HEADER_SV, ANNA], encoding="utf-16-le"), "UTF-16"),
        (bytes(range(256)) * 20, "ingen textfil"),
        (b"E-post;Namn\r\n\x81\x8d\x8f\x90;x\r\n", "ingen textfil"),  # bytes undefined in cp1252
        (b'E-post;Namn\r\na@kommun.se;"Anna' + b"x" * 200_000, "citattecken"),
    ],
)
def test_unreadable_csv_is_a_clear_file_error(data: bytes, expected: str) -> None:
    error = only_error(parse_file(data, "personal.csv"))
    assert (error.row, error.field) == (None, "fil")
    assert expected in error.message


def test_xlsx_header_only_and_empty_workbook() -> None:
    assert "inga rader" in only_error(parse_file(make_xlsx([HEADER_SV]), "p.xlsx")).message
    assert "Filen är tom" in only_error(parse_file(make_xlsx([]), "p.xlsx")).message


def test_broken_xlsx_is_a_file_error() -> None:
    data = make_xlsx([HEADER_SV, ANNA])[:2000]  # cut off: still starts like a zip
    error = only_error(parse_file(data, "p.xlsx"))
    assert (error.row, error.field) == (None, "fil")
    assert "kunde inte öppnas" in error.message


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"E-post;Namn\r\n", "personal.pdf", "Filtypen (.pdf) stöds inte"),
        (b"E-post;Namn\r\n", "personal", "utan filändelse"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "personal.xls", "(.xls) stöds inte"),
        (b"E-post;Namn\r\nanna@kommun.se;Anna\r\n", "personal.xlsx", "ingen Excel-arbetsbok"),
        (make_xlsx([HEADER_SV, ANNA]), "personal.csv", "ingen textfil"),
        (b"%PDF-1.7\n...", "personal.txt", "ingen textfil"),
    ],
)
def test_wrong_file_type_or_content_is_refused(data: bytes, filename: str, expected: str) -> None:
    with pytest.raises(
        UnsupportedFileError, match=expected.replace("(", r"\(").replace(")", r"\)")
    ):
        parse_file(data, filename)
