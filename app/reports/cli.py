"""`nanolearn report`: the HR reports as files, for those who prefer the command line."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from app.core.errors import ProblemError
from app.core.runtime import Runtime
from app.reports.download import ExportRequest, PreparedExport, RowCounter
from app.reports.export import CsvSeparator, ExportFormat, choose_separator
from app.reports.files import prepare, write_export
from app.reports.tables import ReportBy

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)


@app.callback()
def reports() -> None:
    """Rapporter för HR och projektledare: genomförande per person, förvaltning eller lektion."""


@app.command()
def completion(
    campaign: int = typer.Option(..., "--campaign", "-c", help="Kampanjens id."),
    by: ReportBy = typer.Option(
        ReportBy.employee,
        "--by",
        "-b",
        help="En rad per person (employee), förvaltning (department) eller lektion (lesson).",
    ),
    fmt: ExportFormat | None = typer.Option(
        None,
        "--format",
        "-f",
        help="xlsx (Excel), csv eller json; annars efter filändelsen i -o, annars xlsx.",
    ),
    separator: CsvSeparator | None = typer.Option(
        None,
        "--separator",
        help="CSV: comma eller semicolon (Excel på svenska). Annars efter språket i LANG, "
        "och semikolon om inget språk är satt.",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Filen att skriva; annars genomforande-<id>-<datum>.<format>."
    ),
) -> None:
    """Skriv en kampanjs genomföranderapport till en fil."""
    runtime = Runtime.create()
    chosen = separator or choose_separator(runtime.settings.report_csv_separator, _locale())
    request = ExportRequest(campaign, by, fmt or _format_from_suffix(output), chosen)
    try:
        try:
            export = prepare(runtime, request, actor=None)
        except ProblemError:
            console.print(
                f"[red]Det finns ingen kampanj med id {campaign}.[/] "
                "Se vilka som finns med: nanolearn campaigns list"
            )
            raise typer.Exit(1) from None
        target = output or Path(export.filename)
        written = _write(runtime, export, target)
    finally:
        runtime.engine.dispose()
    rows = "rad" if written == 1 else "rader"
    done = f"[green]Skrev {written} {rows}[/] till {target}"
    if request.fmt is ExportFormat.csv:
        done += f" (kolumner åtskilda med {_SEPARATOR_WORDS[request.separator]})"
    console.print(done)


_SEPARATOR_WORDS = {CsvSeparator.comma: "komma", CsvSeparator.semicolon: "semikolon"}


def _locale() -> str | None:
    """The terminal's language as an Accept-Language value: LANG=sv_SE.UTF-8 gives "sv-SE"."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").split(".")[0]
        if value and value not in ("C", "POSIX"):
            return value.replace("_", "-")
    return None


def _write(runtime: Runtime, export: PreparedExport, target: Path) -> int:
    total = export.enrolled if export.request.by is ReportBy.employee else None
    with _progress() as progress:
        task = progress.add_task("Rader skrivna", total=total)
        return write_export(
            runtime, export, target, RowCounter(on_row=lambda: progress.advance(task))
        )


def _format_from_suffix(output: Path | None) -> ExportFormat:
    suffix = output.suffix.lower().lstrip(".") if output else ""
    return ExportFormat(suffix) if suffix in set(ExportFormat) else ExportFormat.xlsx


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )
