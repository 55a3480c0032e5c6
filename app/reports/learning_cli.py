"""`nanolearn report learning`: the learning report in the terminal (bar charts), JSON or CSV.

The terminal tables are in Swedish; JSON and CSV keep the API's keys and labels."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from app.campaigns.service import get_campaign
from app.core.db import session_scope
from app.core.errors import ProblemError
from app.core.runtime import Runtime
from app.learning.schemas import LearningReport, Rate
from app.reports.export import guard_formula
from app.reports.learning import learning_report, report_rows
from app.reports.monthly_mail import FUNNEL_LABELS

out = Console()
err = Console(stderr=True)


REPETITIONS = ("Första svaret", "1:a repetitionen", "2:a repetitionen", "3:e repetitionen")
FLAGS = {"too_easy": "för lätt", "confusing": "förvirrande"}


class LearningFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _bar(rate: float | None, width: int = 30) -> str:
    if rate is None:
        return ""
    filled = round(rate * width)
    return "█" * filled + "░" * (width - filled)


def _rates_table(
    title: str, rates: list[Rate], labels: tuple[str, ...] = (), target: float | None = None
) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("", "svar", "rätt", ""):
        table.add_column(column)
    for i, r in enumerate(rates):
        share = f"{r.rate:.0%}" if r.rate is not None else "–"
        note = " (få svar)" if r.small_sample and r.n else ""
        label = labels[i] if i < len(labels) else r.label
        table.add_row(label, str(r.n), share + note, _bar(r.rate))
    if target is not None:
        table.caption = f"mål för hur många som minns: {target:.0%} {_bar(target)}"
    return table


def print_report(report: LearningReport) -> None:
    out.print(
        _rates_table("Rätt svar vid varje repetition", report.accuracy_by_repetition, REPETITIONS)
    )
    days = tuple(f"{r.label} dagar" for r in report.forgetting_curve)
    out.print(
        _rates_table(
            "Glömskekurvan: rätt svar efter dagar sedan förra svaret",
            report.forgetting_curve,
            days,
            report.retention.target,
        )
    )
    actual, retention = report.retention.actual, report.retention
    out.print(
        f"Minns: {actual:.0%} rätt av {retention.reviews} repetitioner (mål {retention.target:.0%})"
        if actual is not None
        else "Minns: inga repetitioner besvarade ännu"
    )
    funnel = Table(title="Från utskick till kunskap", title_justify="left")
    funnel.add_column("steg")
    funnel.add_column("antal", justify="right")
    funnel.add_column("")
    top = max((s.count for s in report.funnel), default=0) or 1
    for step in report.funnel:
        funnel.add_row(
            FUNNEL_LABELS.get(step.step, step.step), str(step.count), _bar(step.count / top)
        )
    out.print(funnel)
    departments = Table(
        title="Genomförande per förvaltning (andel inlärda frågor)", title_justify="left"
    )
    for column in ("förvaltning", "anställda", "andel", ""):
        departments.add_column(column)
    for c in report.completion_by_department:
        score = (
            "dold (liten grupp)" if c.hidden else (f"{c.score:.0%}" if c.score is not None else "–")
        )
        departments.add_row(c.label, str(c.employees), score, "" if c.hidden else _bar(c.score))
    out.print(departments)
    for q in report.questions:
        if q.flag and q.first_attempt_accuracy is not None:
            what = FLAGS.get(q.flag, q.flag)
            out.print(
                f"[yellow]{q.lesson}[/] {q.title}: {what} "
                f"({q.first_attempt_accuracy:.0%} rätt av {q.n} första gången)"
            )


def report_learning(
    campaign: int = typer.Option(..., "--campaign", "-c", help="Kampanjens id."),
    fmt: LearningFormat = typer.Option(
        LearningFormat.table, "--format", "-f", help="table (diagram i terminalen), json eller csv."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Fil för json/csv; annars skrivs rapporten ut i terminalen."
    ),
) -> None:
    """Fungerar repetitionerna? Rätt svar per repetition, glömskekurva, hur många som minns."""
    runtime = Runtime.create()
    try:
        with session_scope(runtime.session_factory) as session:
            report = learning_report(
                session, get_campaign(session, campaign), runtime.settings.report_min_group_size
            )
    except ProblemError as exc:
        err.print(f"[red]{exc.detail}[/] (se kampanjerna med: nanolearn campaigns list)")
        raise typer.Exit(1) from None
    if fmt is LearningFormat.table:
        print_report(report)
        return
    stream = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        if fmt is LearningFormat.json:
            json.dump(report.model_dump(mode="json"), stream, ensure_ascii=False, indent=2)
        else:
            writer = csv.writer(stream)
            writer.writerow(["section", "label", "n", "value"])
            # Department names come from the staff file: never a live formula in Excel.
            writer.writerows(
                [guard_formula(v) if isinstance(v, str) else v for v in row]
                for row in report_rows(report)
            )
    finally:
        if output:
            stream.close()
            err.print(f"Skrev {output}")
