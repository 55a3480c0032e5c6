"""The monthly progress e-mail to a campaign's owners: text and HTML, the XLSX attached."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from app.learning.schemas import FunnelStep, Retention
from app.reports.groups import DepartmentRow
from app.reports.monthly_figures import MonthActivity
from app.reports.schemas import ReportCampaign

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
FUNNEL_LABELS = {
    "sent": "Frågor skickade",
    "viewed": "Lästa",
    "answered": "Besvarade (med repetitioner)",
    "correct": "Rätt första försöket",
    "retired": "Inlärda (klara med repetitionerna)",
}
CHANGE_LABELS = (
    ("enrolled", "Nya deltagare"),
    ("lessons_sent", "Lektioner skickade"),
    ("answered", "Svar (med repetitioner)"),
    ("correct", "Rätt svar"),
    ("mastered", "Inlärda frågor"),
    ("completed", "Genomförde hela kursen"),
    ("opted_out", "Avanmälde sig"),
)

Table = tuple[tuple[str, ...], Sequence[tuple[str, ...]]]


@dataclass(frozen=True)
class MonthlyContent:
    campaign: ReportCampaign
    covers: str  # "januari 2026": the month that ended
    before: str  # "december 2025"
    funnel: list[FunnelStep]
    last_month: MonthActivity
    month_before: MonthActivity
    departments: list[DepartmentRow]
    retention: Retention
    min_group: int


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def _change(now: int, then: int) -> str:
    return f"{now - then:+d}" if now != then else "±0"


def tables(c: MonthlyContent) -> list[tuple[str, Table]]:
    """The e-mail's sections as (heading, (header, rows)), shared by the text and HTML parts."""
    funnel = [(FUNNEL_LABELS.get(s.step, s.step), str(s.count)) for s in c.funnel]
    changes = [
        (
            label,
            str(getattr(c.last_month, key)),
            str(getattr(c.month_before, key)),
            _change(getattr(c.last_month, key), getattr(c.month_before, key)),
        )
        for key, label in CHANGE_LABELS
    ]
    departments = [
        (
            d.department,
            str(d.employees),
            "–" if d.completion_pct is None else f"{d.completion_pct} %",
        )
        for d in c.departments
    ]
    r = c.retention
    retention = [
        ("Rätt på repetitionerna", _pct(r.actual)),
        ("Mål", _pct(r.target)),
        ("Repetitioner besvarade", str(r.reviews)),
    ]
    return [
        ("Hittills: från skickad fråga till inlärd", (("Steg", "Antal"), funnel)),
        (
            f"Förändring: {c.covers} jämfört med {c.before}",
            (("", c.covers.capitalize(), c.before.capitalize(), "Förändring"), changes),
        ),
        ("Genomförande per förvaltning", (("Förvaltning", "Anställda", "Genomfört"), departments)),
        ("Minns de? Retention", (("", "Värde"), retention)),
    ]


def _intro(c: MonthlyContent) -> str:
    return f"Månadsrapport för kampanjen {c.campaign.name} ({c.campaign.course_title}), {c.covers}."


def _footnote(c: MonthlyContent) -> str:
    return (
        "Bifogat: genomförande per förvaltning och kampanjens sammanfattning (Excel). "
        f"Förvaltningar med färre än {c.min_group} personer redovisas tillsammans, "
        "så att ingen kan pekas ut."
    )


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    # Labels left, numbers right, so the columns line up in a fixed-width font.
    every = [header, *rows]
    widths = [max(len(row[i]) for row in every) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in every
    ]


def text_body(c: MonthlyContent) -> str:
    lines = [_intro(c), ""]
    for heading, (header, rows) in tables(c):
        lines += [heading, "-" * len(heading), *_text_table(header, rows), ""]
    return "\n".join([*lines, _footnote(c), ""])


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th align='left'>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        "<table cellpadding='4' cellspacing='0' border='1' style='border-collapse:collapse'>"
        f"<tr>{head}</tr>{body}</table>"
    )


def html_body(c: MonthlyContent) -> str:
    parts = [f"<p>{html.escape(_intro(c))}</p>"]
    for heading, (header, rows) in tables(c):
        parts += [f"<h3>{html.escape(heading)}</h3>", _html_table(header, rows)]
    parts.append(f"<p>{html.escape(_footnote(c))}</p>")
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


def build_message(
    content: MonthlyContent,
    *,
    sender: str,
    owners: Sequence[str],
    message_id: str,
    now: datetime,
    attachment: bytes,
    filename: str,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"Månadsrapport {content.covers}: {content.campaign.name}"
    message["From"] = sender
    message["To"] = ", ".join(owners)
    message["Date"] = format_datetime(now)
    # The same id for the same campaign and month: a repeated send folds into one message.
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text_body(content))
    message.add_alternative(html_body(content), subtype="html")
    message.add_attachment(
        attachment, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=filename
    )
    return message
