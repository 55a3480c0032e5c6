from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy.orm import Session

from app.core.runtime import Runtime
from app.xapi.ids import Identity
from app.xapi.sources import Window
from app.xapi.stream import statements
from tests.xapi.conftest import HOME, XapiScenario
from tests.xapi.lrs_standin import problems

ADL = "http://adlnet.gov/expapi/verbs/"


def _statements(session: Session, runtime: Runtime, campaign_id: int) -> list[dict]:  # type: ignore[type-arg]
    ident = Identity.from_settings(runtime.settings)
    return list(statements(session, Window(campaign_id=campaign_id), ident))


def test_every_kind_once_per_source_row(
    session: Session, runtime: Runtime, xapi_scenario: XapiScenario
) -> None:
    found = _statements(session, runtime, xapi_scenario.campaign_id)
    verbs = Counter(s["verb"]["id"].removeprefix(ADL) for s in found)
    # Views by Anna and Bertil (no scanner, no erased Dora); 3 + 1 answers; 1 card; Anna done.
    assert verbs == {"experienced": 2, "answered": 4, "mastered": 1, "completed": 1}
    assert [problems(s, HOME) for s in found] == [[]] * len(found)
    assert [s["timestamp"] for s in found] == sorted(s["timestamp"] for s in found)


def test_ids_are_stable_and_opaque(
    session: Session, runtime: Runtime, xapi_scenario: XapiScenario
) -> None:
    first = _statements(session, runtime, xapi_scenario.campaign_id)
    again = _statements(session, runtime, xapi_scenario.campaign_id)
    assert first == again
    assert len({s["id"] for s in first}) == len(first)
    names = {s["actor"]["account"]["name"] for s in first}
    assert len(names) == 2 and all(len(n) == 32 and "@" not in n for n in names)
    registrations = {s["context"]["registration"] for s in first}
    assert registrations == {
        str(
            uuid.uuid5(
                uuid.uuid5(uuid.NAMESPACE_URL, HOME), f"campaign:{xapi_scenario.campaign_id}"
            )
        )
    }


def test_an_answer_is_a_choice_interaction(
    session: Session, runtime: Runtime, xapi_scenario: XapiScenario
) -> None:
    found = _statements(session, runtime, xapi_scenario.campaign_id)
    wrong = next(
        s for s in found if s["verb"]["id"].endswith("answered") and not s["result"]["success"]
    )
    definition = wrong["object"]["definition"]
    assert definition["interactionType"] == "choice"
    assert definition["correctResponsesPattern"] == ["0"]
    assert [c["id"] for c in definition["choices"]] == ["0", "1"]
    assert wrong["result"] == {"success": False, "response": "1"}
    assert wrong["object"]["id"] == f"{HOME}/xapi/lessons/radikalisering-1/question"
    context = wrong["context"]
    assert context["language"] == "sv"
    assert context["contextActivities"]["parent"][0]["id"] == f"{HOME}/xapi/courses/radikalisering"
    assert (
        context["contextActivities"]["grouping"][0]["id"] == f"{HOME}/xapi/lessons/radikalisering-1"
    )


def test_completed_when_every_lesson_is_answered(
    session: Session, runtime: Runtime, xapi_scenario: XapiScenario
) -> None:
    found = _statements(session, runtime, xapi_scenario.campaign_id)
    [done] = [s for s in found if s["verb"]["id"] == ADL + "completed"]
    # At Anna's first answer to lesson 2 (wrong): one of two lessons right at the first try.
    assert done["result"] == {
        "completion": True,
        "score": {"raw": 1, "min": 0, "max": 2, "scaled": 0.5},
    }
    assert done["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/course"
    answers = [s for s in found if s["verb"]["id"] == ADL + "answered"]
    anna = done["actor"]
    assert done["timestamp"] == [s for s in answers if s["actor"] == anna][1]["timestamp"]


def test_other_campaigns_and_the_erased_stay_out(
    session: Session, runtime: Runtime, xapi_scenario: XapiScenario
) -> None:
    ident = Identity.from_settings(runtime.settings)
    dora = ident.actor(xapi_scenario.dora_id)
    everything = list(statements(session, Window(), ident))
    assert len(everything) == 9  # the 8 of this campaign and Anna's answer in the other
    assert all(s["actor"] != dora for s in everything)
    [other] = _statements(session, runtime, xapi_scenario.other_campaign_id)
    assert other["actor"] == ident.actor(xapi_scenario.anna_id)
