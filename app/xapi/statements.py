"""Facts as xAPI 1.0.3 statements (plain dicts, ready for JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.xapi.catalog import Catalog, CourseInfo, LessonInfo
from app.xapi.ids import Identity
from app.xapi.sources import Fact
from app.xapi.vocab import PLATFORM, TYPE_COURSE, TYPE_INTERACTION, TYPE_LESSON, Kind

Statement = dict[str, Any]


def timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _course(ident: Identity, course: CourseInfo) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": ident.activity("courses", course.slug),
        "definition": {"type": TYPE_COURSE, "name": {course.language: course.title}},
    }


def _lesson(ident: Identity, lesson: LessonInfo, language: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": ident.activity("lessons", lesson.key),
        "definition": {"type": TYPE_LESSON, "name": {language: lesson.title}},
    }


def _question(ident: Identity, catalog: Catalog, fact: Fact, language: str) -> dict[str, Any]:
    assert fact.lesson_id is not None
    lesson = catalog.lessons[fact.lesson_id]
    definition: dict[str, Any] = {
        "type": TYPE_INTERACTION,
        "name": {language: lesson.title},
        "interactionType": "choice",
    }
    # Graded against the version the e-mail carried, as the answer itself was.
    question = catalog.questions.get((fact.lesson_id, fact.lesson_hash or ""))
    if question is not None:
        definition["description"] = {language: question.text}
        definition["correctResponsesPattern"] = [str(question.correct_index)]
        definition["choices"] = [
            {"id": str(i), "description": {language: text}}
            for i, text in enumerate(question.options)
        ]
    return {
        "objectType": "Activity",
        "id": ident.activity("lessons", lesson.key, "question"),
        "definition": definition,
    }


def build(fact: Fact, ident: Identity, catalog: Catalog) -> Statement:
    course = catalog.courses[catalog.campaign_courses[fact.campaign_id]]
    context: dict[str, Any] = {
        "registration": ident.registration(fact.campaign_id),
        "language": course.language,
        "platform": PLATFORM,
    }
    statement: Statement = {
        "id": ident.statement_id(_source(fact)),
        "actor": ident.actor(fact.employee_id),
        "verb": fact.kind.verb,
        "timestamp": timestamp(fact.at),
        "context": context,
    }
    if fact.kind is Kind.completed:
        statement["object"] = _course(ident, course)
        statement["result"] = _completed_result(fact, catalog)
        return statement
    context["contextActivities"] = {"parent": [_course(ident, course)]}
    assert fact.lesson_id is not None
    lesson = catalog.lessons[fact.lesson_id]
    if fact.kind is Kind.answered:
        statement["object"] = _question(ident, catalog, fact, course.language)
        statement["result"] = {"success": bool(fact.correct), "response": str(fact.option_index)}
        context["contextActivities"]["grouping"] = [_lesson(ident, lesson, course.language)]
        context["extensions"] = {
            ident.activity("extensions", "review"): fact.is_review,
            ident.activity("extensions", "attempt"): fact.attempt,
        }
    else:
        statement["object"] = _lesson(ident, lesson, course.language)
    return statement


def _completed_result(fact: Fact, catalog: Catalog) -> dict[str, Any]:
    lessons = catalog.course_sizes.get(catalog.campaign_courses[fact.campaign_id], 0)
    top = max(lessons, 1)
    raw = min(fact.right_first, top)  # an LRS refuses a score above its max
    return {
        "completion": True,
        "score": {"raw": raw, "min": 0, "max": top, "scaled": round(raw / top, 4)},
    }


def _source(fact: Fact) -> str:
    # One source row, one id: a re-sent statement is the same statement.
    if fact.kind is Kind.completed:
        return f"completed:enrollment:{fact.source_id}:{timestamp(fact.at)}"
    table = {Kind.experienced: "event", Kind.answered: "answer", Kind.mastered: "card"}
    return f"{fact.kind.name}:{table[fact.kind]}:{fact.source_id}"
