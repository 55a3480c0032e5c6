from __future__ import annotations

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from app.campaigns.service import get_campaign
from app.core.errors import ProblemError
from app.reports.figures import campaign_figures
from app.reports.service import (
    CompletionRow,
    completion_pct,
    completion_rows,
)
from tests.reports.conftest import EXPECTED, OPTED_OUT_AT, Scenario


def _numbers(row: CompletionRow) -> tuple[object, ...]:
    return (
        row.name,
        row.email,
        row.department,
        row.employee_number,
        row.lessons_sent,
        row.lessons_viewed,
        row.questions_answered,
        row.correct_first_attempt,
        row.opted_out,
        row.completion_pct,
    )


def test_rows_follow_the_definitions(session: Session, scenario: Scenario) -> None:
    rows = list(completion_rows(session, scenario.campaign_id))
    assert [_numbers(r) for r in rows] == EXPECTED
    opted_out = {r.name: r.opted_out_at for r in rows}
    assert opted_out["Cecilia Ceder"] == OPTED_OUT_AT
    assert opted_out["Anna Andersson"] is None


def test_other_campaigns_do_not_leak(session: Session, scenario: Scenario) -> None:
    [anna] = completion_rows(session, scenario.other_campaign_id)
    assert _numbers(anna)[4:] == (1, 1, 1, 1, False, 25)


def test_a_course_without_lessons_completes_zero(session: Session, scenario: Scenario) -> None:
    [fredrik] = completion_rows(session, scenario.empty_campaign_id)
    assert (fredrik.name, fredrik.lessons_sent, fredrik.completion_pct) == ("Fredrik Fors", 0, 0)


def test_query_count_does_not_grow_with_employees(
    session: Session, engine: Engine, scenario: Scenario
) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert len(list(completion_rows(session, scenario.campaign_id))) == 6
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The campaign, its lesson count, and one query for all rows.
    assert len(statements) == 3


def test_totals(session: Session, scenario: Scenario) -> None:
    figures = campaign_figures(session, scenario.campaign_id)
    assert (figures.enrolled, figures.lessons_sent, figures.questions_answered) == (6, 12, 6)
    assert figures.opted_out == 1
    nothing = campaign_figures(session, 999_999)
    assert (nothing.enrolled, nothing.lessons_sent, nothing.questions_answered) == (0, 0, 0)


@pytest.mark.parametrize(
    ("answered", "lessons", "pct"),
    [(0, 0, 0), (3, 0, 0), (0, 4, 0), (1, 8, 13), (1, 3, 33), (2, 3, 67), (12, 12, 100)],
)
def test_completion_pct_rounds_half_up(answered: int, lessons: int, pct: int) -> None:
    assert completion_pct(answered, lessons) == pct


def test_unknown_campaign_is_404_naming_the_parameter(session: Session) -> None:
    with pytest.raises(ProblemError) as raised:
        completion_rows(session, 424242)
    assert raised.value.status == 404
    assert "campaign" in raised.value.detail
    with pytest.raises(ProblemError):
        get_campaign(session, 424242, parameter="campaign")
