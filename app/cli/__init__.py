"""The `nanolearn` command: serve, worker, migrate, lessons, employees, apikey, report.

Everything it prints is Swedish, as is every help text (tests/core/test_cli_language.py checks
the help of every command); machine-readable output (JSON, CSV) keeps its keys."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import typer
from rich.console import Console

from app.auth.cli import app as apikey_app
from app.cli.campaigns import app as campaigns_app
from app.cli.courses import app as courses_app
from app.cli.swedish import use_swedish
from app.core.config import Settings, base_url_problem, get_settings
from app.core.runtime import Runtime, tune_gc_for_serving
from app.employees.cli import app as employees_app
from app.learning.cli import app as learning_app
from app.lessons.cli import app as lessons_app
from app.privacy.cli import app as privacy_app
from app.privacy.cli import erase, export
from app.reports.cli import app as report_app
from app.reports.learning_cli import report_learning

use_swedish()
cli = typer.Typer(
    name="nanolearn",
    help="Nanolearn: korta lektioner via e-post till alla anställda.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.add_typer(lessons_app, name="lessons")
cli.add_typer(courses_app, name="courses")
cli.add_typer(employees_app, name="employees")
cli.add_typer(campaigns_app, name="campaigns")
cli.add_typer(apikey_app, name="apikey")
report_app.command("learning")(report_learning)
# The GDPR requests about one person sit with the other staff commands.
employees_app.command("erase")(erase)
employees_app.command("export")(export)
cli.add_typer(report_app, name="report")
cli.add_typer(learning_app, name="learning")
cli.add_typer(privacy_app, name="privacy")

console = Console(stderr=True)
log = logging.getLogger(__name__)


def _checked_settings(host: str | None = None, port: int | None = None) -> Settings:
    """The settings for this process, refusing a BASE_URL no recipient of an e-mail can open."""
    settings = get_settings().serving(host, port)
    problem = base_url_problem(settings)
    if problem:
        console.print(f"[red]{problem}[/]", soft_wrap=True)
        raise typer.Exit(2)
    return settings


def _logging() -> None:
    from app.core.logging import configure_logging

    configure_logging()  # JSON lines; addresses hashed, tokens stripped


@cli.command()
def migrate() -> None:
    """Uppdatera databasen till den senaste strukturen (går bra att köra flera gånger)."""
    from app.core.migrate import upgrade

    runtime = Runtime.create()
    upgrade(runtime.engine)
    console.print(f"[green]Databasen är uppdaterad[/] ({runtime.engine.url.render_as_string()})")


@cli.command()
def serve(
    host: str | None = typer.Option(None, help="Adressen att lyssna på (annars NANOLEARN_HOST)."),
    port: int | None = typer.Option(None, help="Porten (annars NANOLEARN_PORT)."),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="Antal serverprocesser (se README, avsnittet om serve --workers). Med fler än en "
        "körs jobben i en egen process bredvid.",
    ),
) -> None:
    """Starta API:t och schemaläggaren (och testinkorgen när SMTP_URL pekar på den)."""
    import uvicorn

    from app.main import create_app

    settings = _checked_settings(host, port)
    _logging()
    runtime = Runtime.create(settings)
    settings.secret()  # make or check the key before anything is sent
    _sync_lessons(runtime)
    log.info("serving on %s; links in e-mails start with %s", settings.host, settings.base_url)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "log_config": None,  # keep our JSON formatter for uvicorn's own logs
    }
    if workers == 1:
        # No access log: it would carry the tokens in lesson links.
        app = create_app(runtime, background=True)
        tune_gc_for_serving()
        uvicorn.run(app, access_log=False, **options)
        return
    _serve_workers(settings, workers, options)


def _serve_workers(settings: Settings, workers: int, options: dict[str, Any]) -> None:
    """N serving processes (uvicorn's supervisor) and one process for the jobs; they read
    their settings from the environment, so what this command decided is put there."""
    import multiprocessing
    import os

    import uvicorn

    from app.worker import serve_background

    os.environ["NANOLEARN_HOST"] = settings.host
    os.environ["NANOLEARN_PORT"] = str(settings.port)
    os.environ["NANOLEARN_BASE_URL"] = settings.base_url
    jobs = multiprocessing.get_context("spawn").Process(target=serve_background, name="jobs")
    jobs.start()
    try:
        uvicorn.run(
            "app.main:serving_app", factory=True, workers=workers, access_log=False, **options
        )
    finally:
        jobs.terminate()  # SIGTERM: the batch being sent is finished and recorded first
        jobs.join(timeout=40)


@cli.command()
def worker() -> None:
    """Starta bara schemaläggaren: planera och skicka mejl. Flera kan köras mot PostgreSQL."""
    from app.worker import run_worker

    settings = _checked_settings()
    _logging()
    runtime = Runtime.create(settings)
    settings.secret()
    asyncio.run(run_worker(runtime))


def _sync_lessons(runtime: Runtime) -> None:
    """Load lesson files at startup; broken files are reported and the last good version kept."""
    from app.core.db import session_scope
    from app.lessons.service import LessonsInvalid, sync_from_settings

    if not runtime.settings.lessons_dir.exists():
        return
    try:
        with session_scope(runtime.session_factory) as session:
            sync_from_settings(session, runtime.settings, runtime.clock.now())
    except LessonsInvalid as exc:
        console.print(
            "[yellow]Lektionerna lästes inte in; databasen behåller den senaste fungerande "
            f"versionen:[/] {exc.detail}"
        )
        console.print("Se felen med: nanolearn lessons check")


@cli.command()
def simulate(
    course: str = typer.Option("radikalisering", help="Kursens kortnamn (mappen i lessons/)."),
    learners: int = typer.Option(1000, min=1, help="Antal påhittade deltagare."),
    weeks: int = typer.Option(26, min=1, help="Kampanjens längd i veckor."),
    schedule: str = typer.Option(
        "tue,thu@08:00", help="Utskicksdagar och tid, t.ex. mon,wed,fri@09:00."
    ),
    seed: int = typer.Option(1, help="Slumpfrö: samma frö ger samma deltagare."),
) -> None:
    """Spela upp en kampanj med påhittade deltagare: FSRS-repetitioner jämfört med inga."""
    from rich.progress import Progress, TaskID
    from rich.table import Table

    from app.simulate import run_arm

    days, _, at = schedule.partition("@")
    weekdays = [d.strip().lower() for d in days.split(",") if d.strip()]
    settings = Runtime.create().settings
    results = []
    with Progress(console=console) as progress:
        for name, reviews in (("FSRS-repetitioner", 1), ("inga repetitioner", 0)):
            task = progress.add_task(name, total=len(weekdays) * weeks)

            def advance(done: int, _total: int, task: TaskID = task) -> None:
                progress.update(task, completed=done)

            results.append(
                run_arm(
                    name,
                    course=course,
                    learners=learners,
                    weeks=weeks,
                    weekdays=weekdays,
                    at=at or "08:00",
                    max_reviews=reviews,
                    seed=seed,
                    lessons_dir=settings.lessons_dir,
                    progress=advance,
                )
            )
    table = Table(title=f"{learners} deltagare, {weeks} veckor, {schedule}", title_justify="left")
    for column in (
        "",
        "mejl",
        "per deltagare och vecka",
        "flest en vecka",
        "repetitioner per lektion",
        "minns i slutet",
        "",
    ):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.name,
            str(r.emails),
            f"{r.emails_per_learner_week:.2f}",
            f"{r.max_per_week} (utskickstider: {r.slots_per_week})",
            f"{r.reviews_per_lesson:.2f}",
            f"{r.expected_recall:.0%}",
            "█" * round(r.expected_recall * 40),
        )
    console.print(table)
    if any(r.max_per_week > r.slots_per_week for r in results):
        console.print("[red]En deltagare fick fler mejl på en vecka än det finns utskickstider.[/]")
        raise typer.Exit(1)


def main() -> None:
    cli()
