"""Retention: 24 months after a campaign ends its per-person data goes and its totals stay;
people deactivated 24 months ago are erased. Nothing earlier, nothing running, nothing twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.auth.models import AuditEntry
from app.campaigns.models import Campaign, CampaignStatus, Enrollment
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.employees.models import Employee
from app.learning.models import ReviewCard, ReviewLog
from app.outbox.models import Delivery
from app.privacy.jobs import PURGE_LOCK_KEY, purge_once
from app.privacy.service import campaign_ended_at, months_before, purge_expired
from app.reports.models import CampaignAggregate
from app.tracking.models import Answer, Event
from tests.flow import answer, correct_options, inbox, mail_links, run_slots, sync_lessons, tick
from tests.privacy.scenario import (
    CAMPAIGN,
    employee_id,
    import_staff,
    start_campaign,
)
from tests.privacy.test_erasure import NUMERIC, campaign_counts, report_totals
from tests.smtp_server import SmtpSink

# Campaign A: two slots (Tue 6 and Thu 8 January), ends Friday 9 January in Stockholm.
ENDED = datetime(2026, 1, 9, 23, 0, tzinfo=UTC)
DUE = datetime(2028, 1, 9, 23, 0, tzinfo=UTC)  # 24 months later


@dataclass(frozen=True)
class Setup:
    ended: int  # finished campaign
    running: int
    maria: int  # deactivated on 10 January 2026
    report: dict[str, Any]  # the ended campaign's completion totals
    counts: dict[str, Any]  # the ended campaign's counts
    running_counts: dict[str, Any]


@pytest.fixture
def setup(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    admin_headers: dict[str, str],
) -> Setup:
    sync_lessons(runtime)
    import_staff(client, admin_headers)
    ended = start_campaign(client, admin_headers, end_date="2026-01-09")
    body = CAMPAIGN | {"name": "Våld i nära relationer", "course": "vald-i-nara-relationer"}
    running = client.post("/api/v1/campaigns", json=body, headers=admin_headers).json()["id"]
    client.post(f"/api/v1/campaigns/{running}/start", headers=admin_headers)
    run_slots(runtime, clock, ended, 2)
    right = correct_options(runtime, "radikalisering")
    clock.advance(minutes=30)
    for message in inbox(smtp_sink, "erik.berg@kommun.example"):
        for key in mail_links(message).answers:
            if key in right:
                answer(client, message, key, right[key])
    clock.set(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    tick(runtime)  # the planner sees the end date pass
    maria = employee_id(client, admin_headers, "maria.holm")
    assert client.delete(f"/api/v1/employees/{maria}", headers=admin_headers).status_code == 200
    return Setup(
        ended,
        running,
        maria,
        report_totals(client, admin_headers, ended),
        campaign_counts(client, admin_headers, ended),
        campaign_counts(client, admin_headers, running),
    )


def person_rows(session: Session, campaign_id: int) -> dict[str, int]:
    enrollments = select(Enrollment.id).where(Enrollment.campaign_id == campaign_id)
    deliveries = select(Delivery.id).where(Delivery.campaign_id == campaign_id)
    cards = select(ReviewCard.id).where(ReviewCard.enrollment_id.in_(enrollments))
    queries = {
        "enrollments": select(func.count()).where(Enrollment.campaign_id == campaign_id),
        "deliveries": select(func.count()).where(Delivery.campaign_id == campaign_id),
        "events": select(func.count()).where(Event.delivery_id.in_(deliveries)),
        "answers": select(func.count()).where(Answer.enrollment_id.in_(enrollments)),
        "review_cards": select(func.count()).where(ReviewCard.id.in_(cards)),
        "review_logs": select(func.count()).where(ReviewLog.card_id.in_(cards)),
    }
    session.expire_all()
    return {name: session.scalar(query) or 0 for name, query in queries.items()}


def test_nothing_is_purged_before_24_months(
    setup: Setup, runtime: Runtime, session: Session
) -> None:
    before = person_rows(session, setup.ended)
    report = purge_expired(session, DUE - timedelta(minutes=1), runtime.settings)
    session.commit()
    assert report.nothing and report.campaigns_ended_before < ENDED
    assert person_rows(session, setup.ended) == before
    purges = select(func.count()).where(AuditEntry.action == "privacy.purge")
    assert session.scalar(purges) == 0


def test_an_ended_campaign_keeps_its_totals_and_loses_its_people(
    setup: Setup,
    runtime: Runtime,
    client: TestClient,
    admin_headers: dict[str, str],
    session: Session,
) -> None:
    before = person_rows(session, setup.ended)
    assert before["answers"] and before["review_logs"] and before["events"]
    now = DUE + timedelta(days=2)

    dry = purge_expired(session, now, runtime.settings, dry_run=True)
    session.commit()
    assert (dry.campaigns, dry.employees_erased) == ([setup.ended], [setup.maria])
    assert dry.deleted == before
    assert person_rows(session, setup.ended) == before  # a dry run deletes nothing
    assert session.get(CampaignAggregate, setup.ended) is None

    report = purge_expired(session, now, runtime.settings)
    session.commit()

    assert (report.campaigns, report.deleted) == ([setup.ended], before)
    assert set(person_rows(session, setup.ended).values()) == {0}
    kept = session.get(CampaignAggregate, setup.ended)
    assert kept is not None and kept.purged_at == now
    assert (kept.enrolled, kept.opted_out) == (setup.counts["enrolled"], setup.counts["opted_out"])
    assert (kept.emails_sent, kept.emails_failed, kept.emails_answered) == (
        setup.counts["sent"],
        setup.counts["failed"],
        setup.counts["answered"],
    )
    assert {name: getattr(kept, name) for name in NUMERIC} == {
        name: setup.report[name] for name in NUMERIC
    }
    assert setup.report["questions_answered"] >= 1
    # The running campaign is untouched, apart from Maria's identity.
    assert campaign_counts(client, admin_headers, setup.running) == setup.running_counts
    maria = session.get(Employee, setup.maria)
    assert maria is not None and maria.erased_at == now and maria.email is None
    purge = session.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.purge"))
    assert purge is not None and purge.detail["campaigns"] == [setup.ended]
    assert purge.actor.startswith("system")
    # The next night finds nothing left to do.
    assert purge_expired(session, now + timedelta(days=1), runtime.settings).nothing


def test_the_nightly_job_runs_the_purge_in_one_process_at_a_time(
    setup: Setup, runtime: Runtime, clock: FakeClock, session: Session
) -> None:
    clock.set(DUE + timedelta(hours=3))
    if session.get_bind().dialect.name == "postgresql":
        with runtime.session_factory() as other:
            other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PURGE_LOCK_KEY})
            assert purge_once(runtime) is None  # another process holds the purge
            other.rollback()
    report = purge_once(runtime)
    assert report is not None and report.campaigns == [setup.ended]
    assert session.get(CampaignAggregate, setup.ended) is not None


def _campaign(status: CampaignStatus, end: date | None, updated: datetime) -> Campaign:
    return Campaign(status=status, end_date=end, updated_at=updated, timezone="Europe/Stockholm")


def test_when_a_campaign_ends() -> None:
    late = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert campaign_ended_at(_campaign(CampaignStatus.running, date(2026, 1, 9), late)) is None
    assert campaign_ended_at(_campaign(CampaignStatus.paused, None, late)) is None
    assert campaign_ended_at(_campaign(CampaignStatus.cancelled, None, late)) == late
    # Finished after the end date: it ended at midnight after the end date, Stockholm time.
    assert campaign_ended_at(_campaign(CampaignStatus.finished, date(2026, 1, 9), late)) == ENDED
    # Cancelled before its end date: it ended when it was cancelled.
    early = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    assert campaign_ended_at(_campaign(CampaignStatus.cancelled, date(2026, 1, 9), early)) == early


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2028, 1, 9, 23, 0, tzinfo=UTC), 24, ENDED),
        (datetime(2026, 3, 31, 8, 0, tzinfo=UTC), 1, datetime(2026, 2, 28, 8, 0, tzinfo=UTC)),
        (datetime(2028, 3, 31, 8, 0, tzinfo=UTC), 1, datetime(2028, 2, 29, 8, 0, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 13, datetime(2024, 12, 15, tzinfo=UTC)),
    ],
)
def test_months_before_counts_calendar_months(
    moment: datetime, months: int, expected: datetime
) -> None:
    assert months_before(moment, months) == expected
