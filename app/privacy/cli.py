"""`nanolearn privacy purge [--dry-run]`: delete personal data past its retention period."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.core.db import session_scope
from app.core.errors import ProblemError
from app.core.runtime import Runtime
from app.employees.schemas import EmployeeExport
from app.privacy.retention import PurgeReport, purge_expired
from app.privacy.service import erase_employee, export_employee

app = typer.Typer(no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


@app.callback()
def privacy() -> None:
    """Dataskydd (GDPR): gallring. Radera eller exportera en person: nanolearn employees erase|export ID."""


@app.command()
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Visa bara vad som skulle raderas."),
) -> None:
    """Radera det som har passerat sin gallringstid; nattjobbet gör samma sak."""
    runtime = Runtime.create()
    try:
        with session_scope(runtime.session_factory) as session:
            report = purge_expired(
                session, runtime.clock.now(), runtime.settings, dry_run=dry_run, actor=None
            )
    finally:
        runtime.engine.dispose()
    _print(report)


def _print(report: PurgeReport) -> None:
    day = "%Y-%m-%d"
    console.print(
        f"Kampanjer som slutade före {report.campaigns_ended_before:{day}} gallras; "
        f"anställda som avaktiverades före {report.deactivated_before:{day}} raderas."
    )
    if report.nothing:
        console.print("Inget att gallra.")
        return
    title = "Provkörning: inget raderades" if report.dry_run else "Gallringen är klar"
    table = Table(title=title, title_justify="left")
    table.add_column("Tabell")
    table.add_column("Rader", justify="right")
    for name, count in sorted(report.deleted.items()):
        table.add_row(name, str(count))
    console.print(table)
    campaigns = ", ".join(str(c) for c in report.campaigns) or "inga"
    console.print(f"Kampanjer: {campaigns}")
    verb = "raderas" if report.dry_run else "raderades"
    console.print(f"Anställda som {verb} (anonymiseras): {len(report.employees_erased)}")
    if report.dry_run:
        console.print("Kör samma kommando utan --dry-run för att radera.")


def erase(
    employee_id: int = typer.Argument(
        ..., metavar="ID", help="Den anställdas id (GET /api/v1/employees)."
    ),
    yes: bool = typer.Option(False, "--yes", help="Fråga inte om bekräftelse."),
) -> None:
    """Radera en person: namn, adress, nummer och aktivitet försvinner; anonyma antal finns kvar."""
    if not yes:
        typer.confirm(f"Radera anställd {employee_id} för gott? Det går inte att ångra", abort=True)
    runtime = Runtime.create()
    try:
        with session_scope(runtime.session_factory) as session:
            report = erase_employee(session, employee_id, now=runtime.clock.now(), actor=None)
    except ProblemError as exc:
        _fail(exc.detail)
    finally:
        runtime.engine.dispose()
    removed = sum(report.deleted.values())
    kept = sum(report.anonymised.values())
    console.print(
        f"Anställd {employee_id} är raderad: {removed} rader borttagna, "
        f"{kept} rader kvar utan identitet (för kampanjernas och rapporternas antal)."
    )


def export(
    employee_id: int = typer.Argument(
        ..., metavar="ID", help="Den anställdas id (GET /api/v1/employees)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="JSON-filen som ska skrivas."),
) -> None:
    """Skriv allt som finns sparat om en person till en JSON-fil (GDPR: rätt till tillgång)."""
    runtime = Runtime.create()
    try:
        with session_scope(runtime.session_factory) as session:
            data = export_employee(session, employee_id, now=runtime.clock.now(), actor=None)
            text = EmployeeExport.model_validate(data).model_dump_json(indent=2)
    except ProblemError as exc:
        _fail(exc.detail)
    finally:
        runtime.engine.dispose()
    output.write_text(text + "\n", encoding="utf-8")
    console.print(f"Skrev allt om anställd {employee_id} till {output}")


def _fail(message: str) -> NoReturn:
    console.print(f"[red]Fel:[/] {escape(message)}")
    raise typer.Exit(1)
