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

app = typer.Typer(no_args_is_help=True, help="Check lesson files and load them into the database.")

PATH_HELP = "The lessons folder (default: NANOLEARN_LESSONS_DIR, else ./lessons)."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _print_problems(console: Console, result: LoadResult) -> None:
    for problem in result.problems:
        style = "red" if problem.severity == "error" else "yellow"
        # soft_wrap keeps each problem on one line, so editors can jump to file:line.
        console.print(str(problem), style=style, markup=False, highlight=False, soft_wrap=True)
    errors, warnings = len(result.errors), len(result.warnings)
    console.print(
        f"{_plural(result.course_folders, 'course')}, {_plural(result.lesson_files, 'lesson')}: "
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}",
        style="bold red" if errors else ("yellow" if warnings else "green"),
        markup=False,
        highlight=False,
    )


@app.command()
def check(
    path: Path | None = typer.Argument(None, help=PATH_HELP, show_default=False),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too."),
) -> None:
    """Check every course and lesson file; prints file:line: problem. Exit code 1 on errors."""
    result = load_courses(path or get_settings().lessons_dir)
    _print_problems(Console(), result)
    if result.errors or (strict and result.warnings):
        raise typer.Exit(1)


@app.command()
def sync(
    path: Path | None = typer.Argument(None, help=PATH_HELP, show_default=False),
) -> None:
    """Check the lesson files and load them into the database; nothing is written on errors."""
    console = Console()
    runtime = Runtime.create()
    result = load_courses(path or runtime.settings.lessons_dir)
    _print_problems(console, result)
    if not result.ok:
        console.print("Nothing was synced: fix the errors above first.", style="red", markup=False)
        raise typer.Exit(1)
    try:
        with session_scope(runtime.session_factory) as session:
            report = sync_courses(session, result, runtime.clock.now())
    except LessonsInvalid as exc:
        for problem in exc.problems:
            console.print(str(problem), style="red", markup=False, highlight=False, soft_wrap=True)
        console.print("Nothing was synced.", style="red", markup=False)
        raise typer.Exit(1) from None
    except (OperationalError, ProgrammingError) as exc:
        console.print(
            f"The database is not ready ({type(exc.orig).__name__}): "
            "run 'nanolearn migrate' first.",
            style="red",
            markup=False,
        )
        raise typer.Exit(1) from None
    for line in report.lines() or ["Database already matches the files: nothing changed."]:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
