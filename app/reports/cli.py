"""`nanolearn report`: the HR reports as files, for those who prefer the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from app.core.errors import ProblemError
from app.core.runtime import Runtime
from app.reports.download import ExportRequest, PreparedExport, RowCounter
from app.reports.export import CsvSeparator, ExportFormat
from app.reports.files import prepare, write_export
from app.reports.tables import ReportBy

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)


@app.callback()
def reports() -> None:
    """Reports for HR and project leaders: completion per employee, department or lesson."""


@app.command()
def completion(
    campaign: int = typer.Option(..., "--campaign", "-c", help="The campaign's id."),
    by: ReportBy = typer.Option(
        ReportBy.employee, "--by", "-b", help="One row per employee, department or lesson."
    ),
    fmt: ExportFormat | None = typer.Option(
        None, "--format", "-f", help="csv (for Excel), xlsx or json; default from -o, else csv."
    ),
    separator: CsvSeparator | None = typer.Option(
        None, "--separator", help="CSV: comma, or semicolon for Excel set to Swedish."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write; default genomforande-<id>-<date>.<format>."
    ),
) -> None:
    """Write a campaign's completion report."""
    runtime = Runtime.create()
    chosen = separator or CsvSeparator(runtime.settings.report_csv_separator)
    request = ExportRequest(campaign, by, fmt or _format_from_suffix(output), chosen)
    try:
        try:
            export = prepare(runtime, request, actor=None)
        except ProblemError:
            console.print(f"[red]No campaign with id {campaign}.[/]")
            raise typer.Exit(1) from None
        target = output or Path(export.filename)
        written = _write(runtime, export, target)
    finally:
        runtime.engine.dispose()
    console.print(f"[green]Wrote {written} rows[/] to {target}")


def _write(runtime: Runtime, export: PreparedExport, target: Path) -> int:
    total = export.enrolled if export.request.by is ReportBy.employee else None
    with _progress() as progress:
        task = progress.add_task("Rows written", total=total)
        return write_export(
            runtime, export, target, RowCounter(on_row=lambda: progress.advance(task))
        )


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
