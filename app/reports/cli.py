"""`nanolearn report`: the HR reports as files, for those who prefer the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from app.core.db import session_scope
from app.core.errors import ProblemError
from app.core.runtime import Runtime
from app.reports.export import ExportFormat, export_chunks, report_filename
from app.reports.service import (
    CompletionRow,
    campaign_or_404,
    campaign_totals,
    completion_rows,
    report_campaign,
)

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)


@app.callback()
def reports() -> None:
    """Reports for HR: completion per employee."""


@app.command()
def completion(
    campaign: int = typer.Option(..., "--campaign", "-c", help="The campaign's id."),
    fmt: ExportFormat | None = typer.Option(
        None, "--format", "-f", help="csv (for Excel), xlsx or json; default from -o, else csv."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write; default genomforande-<id>-<date>.<format>."
    ),
) -> None:
    """Write a campaign's completion report: one row per enrolled employee."""
    fmt = fmt or _format_from_suffix(output)
    runtime = Runtime.create()
    try:
        target, written = _export(runtime, campaign, fmt, output)
    finally:
        runtime.engine.dispose()
    console.print(f"[green]Wrote {written} rows[/] to {target}")


def _export(
    runtime: Runtime, campaign: int, fmt: ExportFormat, output: Path | None
) -> tuple[Path, int]:
    tz = ZoneInfo(runtime.settings.timezone)
    now = runtime.clock.now()
    target = output or Path(report_filename(campaign, now.astimezone(tz).date(), fmt))
    with session_scope(runtime.session_factory) as session:
        try:
            found = campaign_or_404(session, campaign)
        except ProblemError:
            console.print(f"[red]No campaign with id {campaign}.[/]")
            raise typer.Exit(1) from None
        header = report_campaign(session, found, now)
        total = campaign_totals(session, campaign)["enrolled"]
        with _progress() as progress:
            task = progress.add_task("Rows written", total=total)
            rows = _tracked(completion_rows(session, campaign), lambda: progress.advance(task))
            _write_atomically(target, export_chunks(fmt, header, rows, tz))
            return target, int(progress.tasks[task].completed)


def _format_from_suffix(output: Path | None) -> ExportFormat:
    suffix = output.suffix.lower().lstrip(".") if output else ""
    return ExportFormat(suffix) if suffix in set(ExportFormat) else ExportFormat.csv


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )


def _tracked(rows: Iterable[CompletionRow], on_row: Callable[[], None]) -> Iterator[CompletionRow]:
    for row in rows:
        yield row
        on_row()


def _write_atomically(target: Path, chunks: Iterable[bytes]) -> None:
    # A failed export must not leave a half-written file that looks like a report.
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as file:
            for chunk in chunks:
                file.write(chunk)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
