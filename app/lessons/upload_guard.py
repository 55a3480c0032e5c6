"""Bounded reading of uploaded course files (ZIP and XLSX): size, member count, zip bombs.

Kept small and on its own so it can later join the shared upload module (app/core/uploads.py).
Every refusal is an UploadRefused with a Swedish message that names the problem; nothing here
writes anything, and memory stays bounded by the limits below whatever the archive claims.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePosixPath

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # the file as uploaded
MAX_MEMBERS = 300  # files in the archive (an .xlsx holds about ten)
MAX_MEMBER_BYTES = 8 * 1024 * 1024  # one file, uncompressed
MAX_TOTAL_BYTES = 25 * 1024 * 1024  # all files, uncompressed
MAX_RATIO = 200  # uncompressed / compressed, per file: more is a bomb, not text
CHUNK = 64 * 1024


class UploadRefused(Exception):
    """The upload cannot be read safely or is not what it claims to be."""

    def __init__(self, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file


@dataclass(frozen=True)
class Limits:
    upload_bytes: int = MAX_UPLOAD_BYTES
    members: int = MAX_MEMBERS
    member_bytes: int = MAX_MEMBER_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    ratio: int = MAX_RATIO


DEFAULT_LIMITS = Limits()


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


def check_upload_size(size: int, limits: Limits = DEFAULT_LIMITS) -> None:
    if size > limits.upload_bytes:
        raise UploadRefused(
            f"Filen är för stor ({_mb(size)}); högst {_mb(limits.upload_bytes)} tas emot. "
            "Dela upp kursen eller ta bort annat än kursens filer."
        )


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_name(name: str) -> None:
    path = PurePosixPath(name)
    if (
        "\\" in name
        or name.startswith("/")
        or ".." in path.parts
        or (path.parts and path.parts[0].endswith(":"))
        or "\x00" in name
    ):
        raise UploadRefused(
            f"Sökvägen {name!r} pekar utanför kursmappen (t.ex. '../' eller en absolut sökväg). "
            "Packa bara kursmappen och dess filer.",
            name,
        )


def _check_members(archive: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.members:
        raise UploadRefused(
            f"Arkivet innehåller {len(infos)} filer; högst {limits.members} tas emot."
        )
    total = 0
    for info in infos:
        _check_name(info.filename)
        if _is_symlink(info):
            raise UploadRefused(
                f"{info.filename!r} är en symbolisk länk; packa de riktiga filerna i stället.",
                info.filename,
            )
        if info.flag_bits & 0x1:
            raise UploadRefused(
                f"{info.filename!r} är krypterad; packa kursen utan lösenord.", info.filename
            )
        if info.is_dir():
            continue
        if info.file_size > limits.member_bytes:
            raise UploadRefused(
                f"{info.filename!r} är {_mb(info.file_size)} uppackad; högst "
                f"{_mb(limits.member_bytes)} per fil.",
                info.filename,
            )
        if info.file_size > limits.ratio * max(info.compress_size, 1) and info.file_size > CHUNK:
            raise UploadRefused(
                f"{info.filename!r} packas upp till mer än {limits.ratio} gånger sin storlek: "
                "det ser ut som en zip-bomb och tas inte emot.",
                info.filename,
            )
        total += info.file_size
    if total > limits.total_bytes:
        raise UploadRefused(
            f"Arkivet blir {_mb(total)} uppackat; högst {_mb(limits.total_bytes)} tas emot."
        )
    return infos


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """A member's bytes, read in chunks and never more than it declared (or the limit)."""
    allowed = min(info.file_size, limits.member_bytes)
    parts: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > allowed:
                    raise UploadRefused(
                        f"{info.filename!r} packas upp till mer än den uppger: filen är "
                        "trasig eller en zip-bomb.",
                        info.filename,
                    )
                parts.append(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise UploadRefused(
            f"{info.filename!r} går inte att packa upp ({exc}); packa kursen igen.", info.filename
        ) from None
    return b"".join(parts)


def _drain_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> None:
    """Decompress a member without keeping it, to prove its real size and checksum."""
    allowed = min(info.file_size, limits.member_bytes)
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > allowed:
                    raise UploadRefused(
                        "Arkivet packas upp till mer än det uppger: det är trasigt eller en "
                        "zip-bomb.",
                        info.filename,
                    )
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise UploadRefused(
            f"Arkivet är trasigt ({exc}); spara filen igen.", info.filename
        ) from None


@contextmanager
def open_zip(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Iterator[zipfile.ZipFile]:
    check_upload_size(len(data), limits)
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UploadRefused(
            "Filen är ingen ZIP-fil (eller en trasig sådan). Ladda upp en .zip eller en .xlsx."
        ) from None
    with archive:
        yield archive


def read_zip(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Every file of a ZIP as {path: bytes}, directories left out, after every check."""
    with open_zip(data, limits) as archive:
        infos = _check_members(archive, limits)
        return {
            info.filename: read_member(archive, info, limits) for info in infos if not info.is_dir()
        }


@contextmanager
def checked_xlsx(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Iterator[BytesIO]:
    """The workbook's bytes, after proving every part's real size: openpyxl may then read it."""
    with open_zip(data, limits) as archive:
        for info in _check_members(archive, limits):
            if not info.is_dir():
                _drain_member(archive, info, limits)
    yield BytesIO(data)
