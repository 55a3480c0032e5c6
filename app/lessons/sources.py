"""Where the lesson checker reads course folders from: the disk, or files held in memory.

The checker (app.lessons.loader) sees only this small interface, so a folder on disk, a ZIP and
a workbook turned into files are checked by the very same code; nothing is extracted to disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import Protocol

HERE = PurePosixPath()  # an upload's files have no folder above them


class CourseFolder(Protocol):
    """One course folder: course.yaml and the lesson files directly inside it."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> PurePath:
        """How problems name the folder (a real path, or one inside an upload)."""
        ...

    def file_names(self) -> list[str]:
        """The names of the files directly in the folder, sorted."""
        ...

    def read(self, name: str) -> bytes: ...


class LessonsTree(Protocol):
    """The lessons folder: course folders side by side."""

    @property
    def path(self) -> PurePath: ...

    def exists(self) -> bool: ...

    def folders(self) -> list[CourseFolder]:
        """Every course folder, sorted by name."""
        ...


@dataclass(frozen=True)
class DiskFolder:
    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def path(self) -> PurePath:
        return self.root

    def file_names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_file())

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()


@dataclass(frozen=True)
class DiskTree:
    root: Path

    @property
    def path(self) -> PurePath:
        return self.root

    def exists(self) -> bool:
        return self.root.is_dir()

    def folders(self) -> list[CourseFolder]:
        return [DiskFolder(p) for p in sorted(self.root.iterdir()) if p.is_dir()]


@dataclass(frozen=True)
class MemoryFolder:
    """A course folder held as {file name: bytes}."""

    name: str
    files: Mapping[str, bytes]
    parent: PurePath = HERE

    @property
    def path(self) -> PurePath:
        return self.parent / self.name

    def file_names(self) -> list[str]:
        return sorted(self.files)

    def read(self, name: str) -> bytes:
        return self.files[name]


@dataclass(frozen=True)
class MemoryTree:
    """Course folders held in memory: {"slug/course.yaml": bytes, "slug/01.md": bytes, …}.

    Paths are relative, with "/" between parts; files deeper than slug/name are not part of a
    course (as on disk) and are listed by `deeper()` so an upload can say so.
    """

    files: Mapping[str, bytes]
    root: PurePath = HERE

    @property
    def path(self) -> PurePath:
        return self.root

    def exists(self) -> bool:
        return True

    def folders(self) -> list[CourseFolder]:
        grouped: dict[str, dict[str, bytes]] = {}
        for relative, data in self.files.items():
            parts = relative.split("/")
            if len(parts) == 2:
                grouped.setdefault(parts[0], {})[parts[1]] = data
            elif len(parts) > 2:
                grouped.setdefault(parts[0], {})
        return [MemoryFolder(name, grouped[name], self.root) for name in sorted(grouped)]

    def deeper(self) -> list[str]:
        return sorted(name for name in self.files if name.count("/") > 1)
