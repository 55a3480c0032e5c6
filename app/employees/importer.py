"""Read a staff list (CSV or XLSX) into validated rows; no database here.

Project leaders export the list from an HR system or Excel, so we accept what those produce:
UTF-8 (with or without BOM) or Windows-1252, comma, semicolon or tab, Swedish or English
headers. Every problem is collected with the row number Excel shows (header = row 1), so the
whole file can be fixed in one go.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

MAX_FILE_BYTES = 20 * 1024 * 1024
ACCEPTED_SUFFIXES = (".csv", ".txt", ".xlsx")
# Column sizes in app/employees/models.py.
MAX_LENGTHS = {"email": 320, "first_name": 100, "last_name": 100, "department": 200}
MAX_EMPLOYEE_NUMBER = 64

# Field labels shown to users in errors ("rad 7, e-post: ...").
LABELS = {
    "email": "e-post",
    "first_name": "förnamn",
    "last_name": "efternamn",
    "full_name": "namn",
    "department": "förvaltning",
    "employee_number": "anställningsnummer",
}
FILE_FIELD = "fil"
HEADER_FIELD = "rubriker"

# Header names after _fold(): lower-case, å/ä -> a, ö -> o, no spaces or punctuation.
COLUMN_ALIASES = {
    "email": ("epost", "epostadress", "mejl", "mejladress", "email", "emailadress", "mail",
              "mailadress", "emailaddress"),
    "first_name": ("fornamn", "firstname", "givenname", "tilltalsnamn"),
    "last_name": ("efternamn", "lastname", "surname", "familyname"),
    "full_name": ("namn", "fullstandigtnamn", "name", "fullname"),
    "department": ("forvaltning", "forv", "avdelning", "avd", "enhet", "department"),
    "employee_number": ("anstallningsnummer", "anstnr", "anstallningsnr", "employeeid",
                        "employeenumber", "employeeno"),
}  # fmt: skip
_ALIAS_TO_FIELD = {alias: name for name, aliases in COLUMN_ALIASES.items() for alias in aliases}
_FOLD_LETTERS = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u"})
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
# Bytes that start files people upload by mistake: zip (xlsx/docx), old Office, PDF.
_ZIP_MAGIC = b"PK\x03\x04"
_BINARY_MAGIC = (b"\xd0\xcf\x11\xe0", b"%PDF")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RowError:
    """One problem; row None means the whole file (it could not be read)."""

    row: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EmployeeRow:
    """A valid row. None means the file does not say (the column is missing or the cell empty)."""

    row: int
    email: str
    first_name: str
    last_name: str
    department: str | None
    employee_number: str | None


@dataclass
class ParsedFile:
    rows: list[EmployeeRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Table:
    """Raw cells: the header and each non-empty data row with its Excel row number."""

    header_row: int
    header: list[str]
    rows: list[tuple[int, list[str]]]


class UnsupportedFileError(ValueError):
    """The upload is not a staff list we can read at all (wrong type or content)."""


class FileReadError(ValueError):
    """A CSV or XLSX file that cannot be read; the message says how to save it instead."""


def parse_file(data: bytes, filename: str, progress: Progress | None = None) -> ParsedFile:
    """Read and validate a whole file; raises UnsupportedFileError for the wrong kind of file."""
    kind = detect_kind(data, filename)
    try:
        table = read_xlsx(data) if kind == "xlsx" else read_csv(data)
    except FileReadError as exc:
        return ParsedFile(errors=[RowError(None, FILE_FIELD, str(exc))])
    return validate_table(table, progress)


def detect_kind(data: bytes, filename: str) -> Literal["csv", "xlsx"]:
    """'csv' or 'xlsx', from the file name and checked against the content."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        shown = suffix or "utan filändelse"
        raise UnsupportedFileError(
            f"Filtypen ({shown}) stöds inte. Spara personallistan som Excel-arbetsbok (.xlsx) "
            "eller som CSV (.csv) och försök igen."
        )
    is_zip = data.startswith(_ZIP_MAGIC)
    if suffix == ".xlsx":
        if not is_zip:
            raise UnsupportedFileError(
                "Filen heter .xlsx men är ingen Excel-arbetsbok. Öppna den i Excel och spara "
                "som 'Excel-arbetsbok (.xlsx)' eller som 'CSV UTF-8', och försök igen."
            )
        return "xlsx"
    if is_zip or data.startswith(_BINARY_MAGIC):
        raise UnsupportedFileError(
            f"Filen heter {suffix} men är ingen textfil (den ser ut att vara en Excel-, Word- "
            "eller PDF-fil). Spara listan som 'CSV UTF-8' eller '.xlsx' och försök igen."
        )
    return "csv"


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), else Windows-1252; anything else is refused with advice."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_like_utf16(data):
        raise FileReadError(
            "Filen är sparad som UTF-16 (Unicode-text), som inte stöds. Spara om den i Excel "
            "som 'CSV UTF-8 (kommaavgränsad)' och försök igen."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise FileReadError(_not_text_message()) from None
    if _CONTROL_CHARS.search(text):
        raise FileReadError(_not_text_message())
    return text


def _looks_like_utf16(data: bytes) -> bool:
    # UTF-16 without BOM has a zero byte in every other position for Latin letters;
    # zeros scattered everywhere mean binary data instead.
    sample = data[:2000]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    return max(even, odd) > half * 0.4 and min(even, odd) < half * 0.05


def _not_text_message() -> str:
    return (
        "Filen är ingen textfil i UTF-8 eller Windows-1252 och kan inte läsas. Spara om "
        "personallistan i Excel som 'CSV UTF-8 (kommaavgränsad)' eller '.xlsx' och försök igen."
    )


def read_csv(data: bytes) -> Table:
    text = decode_text(data)
    if not text.strip():
        raise FileReadError(_empty_message())
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # Excel row numbers count records, so a quoted cell spanning lines is still one row.
        cells = [(number, row) for number, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        raise FileReadError(
            f'CSV-filen kan inte läsas från rad {reader.line_num}: troligen ett citattecken (") '
            "som aldrig avslutas. Rätta raden, eller spara om listan från Excel, och försök igen."
        ) from exc
    return _to_table((n, [cell.strip() for cell in row]) for n, row in cells)


def read_xlsx(data: bytes) -> Table:
    # Imported here: openpyxl is slow to import and only needed for Excel files.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            # Exporters other than Excel often write a wrong sheet size; read what is there.
            sheet.reset_dimensions()
            rows = list(sheet.iter_rows(min_row=1, values_only=True))
        finally:
            workbook.close()
    # A damaged upload can fail deep inside the zip and XML parsers with many error types.
    except Exception as exc:
        raise FileReadError(
            "Excel-filen kunde inte öppnas (den är skadad eller inte en .xlsx-arbetsbok). "
            "Öppna den i Excel, spara som 'Excel-arbetsbok (.xlsx)' och försök igen."
        ) from exc
    return _to_table((n, [_cell_text(v) for v in row]) for n, row in enumerate(rows, 1))


def _cell_text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # employee numbers typed as numbers: 1234.0 -> "1234"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _to_table(numbered: Iterable[tuple[int, list[str]]]) -> Table:
    non_empty = [(n, row) for n, row in numbered if any(row)]
    if not non_empty:
        raise FileReadError(_empty_message())
    (header_row, header), *rows = non_empty
    if not rows:
        raise FileReadError(
            "Filen har en rubrikrad men inga rader med anställda. Lägg till en rad per "
            "anställd under rubrikerna och försök igen."
        )
    return Table(header_row, header, rows)


def _empty_message() -> str:
    return (
        "Filen är tom. Exportera personallistan med en rubrikrad (t.ex. E-post, Förnamn, "
        "Efternamn, Förvaltning) och en rad per anställd, och försök igen."
    )


def fold_header(name: str) -> str:
    """'E-postadress' -> 'epostadress', 'Anst.nr' -> 'anstnr', 'Förnamn' -> 'fornamn'."""
    folded = unicodedata.normalize("NFC", name).casefold().translate(_FOLD_LETTERS)
    return _NOT_ALNUM.sub("", folded)


@dataclass
class ColumnMap:
    """Which column index holds which field, and what was left over."""

    columns: dict[str, int]
    warnings: list[str]


def map_columns(header: Sequence[str]) -> ColumnMap | RowError:
    columns: dict[str, int] = {}
    unknown: list[str] = []
    warnings: list[str] = []
    for index, name in enumerate(header):
        target = _ALIAS_TO_FIELD.get(fold_header(name))
        if target is None:
            if name:
                unknown.append(name)
        elif target in columns:
            first = header[columns[target]]
            warnings.append(f"Kolumnen '{name}' används inte eftersom '{first}' redan används.")
        else:
            columns[target] = index
    if unknown:
        warnings.insert(0, "Dessa kolumner känns inte igen och används inte: " + ", ".join(unknown))
    has_name = any(key in columns for key in ("first_name", "last_name", "full_name"))
    if "email" not in columns or not has_name:
        return _missing_columns_error(header, columns)
    return ColumnMap(columns, warnings)


def _missing_columns_error(header: Sequence[str], columns: dict[str, int]) -> RowError:
    missing = []
    if "email" not in columns:
        missing.append("en kolumn för e-post (t.ex. 'E-post' eller 'Email')")
    if not any(key in columns for key in ("first_name", "last_name", "full_name")):
        missing.append("en kolumn för namn ('Förnamn' och 'Efternamn', eller 'Namn')")
    found = ", ".join(f"'{name}'" for name in header if name) or "inga"
    message = (
        f"Rubrikraden saknar {' och '.join(missing)}. Kolumner i filen: {found}. "
        "Rätta rubrikerna och försök igen."
    )
    return RowError(1, HEADER_FIELD, message)


def validate_table(table: Table, progress: Progress | None = None) -> ParsedFile:
    mapped = map_columns(table.header)
    if isinstance(mapped, RowError):
        return ParsedFile(errors=[RowError(table.header_row, mapped.field, mapped.message)])
    result = ParsedFile(warnings=mapped.warnings)
    duplicates = _DuplicateFinder()
    for done, (number, cells) in enumerate(table.rows, start=1):
        values = {key: cells[i] if i < len(cells) else "" for key, i in mapped.columns.items()}
        if any(values.values()):  # rows with data only in ignored columns are not employees
            row, errors = validate_row(number, values)
            errors += duplicates.check(number, row)
            result.errors += errors
            if not errors:
                result.rows.append(row)
        if progress is not None and done % 1000 == 0:
            progress(1000)
    if progress is not None:
        progress(len(table.rows) % 1000)
    return result


def validate_row(number: int, values: dict[str, str]) -> tuple[EmployeeRow, list[RowError]]:
    """The row as read (email "" when invalid) and its problems; use it only without errors."""
    errors: list[RowError] = []
    email = ""
    try:
        email = normalise_email(values.get("email", ""))
    except InvalidEmailError as exc:
        errors.append(RowError(number, LABELS["email"], str(exc)))
    first, last = values.get("first_name", ""), values.get("last_name", "")
    if not first and not last:
        first, last = split_full_name(values.get("full_name", ""))
    if not first and not last:
        message = "Namn saknas. Fyll i för- och efternamn."
        errors.append(RowError(number, LABELS["full_name"], message))
    row = EmployeeRow(
        number,
        email,
        first,
        last,
        department=values.get("department") or None,
        employee_number=values.get("employee_number") or None,
    )
    return row, errors + _length_errors(row)


def _length_errors(row: EmployeeRow) -> list[RowError]:
    limits = {**MAX_LENGTHS, "employee_number": MAX_EMPLOYEE_NUMBER}
    limits.pop("email")  # checked with the address
    return [
        RowError(row.row, LABELS[key], f"Värdet är för långt (högst {limit} tecken).")
        for key, limit in limits.items()
        if len(getattr(row, key) or "") > limit
    ]


class _DuplicateFinder:
    """Remembers the first row of each address and number, to name it on later rows."""

    def __init__(self) -> None:
        self.email_rows: dict[str, int] = {}
        self.number_rows: dict[str, int] = {}

    def check(self, number: int, row: EmployeeRow) -> list[RowError]:
        errors = []
        if row.email:
            earlier = self.email_rows.setdefault(row.email, number)
            if earlier != number:
                message = f"Samma e-postadress finns redan på rad {earlier}. Ta bort den ena raden."
                errors.append(RowError(number, LABELS["email"], message))
        if row.employee_number:
            earlier = self.number_rows.setdefault(row.employee_number, number)
            if earlier != number:
                message = (
                    f"Samma anställningsnummer finns redan på rad {earlier}. Ta bort den ena raden."
                )
                errors.append(RowError(number, LABELS["employee_number"], message))
        return errors


class InvalidEmailError(ValueError):
    """The message says in Swedish what is wrong with the address (never the address itself)."""


def normalise_email(value: str) -> str:
    """The address checked and lower-cased; raises InvalidEmailError."""
    value = value.strip()
    if not value:
        raise InvalidEmailError("E-postadress saknas. Fyll i personens e-postadress.")
    if any(char.isspace() for char in value):
        raise InvalidEmailError("E-postadressen innehåller mellanslag. Ta bort dem.")
    if value.count("@") != 1:
        what = "saknar @" if "@" not in value else "har mer än ett @"
        raise InvalidEmailError(f"E-postadressen {what}. Skriv den som namn@kommun.se.")
    if len(value) > MAX_LENGTHS["email"]:
        limit = MAX_LENGTHS["email"]
        raise InvalidEmailError(f"E-postadressen är för lång (högst {limit} tecken).")
    try:
        normalised = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidEmailError(
            "Ogiltig e-postadress. Kontrollera stavningen, t.ex. att domänen är hel "
            "(namn@kommun.se)."
        ) from None
    return normalised.lower()


def split_full_name(name: str) -> tuple[str, str]:
    """'Anna Maria Berg' -> ('Anna', 'Maria Berg'); 'Berg, Anna' -> ('Anna', 'Berg')."""
    name = " ".join(name.split())
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    first, _, last = name.partition(" ")
    return first, last
