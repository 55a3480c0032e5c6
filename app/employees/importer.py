"""Read a staff list (CSV or XLSX) into validated rows; no database here.

Project leaders export the list from an HR system or Excel, so we accept what those produce:
UTF-8 (with or without BOM) or Windows-1252, comma, semicolon or tab, Swedish or English
headers. Every problem is collected with the row number Excel shows (header = row 1), so the
whole file can be fixed in one go; an answer lists the first MAX_LISTED and counts the rest.
The file is read as a stream within UploadLimits (rows, unpacked size): see app.core.uploads.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

from app.core.uploads import (
    MAX_LISTED,
    Capped,
    UploadError,
    UploadLimits,
    csv_rows,
    limited_rows,
)
from app.core.uploads import number as number_text
from app.core.xlsx import xlsx_rows

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

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RowError:
    """One problem; row None means the whole file (it could not be read)."""

    row: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
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
    """Valid rows, and the problems: the first MAX_LISTED listed, all of them counted."""

    rows: list[EmployeeRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error_count: int = 0  # all errors, also those not listed
    error_rows: int = 0  # rows with at least one error

    def __post_init__(self) -> None:
        self.error_count = self.error_count or len(self.errors)
        self.error_rows = self.error_rows or len({e.row for e in self.errors})


class UnsupportedFileError(ValueError):
    """The upload is not a staff list we can read at all (wrong type or content)."""


def parse_file(
    data: bytes,
    filename: str,
    progress: Progress | None = None,
    limits: UploadLimits | None = None,
) -> ParsedFile:
    """Read and validate a whole file; raises UnsupportedFileError for the wrong kind of file.

    Read as a stream with bounds (app.core.uploads): a file that is too big unpacked, has too
    many rows or cannot be read gives one error for the whole file.
    """
    limits = limits or UploadLimits()
    kind = detect_kind(data, filename)
    try:
        rows = xlsx_rows(data, limits, damaged=_DAMAGED_XLSX) if kind == "xlsx" else csv_rows(data)
        return validate_rows(limited_rows(rows, limits.max_rows), progress, limits.max_listed)
    except UploadError as exc:
        return ParsedFile(errors=[RowError(None, FILE_FIELD, str(exc))])


_DAMAGED_XLSX = (
    "Excel-filen kunde inte öppnas (den är skadad eller inte en .xlsx-arbetsbok). "
    "Öppna den i Excel, spara som 'Excel-arbetsbok (.xlsx)' och försök igen."
)


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


def validate_rows(
    rows: Iterable[tuple[int, list[str]]],
    progress: Progress | None = None,
    max_listed: int = MAX_LISTED,
) -> ParsedFile:
    """Non-empty rows, the header first; raises UploadError for a file without people."""
    numbered = iter(rows)
    header_row, header = next(numbered, (0, []))
    if not header_row:
        raise UploadError(_empty_message())
    mapped = map_columns(header)
    if isinstance(mapped, RowError):
        return ParsedFile(errors=[RowError(header_row, mapped.field, mapped.message)])
    result = ParsedFile()
    errors: Capped[RowError] = Capped(max_listed)
    notes: Capped[str] = Capped(max_listed)
    duplicates = _DuplicateFinder()
    done = 0
    for done, (number, cells) in enumerate(numbered, start=1):
        values = {key: cells[i] if i < len(cells) else "" for key, i in mapped.columns.items()}
        if any(values.values()):  # rows with data only in ignored columns are not employees
            row, row_errors = validate_row(number, values)
            row_errors += duplicates.check(number, row)
            for error in row_errors:
                errors.add(error)
            result.error_rows += bool(row_errors)
            if not row_errors:
                result.rows.append(row)
                if note := address_warning(row):
                    notes.add(note)
        if progress is not None and done % 1000 == 0:
            progress(1000)
    if progress is not None:
        progress(done % 1000)
    if not done:
        raise UploadError(
            "Filen har en rubrikrad men inga rader med anställda. Lägg till en rad per "
            "anställd under rubrikerna och försök igen."
        )
    result.errors, result.error_count = errors.items, errors.total
    result.warnings = mapped.warnings + notes.items
    if notes.left_out:
        result.warnings.append(
            f"Ytterligare {number_text(notes.left_out)} rader har samma varning om tecken "
            "före @; de visas inte här."
        )
    return result


def address_warning(row: EmployeeRow) -> str | None:
    """A note for addresses with letters like å before the @: some mail servers refuse them."""
    local = row.email.rpartition("@")[0]
    if local.isascii():
        return None
    return (
        f"rad {row.row}, {LABELS['email']}: Adressen har tecken före @ (t.ex. å, ä, ö) som inte "
        "alla e-postservrar tar emot. Personen importeras ändå; kontrollera att adressen "
        "stämmer, och använd om möjligt en adress med bara a–z, 0–9, punkt och bindestreck "
        "före @."
    )


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
        # The same few departments on every row: one string each, not one per row (memory).
        department=sys.intern(values["department"]) if values.get("department") else None,
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
    """The address checked, in its one stored form; raises InvalidEmailError.

    Lower-case, Unicode NFC, and the domain as Unicode letters (IDNA U-label): "Anna@KOMMUNÖ.SE"
    and "anna@xn--kommun-1xa.se" are both "anna@kommunö.se", so they are the same person. This
    is how people write and read the address, and how every address was stored already; the
    sender turns the domain into xn-- form when it sends. Letters like å before the @ are kept
    (they need SMTPUTF8 to be sent; see address_warning).
    """
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
