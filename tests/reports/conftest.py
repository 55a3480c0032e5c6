"""A small hand-built campaign whose report numbers are known by heart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from app.outbox.models import DeliveryStatus
from app.tracking.models import EventKind
from tests.reports.factory import Factory

# 23:30 UTC is already the next day in Stockholm: the report shows the local date.
OPTED_OUT_AT = datetime(2026, 1, 20, 23, 30, tzinfo=UTC)


# (name, e-mail, department, number, sent, viewed, answered, correct first, opted out, %)
# Sorted by last name, the erased last.
EXPECTED = [
    ("Anna Andersson", "anna.andersson@kommun.example", "Ekonomi", "E1", 3, 2, 2, 1, False, 50),
    ("Bertil Berg", "bertil.berg@kommun.example", "Ekonomi", "E2", 2, 0, 0, 0, False, 0),
    ("Cecilia Ceder", "cecilia.ceder@kommun.example", "Socialtjänst", "S1", 2, 1, 1, 1, True, 25),
    ("Erik Ek", "erik.ek@kommun.example", "Ekonomi", "E3", 3, 3, 2, 2, False, 25),
    ("Fredrik Fors", "fredrik.fors@kommun.example", "Ekonomi", "E4", 0, 0, 0, 0, False, 0),
    ("(raderad)", None, "Socialtjänst", None, 2, 1, 1, 1, False, 25),
]


def full_name(cells: Sequence[object]) -> str:
    """ "Anna Andersson" from a report row's Efternamn and Förnamn cells (the first two)."""
    return f"{cells[1] or ''} {cells[0] or ''}".strip()


@dataclass(frozen=True)
class Scenario:
    campaign_id: int
    other_campaign_id: int
    empty_campaign_id: int


@pytest.fixture
def scenario(session: Session) -> Scenario:
    f = Factory(session)
    course, (l1, l2, l3, l4, gone) = f.course("radikalisering", lessons=4, removed=1)
    campaign = f.campaign(course)
    other = f.campaign(course, "Hösten 2026")
    empty_course, _ = f.course("tom", lessons=0)
    empty = f.campaign(empty_course, "Utan lektioner")

    # Anna: wrong, then right on lesson 1 (the right one stored first: time decides, not id).
    anna = f.employee("Anna", "Andersson", "Ekonomi", "E1")
    e = f.enroll(campaign, anna)
    d1, d2 = f.delivery(e, l1), f.delivery(e, l2)
    f.delivery(e, l3)
    f.delivery(e, l4, DeliveryStatus.pending)
    f.event(d1, EventKind.view)
    f.answer(d1, l1, correct=True, minutes=20, attempt=2)
    f.answer(d1, l1, correct=False, minutes=10)
    f.answer(d2, l2, correct=True)
    # Her other campaign must not leak into this one.
    o = f.enroll(other, anna)
    od = f.delivery(o, l3)
    f.event(od, EventKind.view)
    f.answer(od, l3, correct=True)

    # Bertil: only mail scanners clicked; a failed delivery is not "sent".
    bertil = f.employee("Bertil", "Berg", "Ekonomi", "E2")
    e = f.enroll(campaign, bertil)
    d1, d2 = f.delivery(e, l1), f.delivery(e, l2)
    f.delivery(e, l3, DeliveryStatus.failed)
    f.event(d1, EventKind.view, human=False)
    f.event(d2, EventKind.answer_click, human=False)

    # Cecilia: answered lesson 1, then opted out (the opt-out click is not a view).
    cecilia = f.employee("Cecilia", "Ceder", "Socialtjänst", "S1")
    e = f.enroll(campaign, cecilia, opted_out_at=OPTED_OUT_AT)
    d1 = f.delivery(e, l1)
    f.answer(d1, l1, correct=True)
    f.event(f.delivery(e, l2), EventKind.optout)

    # Dora: erased, her counts stay.
    dora = f.employee("Dora", "Dahl", "Socialtjänst", "S2", erased=True)
    e = f.enroll(campaign, dora)
    f.delivery(e, l1)
    d2 = f.delivery(e, l2)
    f.event(d2, EventKind.answer_click)
    f.answer(d2, l2, correct=True)

    # Erik: a wrong review answer is no question answered; a removed lesson is no completion.
    erik = f.employee("Erik", "Ek", "Ekonomi", "E3")
    e = f.enroll(campaign, erik)
    d1, d2, d5 = f.delivery(e, l1), f.delivery(e, l2, reviews=(l1,)), f.delivery(e, gone)
    f.answer(d1, l1, correct=True)
    f.answer(d2, l1, correct=False, review=True)
    f.answer(d5, gone, correct=True)

    # Fredrik: enrolled, nothing sent yet; review-only e-mails carry no lesson.
    fredrik = f.employee("Fredrik", "Fors", "Ekonomi", "E4")
    e = f.enroll(campaign, fredrik)
    f.delivery(e, None)
    f.enroll(empty, fredrik)

    session.commit()
    return Scenario(campaign.id, other.id, empty.id)
