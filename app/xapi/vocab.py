"""The xAPI words Nanolearn uses: ADL verbs and activity types (their IRIs are fixed by ADL)."""

from __future__ import annotations

from enum import IntEnum

XAPI_VERSION = "1.0.3"
ADL = "http://adlnet.gov/expapi"
PLATFORM = "Nanolearn"

TYPE_COURSE = f"{ADL}/activities/course"
TYPE_LESSON = f"{ADL}/activities/lesson"
TYPE_INTERACTION = f"{ADL}/activities/cmi.interaction"


class Kind(IntEnum):
    """What a statement says; the value orders statements with the same timestamp."""

    experienced = 0  # a person read the lesson in the browser
    answered = 1  # a confirmed answer to a lesson's or a review's question
    mastered = 2  # a review card retired after right answers in a row
    completed = 3  # every lesson of the course answered

    @property
    def verb(self) -> dict[str, object]:
        return {"id": f"{ADL}/verbs/{self.name}", "display": _DISPLAY[self]}


_DISPLAY = {
    Kind.experienced: {"en-US": "experienced", "sv-SE": "upplevde"},
    Kind.answered: {"en-US": "answered", "sv-SE": "besvarade"},
    Kind.mastered: {"en-US": "mastered", "sv-SE": "behärskar"},
    Kind.completed: {"en-US": "completed", "sv-SE": "slutförde"},
}

VERB_IDS = frozenset(f"{ADL}/verbs/{kind.name}" for kind in Kind)
