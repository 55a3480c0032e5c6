"""Bounded reading of uploaded files: CSV text, XLSX workbooks and ZIP archives.

The upload limit counts bytes on the wire, but a ZIP (an .xlsx is one) can unpack to gigabytes
and a small text file can hold millions of rows. Everything here reads as a stream and stops at
a limit, so what an upload costs in memory and time follows from the limits, not the file:

* ZIP: at most MAX_ZIP_MEMBERS members; the members' declared uncompressed sizes together, and
  the bytes actually unpacked while reading, at most `max_unpacked_bytes`.
* XLSX: the sheet is read as a stream with further bounds: see app.core.xlsx.
* CSV: decoded as a stream (UTF-8 with or without BOM, else Windows-1252), at most
  MAX_LINE_CHARS per line.
* Rows: at most `max_rows` non-empty rows under the header (`limited_rows`).
* Problems: `Capped` keeps the first few and counts the rest.

Every refusal is an UploadError whose message says in Swedish what is wrong and what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

MB = 1024 * 1024
MAX_LISTED = 100  # errors (and warnings) listed in an answer; the rest are only counted
MAX_ZIP_MEMBERS = 10_000
MAX_LINE_CHARS = 100_000  # one physical CSV line
CHUNK = 64 * 1024

T = TypeVar("T")


class UploadError(ValueError):
    """The file as a whole cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class UploadLimits:
    max_rows: int = 100_000
    max_unpacked_bytes: int = 200 * MB
    max_listed: int = MAX_LISTED


@dataclass
class Capped(Generic[T]):
    """The first `limit` items and how many there were in all."""

    limit: int = MAX_LISTED
    items: list[T] = field(default_factory=list)
    total: int = 0

    def add(self, item: T) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(item)

    @property
    def left_out(self) -> int:
        return self.total - len(self.items)


def number(value: int) -> str:
    """100000 -> '100 000', as numbers are written in Swedish."""
    return f"{value:,}".replace(",", " ")


def limited_rows(
    rows: Iterable[tuple[int, list[str]]], max_rows: int
) -> Iterator[tuple[int, list[str]]]:
    """Only rows with content; the first is the header and at most `max_rows` may follow it."""
    count = 0
    for row_number, cells in rows:
        if not any(cells):
            continue
        count += 1
        if count > max_rows + 1:
            raise UploadError(
                f"Filen har fler än {number(max_rows)} rader under rubrikraden (rad "
                f"{number(row_number)} är en för mycket), och fler än så läses inte in. Dela upp "
                "filen i mindre delar, eller be den som driftar Nanolearn att höja gränsen "
                "(NANOLEARN_IMPORT_MAX_ROWS)."
            )
        yield row_number, cells


# --- ZIP ---------------------------------------------------------------------------------


class ZipArchive:
    """A ZIP checked before reading (members, declared sizes) and counted while reading."""

    def __init__(self, data: bytes, max_unpacked_bytes: int, damaged: str) -> None:
        self.damaged = damaged
        # Every central-directory entry starts with this signature, so the count is an upper
        # bound on the entries zipfile would hold in memory; checked before it reads them.
        if data.count(b"PK\x01\x02") > MAX_ZIP_MEMBERS:
            raise UploadError(
                f"Filen innehåller fler än {number(MAX_ZIP_MEMBERS)} filer och läses inte. "
                + damaged
            )
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
            raise UploadError(damaged) from None
        self.left = max_unpacked_bytes
        declared = sum(info.file_size for info in self.zip.infolist())
        if declared > max_unpacked_bytes:
            raise UploadError(
                f"Filen packas upp till {number(declared // MB)} MB, men högst "
                f"{number(max_unpacked_bytes // MB)} MB tillåts. Spara en fil med bara det som "
                "behövs (t.ex. ett blad utan bilder), eller dela upp den, och försök igen."
            )

    def has(self, name: str) -> bool:
        return name in self.zip.NameToInfo

    def chunks(self, name: str) -> Iterator[bytes]:
        """The member unpacked in pieces; stops when more comes out than declared or allowed."""
        try:
            info = self.zip.getinfo(name)
            with self.zip.open(info) as member:
                read = 0
                while chunk := member.read(CHUNK):
                    read += len(chunk)
                    self.left -= len(chunk)
                    if read > info.file_size or self.left < 0:
                        raise UploadError(
                            "Filen packas upp till mer än den säger eller än vad som tillåts, "
                            "och läses inte. " + self.damaged
                        )
                    yield chunk
        except UploadError:
            raise
        # CRC, compression and encryption problems surface here with many error types.
        except (KeyError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError):
            raise UploadError(self.damaged) from None
        except (EOFError, OSError, ValueError):
            raise UploadError(self.damaged) from None


# --- CSV ----------------------------------------------------------------------------------

_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_LEADING_NEWLINES = re.compile(rb"[\r\n]*")

NOT_TEXT = "Spara om den i Excel som 'CSV UTF-8 (kommaavgränsad)' eller '.xlsx' och försök igen."


def text_encoding(data: bytes) -> str:
    """'utf-8-sig' or 'cp1252', decided without decoding the whole file at once."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_like_utf16(data):
        raise UploadError(
            "Filen är sparad som UTF-16 (Unicode-text), som inte stöds. Spara om den i Excel "
            "som 'CSV UTF-8 (kommaavgränsad)' och försök igen."
        )
    if found := _CONTROL_BYTES.search(data):
        line = data.count(b"\n", 0, found.start()) + 1
        raise UploadError(
            f"Filen innehåller ett styrtecken (kod {found.group()[0]}) på rad {number(line)} "
            f"och är därför ingen textfil i UTF-8 eller Windows-1252. {NOT_TEXT}"
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), MB):
            decoder.decode(view[start : start + MB], final=start + MB >= len(data))
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    if found := _CP1252_UNDEFINED.search(data):
        line = data.count(b"\n", 0, found.start()) + 1
        raise UploadError(
            f"Filen har tecken på rad {number(line)} som varken är UTF-8 eller Windows-1252, "
            f"så den är ingen textfil som kan läsas. {NOT_TEXT}"
        )
    return "cp1252"


def _looks_like_utf16(data: bytes) -> bool:
    # UTF-16 without BOM has a zero byte in every other position for Latin letters;
    # zeros scattered everywhere mean binary data instead.
    sample = data[:2000]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    return max(even, odd) > half * 0.4 and min(even, odd) < half * 0.05


class _LineTooLong(Exception):
    def __init__(self, open_quote: bool) -> None:
        self.open_quote = open_quote


def _lines(stream: io.TextIOWrapper) -> Iterator[str]:
    while line := stream.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            raise _LineTooLong(line.count('"') % 2 == 1)
        yield line


def csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """Records (a quoted cell may span lines) numbered from 1, cells stripped."""
    encoding = text_encoding(data)
    start = _LEADING_NEWLINES.match(data)
    first = start.end() if start else 0
    first_line = data[first : first + MAX_LINE_CHARS].split(b"\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=lambda d: first_line.count(d.encode()))
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    reader = csv.reader(_lines(stream), delimiter=delimiter)
    record = 0
    try:
        for record, row in enumerate(reader, start=1):
            yield record, [cell.strip() for cell in row]
    except _LineTooLong as exc:
        if exc.open_quote:
            raise UploadError(_open_quote(record + 1)) from None
        raise UploadError(
            f"Rad {number(record + 1)} är längre än {number(MAX_LINE_CHARS)} tecken och kan "
            "inte vara en rad i en lista. Kontrollera att filen är en CSV-fil med en rad per "
            "person, eller spara om listan från Excel, och försök igen."
        ) from None
    except csv.Error:
        raise UploadError(_open_quote(record + 1)) from None


def _open_quote(row: int) -> str:
    return (
        f'CSV-filen kan inte läsas från rad {number(row)}: troligen ett citattecken (") som '
        "aldrig avslutas. Rätta raden, eller spara om listan från Excel, och försök igen."
    )
