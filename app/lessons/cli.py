"""`nanolearn lessons check|sync`: check the lesson files and load them into the database."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError, ProgrammingError

from app.core.config import get_settings
from app.core.db import session_scope
from app.core.runtime import Runtime
from app.lessons.loader import LoadResult, load_courses
from app.lessons.service import LessonsInvalid, sync_courses

app = typer.Typer(
    no_args_is_help=True, help="Kontrollera lektionsfilerna och läs in dem i databasen."
)

PATH_HELP = "Lektionsmappen (annars NANOLEARN_LESSONS_DIR, och utan den ./lessons)."


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _print_problems(console: Console, result: LoadResult) -> None:
    for problem in result.problems:
        style = "red" if problem.severity == "error" else "yellow"
        # soft_wrap keeps each problem on one line, so editors can jump to file:line.
        console.print(str(problem), style=style, markup=False, highlight=False, soft_wrap=True)
    errors, warnings = len(result.errors), len(result.warnings)
    console.print(
        f"{_count(result.course_folders, 'kurs', 'kurser')}, "
        f"{_count(result.lesson_files, 'lektion', 'lektioner')}: "
        f"{errors} fel, {_count(warnings, 'varning', 'varningar')}",
        style="bold red" if errors else ("yellow" if warnings else "green"),
        markup=False,
        highlight=False,
    )


@app.command()
def check(
    path: Path | None = typer.Argument(None, metavar="MAPP", help=PATH_HELP, show_default=False),
    strict: bool = typer.Option(False, "--strict", help="Varningar ger också felkod."),
) -> None:
    """Kontrollera alla kurs- och lektionsfiler: skriver fil:rad: problem. Felkod 1 vid fel."""
    result = load_courses(path or get_settings().lessons_dir)
    _print_problems(Console(), result)
    if result.errors or (strict and result.warnings):
        raise typer.Exit(1)


@app.command()
def sync(
    path: Path | None = typer.Argument(None, metavar="MAPP", help=PATH_HELP, show_default=False),
) -> None:
    """Kontrollera lektionsfilerna och läs in dem i databasen; vid fel sparas ingenting."""
    console = Console()
    runtime = Runtime.create()
    result = load_courses(path or runtime.settings.lessons_dir)
    _print_problems(console, result)
    if not result.ok:
        console.print("Inget lästes in: rätta felen ovan först.", style="red", markup=False)
        raise typer.Exit(1)
    try:
        with session_scope(runtime.session_factory) as session:
            report = sync_courses(session, result, runtime.clock.now())
    except LessonsInvalid as exc:
        for problem in exc.problems:
            console.print(str(problem), style="red", markup=False, highlight=False, soft_wrap=True)
        console.print("Inget lästes in.", style="red", markup=False)
        raise typer.Exit(1) from None
    except (OperationalError, ProgrammingError) as exc:
        console.print(
            f"Databasen är inte redo ({type(exc.orig).__name__}): kör 'nanolearn migrate' först.",
            style="red",
            markup=False,
        )
        raise typer.Exit(1) from None
    for line in report.lines() or ["Databasen stämmer redan med filerna: inget ändrades."]:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
