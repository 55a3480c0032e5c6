"""A small campaign whose statements are known by heart, and the stand-in LRS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from app.tracking.models import EventKind
from tests.reports.factory import T0, Factory
from tests.xapi.lrs_standin import StandInLrs

HOME = "http://testserver"


@dataclass(frozen=True)
class XapiScenario:
    campaign_id: int
    other_campaign_id: int
    anna_id: int
    dora_id: int


@pytest.fixture
def xapi_scenario(session: Session) -> XapiScenario:
    f = Factory(session)
    course, (l1, l2) = f.course("radikalisering", lessons=2)
    campaign, other = f.campaign(course), f.campaign(course, "Hösten 2026")

    # Anna: reads lesson 1, answers both (lesson 2 wrong, then right), masters lesson 1.
    anna = f.employee("Anna", "Andersson", "Ekonomi")
    e = f.enroll(campaign, anna)
    d1, d2 = f.delivery(e, l1), f.delivery(e, l2)
    f.event(d1, EventKind.view)
    f.event(d2, EventKind.view, human=False)  # a mail scanner: no statement
    f.event(d2, EventKind.answer_click)  # not a view: no statement
    f.answer(d1, l1, correct=True)
    f.answer(d2, l2, correct=False)
    f.answer(d2, l2, correct=True, minutes=20, attempt=2)
    f.card(e, l1, mastered_at=T0 + timedelta(days=30))
    f.card(e, l2)

    # Bertil: reads and answers lesson 1 only: not completed.
    bertil = f.employee("Bertil", "Berg", "Ekonomi")
    e = f.enroll(campaign, bertil)
    d = f.delivery(e, l1)
    f.event(d, EventKind.view)
    f.answer(d, l1, correct=True)

    # Dora was erased: nothing of hers goes out any more.
    dora = f.employee("Dora", "Dahl", "Ekonomi", erased=True)
    e = f.enroll(campaign, dora)
    d = f.delivery(e, l1)
    f.event(d, EventKind.view)
    f.answer(d, l1, correct=True)

    # Anna's other campaign: not in this campaign's statements.
    e = f.enroll(other, anna)
    f.answer(f.delivery(e, l1), l1, correct=False)

    session.commit()
    return XapiScenario(campaign.id, other.id, anna.id, dora.id)


@pytest.fixture
def lrs() -> Iterator[StandInLrs]:
    server = StandInLrs(home_page=HOME).start()
    yield server
    server.stop()
