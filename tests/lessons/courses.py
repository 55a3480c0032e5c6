"""Build course uploads for tests: ZIPs from the fixture course, workbooks from the template."""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from app.lessons.workbook import template_workbook
from tests.lessons.conftest import COURSE, FIXTURES, lesson_text


def folder_files(folder: Path, prefix: str | None = None) -> dict[str, bytes]:
    prefix = folder.name if prefix is None else prefix
    return {f"{prefix}/{p.name}": p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def make_zip(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return out.getvalue()


def fixture_zip() -> bytes:
    """The valid fixture course 'trygghet' (two lessons) as a ZIP of its folder."""
    return make_zip(folder_files(FIXTURES / "valid" / "trygghet"))


def small_course(
    slug: str = "egen-kurs", keys: tuple[str, ...] = ("egen-01", "egen-02")
) -> dict[str, bytes]:
    listing = "\n".join(f"  - {key}" for key in keys)
    files = {f"{slug}/course.yaml": COURSE.format(lessons=listing).encode()}
    files.update({f"{slug}/{key}.md": lesson_text(key).encode() for key in keys})
    return files


def edit_workbook(change: Callable[[Any], None], data: bytes | None = None) -> bytes:
    """The template (or a given workbook) after change(workbook)."""
    workbook = load_workbook(BytesIO(data or template_workbook()))
    change(workbook)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()
