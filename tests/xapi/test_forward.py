from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from app.auth.audit import list_audit
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.xapi.forward import forward_statements
from tests.reports.factory import T0, Factory
from tests.xapi.conftest import XapiScenario
from tests.xapi.lrs_standin import StandInLrs

# Well after every row of the scenario, so the two-minute lag holds nothing back.
NOW = T0 + timedelta(days=60)


@pytest.fixture
def lrs_runtime(runtime: Runtime, lrs: StandInLrs) -> Runtime:
    settings = runtime.settings.model_copy(
        update={
            "lrs_url": lrs.url,
            "lrs_username": lrs.username,
            "lrs_password": SecretStr(lrs.password),
            "lrs_batch_size": 3,
            "lrs_retry_seconds": 0.01,
        }
    )
    return Runtime(settings, runtime.engine, runtime.session_factory, FakeClock(NOW))


def test_forwards_everything_once_after_a_503(
    lrs_runtime: Runtime, lrs: StandInLrs, session: Session, xapi_scenario: XapiScenario
) -> None:
    lrs.fail_first = 1
    report = forward_statements(lrs_runtime, NOW)
    assert (report.sent, report.failed, report.batches, report.stopped) == (9, 0, 3, "")
    assert len(lrs.stored) == 9 and lrs.invalid == []
    assert lrs.requests == 4  # the 503, then three batches of three
    entries = list_audit(session, action="xapi.")
    assert [e.action for e in entries] == ["xapi.forwarded"] * 3
    assert sum(e.rows or 0 for e in entries) == 9

    # Run again: the cursor holds, nothing is sent twice.
    again = forward_statements(lrs_runtime, NOW)
    assert (again.sent, lrs.requests) == (0, 4)


def test_sends_only_what_is_new(
    lrs_runtime: Runtime, lrs: StandInLrs, session: Session, xapi_scenario: XapiScenario
) -> None:
    forward_statements(lrs_runtime, NOW)
    f = Factory(session)
    course, (lesson,) = f.course("ny", lessons=1)
    person = f.employee("Nils", "Nyman", "Ekonomi")
    delivery = f.delivery(f.enroll(f.campaign(course, "Ny"), person), lesson)
    answer = f.answer(delivery, lesson, correct=True)
    answer.answered_at = NOW - timedelta(minutes=10)
    session.commit()
    # Answered one lesson of one: an answer and a completion.
    report = forward_statements(lrs_runtime, NOW)
    assert report.sent == 2 and len(lrs.stored) == 11


def test_leaves_the_last_minutes_for_the_next_run(
    lrs_runtime: Runtime, lrs: StandInLrs, session: Session, xapi_scenario: XapiScenario
) -> None:
    early = T0 + timedelta(days=2, minutes=11)  # between Anna's first and last statements
    first = forward_statements(lrs_runtime, early)
    later = forward_statements(lrs_runtime, NOW)
    assert 0 < first.sent < 9 and first.sent + later.sent == 9
    assert len(lrs.stored) == 9


def test_a_refused_statement_is_marked_failed_not_retried(
    lrs_runtime: Runtime, lrs: StandInLrs, session: Session, xapi_scenario: XapiScenario
) -> None:
    from app.xapi.ids import Identity
    from app.xapi.sources import Window
    from app.xapi.stream import statements

    ident = Identity.from_settings(lrs_runtime.settings)
    bad = list(statements(session, Window(), ident))[4]["id"]
    lrs.refuse_ids = {bad}
    report = forward_statements(lrs_runtime, NOW)
    assert (report.sent, report.failed) == (8, 1)
    assert bad not in lrs.stored and len(lrs.stored) == 8
    [failed] = list_audit(session, action="xapi.failed")
    assert failed.detail["failed_ids"] == [bad] and failed.detail["status"] == 400
    requests = lrs.requests
    assert forward_statements(lrs_runtime, NOW).sent == 0
    assert lrs.requests == requests


def test_wrong_credentials_mark_nothing(
    lrs_runtime: Runtime, lrs: StandInLrs, session: Session, xapi_scenario: XapiScenario
) -> None:
    lrs.status_override = 401
    report = forward_statements(lrs_runtime, NOW)
    assert report.sent == 0 and report.stopped.startswith("401")
    assert list_audit(session, action="xapi.") == []
    lrs.status_override = None
    assert forward_statements(lrs_runtime, NOW).sent == 9


def test_an_lrs_that_stays_down_stops_the_run(
    lrs_runtime: Runtime, lrs: StandInLrs, session: Session, xapi_scenario: XapiScenario
) -> None:
    lrs.fail_first = 100
    report = forward_statements(lrs_runtime, NOW)
    assert report.sent == 0 and "5 attempts" in report.stopped
    assert lrs.requests == 5
    assert list_audit(session, action="xapi.") == []


def test_off_without_settings(runtime: Runtime, xapi_scenario: XapiScenario) -> None:
    assert forward_statements(runtime, NOW).batches == 0
