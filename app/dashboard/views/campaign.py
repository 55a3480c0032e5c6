"""One campaign: key figures, the funnel, the learning charts, departments, questions to review
and the downloads. Everything comes from the learning report and the HR report's services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.core.groups import NO_DEPARTMENT
from app.dashboard import charts
from app.dashboard.charts import Share, Step
from app.dashboard.formatting import number, percent
from app.dashboard.views import labels
from app.dashboard.views.download_links import DownloadGroup, download_groups
from app.dashboard.views.key_figures import KeyFigure, key_figures
from app.learning.schemas import Completion, LearningReport, Rate
from app.lessons.models import Course
from app.reports.figures import campaign_figures
from app.reports.learning import (
    CONFUSING,
    MIN_ANSWERS_TO_FLAG,
    SMALL_SAMPLE,
    TOO_EASY,
    learning_report,
)

ACCURACY_LABELS = ("Första\nsvaret", "1:a\nrepetitionen", "2:a\nrepetitionen", "3:e\nrepetitionen")
FUNNEL_LABELS = {
    "sent": "Skickade frågor",
    "viewed": "Öppnade",
    "answered": "Besvarade (med repetitioner)",
    "correct": "Rätt första gången",
    "retired": "Inlärda",
}
FLAGS = {
    "too_easy": ("För lätt", "Nästan alla svarar rätt. Frågan kan göras svårare."),
    "confusing": ("Förvirrande", "Få svarar rätt. Är frågan eller lektionen otydlig?"),
}
FLAG_RULE = (
    f"En fråga flaggas när minst {MIN_ANSWERS_TO_FLAG} har svarat och minst {percent(TOO_EASY)} "
    f"eller högst {percent(CONFUSING)} svarar rätt första gången."
)


@dataclass(frozen=True)
class FigureRow:
    """One line of the table under a chart: the same figures as the chart, as text."""

    label: str
    value: str
    count: str
    note: str


@dataclass(frozen=True)
class DepartmentRow:
    label: str
    employees: str
    score: str
    bar: Markup | None  # None when withheld or empty
    hidden: bool


@dataclass(frozen=True)
class FlaggedQuestion:
    lesson: str
    title: str
    answers: str
    accuracy: str
    verdict: str
    advice: str
    chosen: str


@dataclass(frozen=True)
class CampaignPage:
    id: int
    name: str
    course: str
    status: str
    status_key: str
    period: str
    schedule: str
    next_send: str
    figures: list[KeyFigure]
    funnel: Markup
    funnel_rows: list[FigureRow]
    accuracy: Markup
    accuracy_rows: list[FigureRow]
    forgetting: Markup
    forgetting_rows: list[FigureRow]
    uncertain: bool  # some figure rests on few answers: the page explains the stripes
    small_sample: int
    departments: list[DepartmentRow]
    everyone: DepartmentRow
    min_group: int
    flagged: list[FlaggedQuestion]
    flag_rule: str
    downloads: list[DownloadGroup]


def campaign_page(
    session: Session, campaign: Campaign, now: datetime, min_group: int, csv_separator: str = "auto"
) -> CampaignPage:
    """The campaign's page; `csv_separator` is REPORT_CSV_SEPARATOR, which the CSV button names."""
    report = learning_report(session, campaign, min_group)
    totals = campaign_figures(session, campaign.id)
    course = session.get(Course, campaign.course_id)
    accuracy = _shares(report.accuracy_by_repetition, ACCURACY_LABELS)
    forgetting = _shares(report.forgetting_curve, _day_labels(report.forgetting_curve))
    steps = [Step(FUNNEL_LABELS.get(s.step, s.step), s.count) for s in report.funnel]
    target = report.retention.target
    return CampaignPage(
        id=campaign.id,
        name=campaign.name,
        course=course.title if course is not None else "",
        status=labels.status(campaign),
        status_key=str(campaign.status),
        period=labels.period(campaign.start_date, campaign.end_date),
        schedule=labels.schedule(campaign),
        next_send=labels.next_send(campaign, now),
        figures=key_figures(report, totals, campaign.retire_after),
        funnel=charts.funnel_chart("tratt", "Från utskick till kunskap", steps),
        funnel_rows=_funnel_rows(steps),
        accuracy=charts.bar_chart("repetition", "Rätt svar vid varje repetition", accuracy, target),
        accuracy_rows=[_share_row(s) for s in accuracy],
        forgetting=charts.line_chart(
            "glomska", "Minns de över tid?", forgetting, "Dagar sedan förra svaret", target
        ),
        forgetting_rows=[_share_row(s) for s in forgetting],
        uncertain=any(s.uncertain and s.value is not None for s in [*accuracy, *forgetting]),
        small_sample=SMALL_SAMPLE,
        departments=[_department_row(g) for g in report.completion_by_department],
        everyone=_department_row(
            report.completion_overall.model_copy(update={"label": "Alla deltagare"})
        ),
        min_group=min_group,
        flagged=_flagged(report),
        flag_rule=FLAG_RULE,
        downloads=download_groups(campaign.id, min_group, csv_separator),
    )


def _shares(rates: list[Rate], names: tuple[str, ...]) -> list[Share]:
    return [
        Share(
            label=names[i] if i < len(names) else r.label,
            value=r.rate,
            n=r.n,
            uncertain=r.small_sample,
        )
        for i, r in enumerate(rates)
    ]


def _day_labels(rates: list[Rate]) -> tuple[str, ...]:
    return tuple("över 60" if r.label == "60+" else r.label for r in rates)


def _share_row(share: Share) -> FigureRow:
    few = "Få svar" if share.uncertain and share.value is not None else ""
    return FigureRow(share.label.replace("\n", " "), percent(share.value), number(share.n), few)


def _funnel_rows(steps: list[Step]) -> list[FigureRow]:
    first = steps[0].count if steps else 0
    return [
        FigureRow(s.label, number(s.count), percent(s.count / first) if first else "", "")
        for s in steps
    ]


def _department_row(group: Completion) -> DepartmentRow:
    label = "Ingen förvaltning angiven" if group.label == NO_DEPARTMENT else group.label
    return DepartmentRow(
        label=label,
        employees=number(group.employees),
        score="Visas inte" if group.hidden else percent(group.score),
        bar=None if group.hidden or group.score is None else charts.meter(group.score),
        hidden=group.hidden,
    )


def _flagged(report: LearningReport) -> list[FlaggedQuestion]:
    out = []
    for q in report.questions:
        if q.flag not in FLAGS:
            continue
        verdict, advice = FLAGS[q.flag]
        chosen = " · ".join(f"{chr(ord('A') + i)}\u00a0{number(n)}" for i, n in enumerate(q.chosen))
        out.append(
            FlaggedQuestion(
                lesson=q.lesson,
                title=q.title,
                answers=number(q.n),
                accuracy=percent(q.first_attempt_accuracy),
                verdict=verdict,
                advice=advice,
                chosen=chosen,
            )
        )
    return out
