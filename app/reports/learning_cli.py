"""`nanolearn report learning`: the learning report in the terminal (bar charts), JSON or CSV."""

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

out = Console()
err = Console(stderr=True)


class LearningFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _bar(rate: float | None, width: int = 30) -> str:
    if rate is None:
        return ""
    filled = round(rate * width)
    return "█" * filled + "░" * (width - filled)


def _rates_table(title: str, rates: list[Rate], target: float | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("", "n", "right", ""):
        table.add_column(column)
    for r in rates:
        share = f"{r.rate:.0%}" if r.rate is not None else "–"
        note = " (few answers)" if r.small_sample and r.n else ""
        table.add_row(r.label, str(r.n), share + note, _bar(r.rate))
    if target is not None:
        table.caption = f"target retention {target:.0%}: {_bar(target)}"
    return table


def print_report(report: LearningReport) -> None:
    out.print(_rates_table("Right answers by repetition", report.accuracy_by_repetition))
    out.print(
        _rates_table(
            "Recall by days since the last answer (forgetting curve)",
            report.forgetting_curve,
            report.retention.target,
        )
    )
    actual = report.retention.actual
    out.print(
        f"Retention: {actual:.0%} of {report.retention.reviews} due reviews right (target {report.retention.target:.0%})"
        if actual is not None
        else "Retention: no reviews answered yet"
    )
    funnel = Table(title="Funnel", title_justify="left")
    funnel.add_column("step")
    funnel.add_column("count", justify="right")
    funnel.add_column("")
    top = max((s.count for s in report.funnel), default=0) or 1
    for step in report.funnel:
        funnel.add_row(step.step, str(step.count), _bar(step.count / top))
    out.print(funnel)
    departments = Table(
        title="Completion (share of questions retired) by department", title_justify="left"
    )
    for column in ("department", "employees", "score", ""):
        departments.add_column(column)
    for c in report.completion_by_department:
        score = (
            "withheld (small group)"
            if c.hidden
            else (f"{c.score:.0%}" if c.score is not None else "–")
        )
        departments.add_row(c.label, str(c.employees), score, "" if c.hidden else _bar(c.score))
    out.print(departments)
    for q in report.questions:
        if q.flag and q.first_attempt_accuracy is not None:
            what = q.flag.replace("_", " ")
            out.print(
                f"[yellow]{q.lesson}[/] {q.title}: {what} ({q.first_attempt_accuracy:.0%} of {q.n} right)"
            )


def report_learning(
    campaign: int = typer.Option(..., "--campaign", "-c", help="The campaign's id."),
    fmt: LearningFormat = typer.Option(
        LearningFormat.table, "--format", "-f", help="table (charts in the terminal), json or csv."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File for json/csv; default standard output."
    ),
) -> None:
    """Does the repetition work? Accuracy by repetition, forgetting curve, retention, funnel."""
    runtime = Runtime.create()
    try:
        with session_scope(runtime.session_factory) as session:
            report = learning_report(
                session, get_campaign(session, campaign), runtime.settings.report_min_group_size
            )
    except ProblemError as exc:
        err.print(f"[red]{exc.detail}[/] (list campaigns with: nanolearn campaigns list)")
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
            err.print(f"Wrote {output}")
