"""The four numbers at the top of a campaign: who takes part, who answers, what sticks."""

from __future__ import annotations

from dataclasses import dataclass

from app.dashboard.formatting import number, percent, percent_value
from app.learning.schemas import LearningReport
from app.reports.figures import CampaignFigures


@dataclass(frozen=True)
class KeyFigure:
    label: str
    value: str
    note: str


def key_figures(
    report: LearningReport, totals: CampaignFigures, retire_after: int
) -> list[KeyFigure]:
    funnel = {s.step: s.count for s in report.funnel}
    sent, answered = funnel.get("sent", 0), funnel.get("answered", 0)
    opted_out = totals.opted_out
    retention = report.retention
    if retention.actual is None:
        goal = "Ingen har svarat på en repetition än."
    else:
        reached = percent_value(retention.actual) >= percent_value(retention.target)
        goal = f"Målet är {percent(retention.target)}" + (
            " och nås." if reached else ", det nås inte än."
        )
    return [
        KeyFigure(
            "Deltagare",
            number(totals.enrolled),
            (
                f"{number(opted_out)} har avslutat utskicken."
                if opted_out
                else "Ingen har avslutat utskicken."
            )
            + (
                f" {number(totals.emails_bounced)} e-brev studsade (adressen nådde ingen)."
                if totals.emails_bounced
                else ""
            ),
        ),
        KeyFigure(
            "Svarsfrekvens",
            percent(answered / sent) if sent else percent(None),
            f"{number(answered)} av {number(sent)} skickade frågor (med repetitioner) "
            "har fått svar.",
        ),
        KeyFigure("Rätt vid repetition", percent(retention.actual), goal),
        KeyFigure(
            "Inlärda frågor",
            percent(report.completion_overall.score),
            f"Rätt {retire_after} gånger i rad när frågan kom tillbaka.",
        ),
    ]
