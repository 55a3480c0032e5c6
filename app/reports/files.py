"""Writing a completion report to a file: for the command line and the benchmark."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from app.auth.models import ApiKey
from app.core.db import session_scope
from app.core.runtime import Runtime
from app.reports.download import (
    ExportRequest,
    PreparedExport,
    RowCounter,
    prepare_export,
    stream_export,
)


def prepare(runtime: Runtime, request: ExportRequest, actor: ApiKey | str | None) -> PreparedExport:
    """Checks the campaign (ProblemError 404) and records the export as started."""
    settings = runtime.settings
    with session_scope(runtime.session_factory) as session:
        return prepare_export(
            session,
            request,
            actor=actor,
            now=runtime.clock.now(),
            tz=settings.timezone_info,
            min_group=settings.report_min_group_size,
        )


def write_export(
    runtime: Runtime, export: PreparedExport, target: Path, counter: RowCounter | None = None
) -> int:
    """Writes the file; returns the number of rows."""
    counter = counter or RowCounter()
    write_atomically(target, stream_export(runtime.session_factory, export, counter))
    return counter.rows


def write_report(
    runtime: Runtime, request: ExportRequest, target: Path, actor: ApiKey | str | None = None
) -> int:
    return write_export(runtime, prepare(runtime, request, actor), target)


def write_atomically(target: Path, chunks: Iterable[bytes]) -> None:
    # A failed export must not leave a half-written file that looks like a report.
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as file:
            for chunk in chunks:
                file.write(chunk)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
