from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.core.groups import OTHER_GROUPS
from app.reports.groups import department_rows, lesson_rows
from app.reports.summary import campaign_summary
from tests.reports.conftest import Scenario

# (department, employees, sent, viewed, answered, right first, opted out, completed, %)
EKONOMI = ("Ekonomi", 4, 8, 5, 4, 3, 0, 0, 19)  # 3 answers in the course of 4 × 4 lessons
SOCIAL = ("Socialtjänst", 2, 4, 2, 2, 2, 1, 0, 25)
BOTH = (OTHER_GROUPS, 6, 12, 7, 6, 5, 1, 0, 21)


def _figures(session: Session, campaign_id: int, min_group: int) -> list[tuple[object, ...]]:
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    return [
        (
            r.department,
            r.employees,
            r.lessons_sent,
            r.lessons_viewed,
            r.questions_answered,
            r.correct_first_attempt,
            r.opted_out,
            r.completed_course,
            r.completion_pct,
        )
        for r in department_rows(session, campaign, min_group)
    ]


def test_departments_at_or_above_the_threshold_stand_alone(
    session: Session, scenario: Scenario
) -> None:
    assert _figures(session, scenario.campaign_id, 2) == [EKONOMI, SOCIAL]


def test_a_small_department_merges_with_the_smallest_shown_one(
    session: Session, scenario: Scenario
) -> None:
    # Socialtjänst (2) alone in "Övriga" could be found as the total minus Ekonomi.
    assert _figures(session, scenario.campaign_id, 3) == [BOTH]
    assert _figures(session, scenario.campaign_id, 5) == [BOTH]


def test_a_campaign_smaller_than_the_threshold_shows_only_its_head_count(
    session: Session, scenario: Scenario
) -> None:
    campaign = session.get(Campaign, scenario.campaign_id)
    assert campaign is not None
    [row] = department_rows(session, campaign, 7)
    assert (row.department, row.employees, row.merged, row.withheld) == (OTHER_GROUPS, 6, 2, True)
    assert row.lessons_sent is None and row.completion_pct is None


def test_lessons(session: Session, scenario: Scenario) -> None:
    campaign = session.get(Campaign, scenario.campaign_id)
    assert campaign is not None
    rows = [
        (r.position, r.sent, r.viewed, r.answered, r.correct_first_attempt, r.correct_first_pct)
        for r in lesson_rows(session, campaign)
    ]
    # Lesson 2 counts Dora's human click and Erik's review answer in that e-mail as read;
    # the lesson no longer in the course is left out.
    assert rows == [
        (1, 5, 3, 3, 2, 67),
        (2, 5, 3, 2, 2, 100),
        (3, 1, 0, 0, 0, None),
        (4, 0, 0, 0, 0, None),
    ]


def test_summary(session: Session, scenario: Scenario) -> None:
    campaign = session.get(Campaign, scenario.campaign_id)
    assert campaign is not None
    summary = campaign_summary(session, campaign)
    assert (summary.enrolled, summary.opted_out, summary.lessons_sent) == (6, 1, 12)
    assert (summary.questions_answered, summary.completion_pct, summary.completed_course) == (
        6,
        21,
        0,
    )
    assert summary.retention_target == pytest.approx(0.9)
    assert summary.retention_actual is None and summary.review_cards == 0


def test_summary_retention_is_the_learning_reports(session: Session) -> None:
    from app.reports.learning import accuracy_by_repetition, retention
    from tests.reports.factory import Factory

    f = Factory(session)
    course, (l1, l2) = f.course("minne", lessons=2)
    campaign = f.campaign(course)
    for n in range(3):
        e = f.enroll(campaign, f.employee(f"P{n}", "Minne", "Ekonomi"))
        first = f.delivery(e, l1)
        card = f.card(e, l1)
        f.review_log(card, f.answer(first, l1, correct=True), 0)
        review = f.delivery(e, l2, reviews=(l1,))
        f.review_log(card, f.answer(review, l1, correct=n > 0, review=True), 1)
        if n == 2:  # a second review, in a review-only e-mail
            again = f.delivery(e, None, reviews=(l1,))
            f.review_log(card, f.answer(again, l1, correct=True, review=True), 2)
    session.commit()
    summary = campaign_summary(session, campaign)
    kept = retention(session, campaign)
    rates = [r.rate for r in accuracy_by_repetition(session, campaign.id)]
    assert (summary.retention_actual, summary.retention_reviews) == (kept.actual, kept.reviews)
    assert summary.retention_actual == 0.75
    assert (
        [
            summary.accuracy_first_answer,
            summary.accuracy_review_1,
            summary.accuracy_review_2,
            summary.accuracy_review_3,
        ]
        == rates
        == [1.0, 0.6667, 1.0, None]
    )


def test_counts_summed_from_rows_match_the_query(session: Session, scenario: Scenario) -> None:
    from app.reports.groups import department_totals
    from app.reports.service import completion_rows
    from app.reports.summary import CampaignCounts

    campaign = session.get(Campaign, scenario.campaign_id)
    assert campaign is not None
    people, departments = CampaignCounts(), CampaignCounts()
    for row in completion_rows(session, campaign.id):
        people.add_person(row, 4)
    for group in department_totals(session, campaign):
        departments.add_department(group)
    queried = campaign_summary(session, campaign)
    assert campaign_summary(session, campaign, people) == queried
    assert campaign_summary(session, campaign, departments) == queried
