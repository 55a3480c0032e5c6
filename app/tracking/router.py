"""Public pages behind the links in e-mails: no login, each link carries a signed token.

GET never records an answer (mail scanners follow every link); only the confirming POST does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from app.core.config import Settings
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.core.i18n import t
from app.delivery.compose import lesson_content, question_content
from app.delivery.links import Links
from app.tracking import pages
from app.tracking.classify import classify
from app.tracking.models import EventClass, EventKind
from app.tracking.service import (
    Opened,
    is_opted_out,
    open_delivery,
    opt_out,
    record_answer,
    record_event,
)

router = APIRouter(include_in_schema=False)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)


def not_found(language: str = "sv") -> HTMLResponse:
    page = pages.message_page(
        language=language, title=t(language, "not_found_title"), text=t(language, "not_found_text")
    )
    return html(page, 404)


def _verdict(request: Request, opened: Opened, now: datetime) -> tuple[EventClass, str]:
    return classify(
        method=request.method,
        user_agent=request.headers.get("user-agent"),
        sent_at=opened.delivery.sent_at,
        now=now,
    )


def _links(settings: Settings, opened: Opened) -> Links:
    return Links.for_delivery(settings.base_url, settings.secret(), opened.delivery.id)


@router.get("/l/{token}")
def read_lesson(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    lesson: str | None = None,
) -> HTMLResponse:
    """Read the lesson of an e-mail in the browser (recorded as a view)."""
    opened = open_delivery(session, settings.secret(), token)
    if opened is None or not opened.questions:
        return not_found()
    question = opened.question(lesson) if lesson else opened.questions[0]
    if question is None:
        return not_found(opened.course.language)
    now = clock.now()
    record_event(
        session, opened, EventKind.view, question.lesson_id, now, _verdict(request, opened, now)
    )
    links = _links(settings, opened)
    shown = [q for q in opened.questions if q.lesson_id == question.lesson_id]
    return html(
        pages.lesson_page(
            language=opened.course.language,
            course_title=opened.course.title,
            help_md=opened.course.help_text,
            lesson=lesson_content(question.item),
            questions=[question_content(q.item, links, is_review=False) for q in shown],
        )
    )


@router.get("/a/{token}/{lesson_key}/{option}")
def choose_answer(
    token: str,
    lesson_key: str,
    option: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> HTMLResponse:
    """An answer link: shows the choice with a button to confirm; records only the click."""
    opened = open_delivery(session, settings.secret(), token)
    question = opened.question(lesson_key) if opened else None
    if opened is None or question is None or not 0 <= option < len(question.item.version.options):
        return not_found(opened.course.language if opened else "sv")
    now = clock.now()
    record_event(
        session,
        opened,
        EventKind.answer_click,
        question.lesson_id,
        now,
        _verdict(request, opened, now),
    )
    links = _links(settings, opened)
    return html(
        pages.answer_confirm_page(
            language=opened.course.language,
            question=question_content(question.item, links, is_review=question.is_review),
            selected=option,
            post_url=links.answer_post(lesson_key),
        )
    )


@router.post("/a/{token}/{lesson_key}")
def confirm_answer(
    token: str,
    lesson_key: str,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    option: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """Confirm an answer: records it and shows whether it was right, with the explanation."""
    opened = open_delivery(session, settings.secret(), token)
    question = opened.question(lesson_key) if opened else None
    if opened is None or question is None:
        return not_found(opened.course.language if opened else "sv")
    language = opened.course.language
    version = question.item.version
    if option is None or not option.isdigit() or not 0 <= int(option) < len(version.options):
        page = pages.message_page(
            language=language, title=t(language, "choose_title"), text=t(language, "choose_text")
        )
        return html(page, 422)
    outcome = record_answer(session, opened, question, int(option), clock.now())
    links = _links(settings, opened)
    return html(
        pages.answer_result_page(
            language=language,
            question=question_content(question.item, links, is_review=question.is_review),
            selected=int(option),
            correct_index=outcome.correct_index,
            explanation=version.explanation,
            attempt=outcome.attempt,
            lesson_url=links.view(lesson_key),
        )
    )


@router.get("/u/{token}")
def unsubscribe_page(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Opt-out page for one campaign: asks to confirm (a GET changes nothing)."""
    opened = open_delivery(session, settings.secret(), token)
    if opened is None:
        return not_found()
    done = is_opted_out(session, opened)
    return html(
        pages.unsubscribe_page(
            language=opened.course.language,
            course_title=opened.course.title,
            post_url=None if done else f"/u/{token}",
            done=done,
        )
    )


@router.post("/u/{token}")
def unsubscribe(
    token: str, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    """Opt out of the campaign (the page's button, or a mail client's RFC 8058 one-click POST)."""
    opened = open_delivery(session, settings.secret(), token)
    if opened is None:
        return not_found()
    opt_out(session, opened, clock.now())
    return html(
        pages.unsubscribe_page(
            language=opened.course.language,
            course_title=opened.course.title,
            post_url=None,
            done=True,
        )
    )
