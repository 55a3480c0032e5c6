"""`nanolearn employees import FILE`: load the staff list from CSV or Excel. (`erase ID` and
`export ID`, the GDPR requests, are in app.privacy.cli under the same command group.)"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import ProblemError
from app.core.runtime import Runtime
from app.core.uploads import number
from app.employees.importer import MAX_FILE_BYTES, ParsedFile, UnsupportedFileError, parse_file
from app.employees.schemas import ImportMode
from app.employees.staff_import import ImportResult, import_parsed

app = typer.Typer(no_args_is_help=True)


@app.callback()
def employees() -> None:
    """Anställda: läs in personallistan; radera eller exportera en person (GDPR)."""


# soft_wrap: one error per line even when piped to a file or a narrow window.
console = Console(highlight=False, soft_wrap=True)
# Progress goes to stderr and disappears when done, so stdout stays the report.
progress_console = Console(stderr=True)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., metavar="FIL", help="Personallistan: .xlsx, .csv eller .txt"),
    sync: bool = typer.Option(False, "--sync", help="Avaktivera också de som inte finns i filen."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Visa bara vad som skulle ändras."),
) -> None:
    """Läs in anställda från en CSV- eller Excel-fil; har filen något fel läses inget in."""
    data = _read_file(file)
    try:
        parsed = _parse_with_progress(data, file.name)
    except UnsupportedFileError as exc:
        _fail(str(exc))
    mode: ImportMode = "sync" if sync else "upsert"
    runtime = Runtime.create()
    try:
        with (
            _spinner("Jämför med databasen" if dry_run else "Sparar i databasen"),
            session_scope(runtime.session_factory) as session,
        ):
            now = runtime.clock.now()
            result = import_parsed(session, parsed, mode=mode, dry_run=dry_run, now=now, actor=None)
    except ProblemError as exc:
        _fail(exc.detail)
    finally:
        runtime.engine.dispose()
    _report(result)
    if result.errors:
        raise typer.Exit(1)


def _read_file(file: Path) -> bytes:
    if not file.is_file():
        _fail(f"Filen finns inte: {file}. Kontrollera sökvägen och filnamnet.")
    if file.stat().st_size > MAX_FILE_BYTES:
        _fail(
            f"Filen är för stor (högst {MAX_FILE_BYTES // (1024 * 1024)} MB). Ta bort kolumner "
            "som inte behövs, eller dela upp listan per förvaltning."
        )
    try:
        return file.read_bytes()
    except OSError as exc:
        _fail(f"Filen kunde inte läsas: {exc.strerror}. Kontrollera att du har behörighet.")


def _parse_with_progress(data: bytes, filename: str) -> ParsedFile:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), MofNCompleteColumn())
    with Progress(
        *columns, console=progress_console, transient=True, disable=not progress_console.is_terminal
    ) as progress:
        # The file is read as a stream, so the number of rows is known only at the end.
        checking = progress.add_task("Läser och kontrollerar raderna", total=None)
        limits = get_settings().upload_limits
        return parse_file(data, filename, lambda n: progress.advance(checking, n), limits)


def _spinner(description: str) -> Progress:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=progress_console,
        transient=True,
        disable=not progress_console.is_terminal,
    )
    progress.add_task(description, total=None)
    return progress


def _report(result: ImportResult) -> None:
    for warning in result.warnings:
        console.print(f"[yellow]Obs:[/] {escape(warning)}")
    if result.errors:
        for error in result.errors:
            where = f"rad {error.row}, {error.field}" if error.row is not None else error.field
            console.print(f"[red]{where}:[/] {escape(error.message)}")
        if result.error_count > len(result.errors):
            console.print(
                f"… och {number(result.error_count - len(result.errors))} fel till "
                f"(de första {len(result.errors)} av {number(result.error_count)} visas)."
            )
        if result.file_errors:
            console.print("\n[bold red]Inget importerades.[/] Rätta filen och kör kommandot igen.")
        else:
            console.print(f"\n[bold red]{escape(result.error_summary())}.[/]")
            console.print("Rätta raderna ovan och kör kommandot igen.")
        return
    table = Table(title="Provkörning: inget sparades" if result.dry_run else "Importen är klar")
    table.add_column("Nya", justify="right")
    table.add_column("Uppdaterade", justify="right")
    table.add_column("Avaktiverade", justify="right")
    table.add_column("Oförändrade", justify="right")
    counts = (result.created, result.updated, result.deactivated, result.unchanged)
    table.add_row(*(str(count) for count in counts))
    console.print(table)
    if result.dry_run:
        console.print("Kör samma kommando utan --dry-run för att spara ändringarna.")


def _fail(message: str) -> NoReturn:
    console.print(f"[red]Fel:[/] {escape(message)}")
    raise typer.Exit(1)
