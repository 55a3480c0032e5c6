"""`nanolearn courses import|export`: upload a course from the shell, or fetch one to edit."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from app.auth.audit import record_audit
from app.core.db import session_scope
from app.core.runtime import Runtime
from app.delivery.course_upload import import_course
from app.lessons.course_upload import CourseImportInvalid, ImportIssue, export_course
from app.lessons.upload_guard import MAX_UPLOAD_BYTES

app = typer.Typer(
    no_args_is_help=True,
    help="Kurser som filer: läs in en ZIP- eller Excel-fil, eller exportera en kurs.",
)
out = Console()
err = Console(stderr=True)


def _where(issue: ImportIssue) -> str:
    if issue.sheet is not None:
        parts = [f"blad {issue.sheet}"]
        parts += [f"rad {issue.row}"] if issue.row else []
        parts += [f"kolumn {issue.column}"] if issue.column else []
        return ", ".join(parts)
    return f"{issue.file}:{issue.line}" if issue.line else str(issue.file or "")


def _print(issues: list[ImportIssue], style: str) -> None:
    for issue in issues:
        prefix = "varning: " if issue.severity == "warning" else ""
        err.print(
            f"{_where(issue)}: {prefix}{issue.message}",
            style=style,
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command("import")
def import_file(
    file: Path = typer.Argument(
        ..., metavar="FIL", help="En .zip med en kursmapp, eller en .xlsx som utgår från mallen."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Kontrollera bara och visa vad som skulle ändras."
    ),
) -> None:
    """Kontrollera en kursfil och publicera kursen; ingenting sparas om något är fel."""
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_UPLOAD_BYTES + 1)
    except OSError as exc:
        err.print(f"Filen går inte att läsa: {exc.strerror}", style="red", markup=False)
        raise typer.Exit(1) from None
    runtime = Runtime.create()
    try:
        with session_scope(runtime.session_factory) as session:
            plan = import_course(session, file.name, data, runtime.clock.now(), dry_run=dry_run)
            if not dry_run:
                record_audit(
                    session,
                    actor=None,
                    action="courses.import",
                    now=runtime.clock.now(),
                    target=f"course {plan.course}",
                    rows=len(plan.created) + len(plan.changed),
                    detail={"created": plan.created, "changed": plan.changed},
                )
    except CourseImportInvalid as exc:
        _print(exc.plan.warnings, "yellow")
        _print(exc.plan.errors, "red")
        err.print(f"{len(exc.plan.errors)} fel: inget sparades.", style="bold red", markup=False)
        raise typer.Exit(1) from None
    _print(plan.warnings, "yellow")
    labels = (
        ("Nya lektioner", plan.created),
        ("Ändrade lektioner (ny version)", plan.changed),
        ("Oförändrade", plan.unchanged),
        ("Borttagna ur kursen", plan.removed),
    )
    for label, keys in labels:
        if keys:
            out.print(f"{label}: {', '.join(keys)}", markup=False, highlight=False, soft_wrap=True)
    verb = "skulle sparas (provkörning, inget sparat)" if dry_run else "är publicerad"
    out.print(f"Kursen {plan.course} {verb}.", markup=False, highlight=False)


@app.command("export")
def export(
    slug: str = typer.Argument(..., metavar="KORTNAMN", help="Kursens kortnamn."),
    output: Path = typer.Option(..., "-o", "--output", help="FIL.zip eller FIL.xlsx"),
) -> None:
    """Spara en kurs som ZIP- eller Excel-fil (efter filändelsen) för att ändra och läsa in igen."""
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("zip", "xlsx"):
        err.print("Skriv till en fil som slutar på .zip eller .xlsx.", style="red", markup=False)
        raise typer.Exit(1)
    runtime = Runtime.create()
    with session_scope(runtime.session_factory) as session:
        data = export_course(session, slug, "zip" if fmt == "zip" else "xlsx")
    if data is None:
        err.print(
            f"Det finns ingen kurs ”{slug}”. Kontrollera kortnamnet under Kurser i dashboarden.",
            style="red",
            markup=False,
        )
        raise typer.Exit(1)
    output.write_bytes(data)
    err.print(f"Skrev {output} ({len(data)} byte).", markup=False, highlight=False)
