"""Public pages behind the links in e-mails: no login, each link carries a signed token.

GET never records an answer (mail scanners follow every link); only the confirming POST does.
HEAD is answered like GET without a body, and recorded as an automated view or click.
Every request passes a rate limit per client address and per token (app/tracking/ratelimit.py).
No page redirects anywhere, and nothing here logs a path: the paths carry the tokens.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.deps import ClockDep, SessionDep, SettingsDep, client_address
from app.core.headers import SECURITY_HEADERS
from app.core.i18n import t
from app.core.links import Links
from app.lessons.content import lesson_content, question_content
from app.tracking import pages
from app.tracking.classify import HUMAN, LINK_BURST, LinkBursts, Verdict, classify
from app.tracking.models import EventClass, EventKind
from app.tracking.ratelimit import PublicLimits
from app.tracking.service import (
    Opened,
    VersionCache,
    is_opted_out,
    new_event,
    open_delivery,
    opt_out,
    record_answer,
    test_send_language,
)
from app.tracking.writer import EventWriter, Write

TOO_MANY_TITLE = "För många försök"
TOO_MANY_TEXT = (
    "Länken har öppnats många gånger på kort tid. Vänta en liten stund och försök sedan igen."
)


class RateLimitedError(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


def _client_address(request: Request) -> str:
    return client_address(request)


def rate_limit(request: Request, clock: ClockDep) -> None:
    """Per client address and per token; a limited request records nothing."""
    limits: PublicLimits = request.app.state.public_limits
    token = str(request.path_params.get("token", ""))
    wait = limits.check(_client_address(request), token, clock.now())
    if wait is not None:
        raise RateLimitedError(wait)


router = APIRouter(include_in_schema=False, dependencies=[Depends(rate_limit)])


def install(app: FastAPI) -> None:
    """The public pages, with their per-process rate limits and link-burst memory."""
    app.state.public_limits = PublicLimits.from_settings(app.state.settings)
    app.state.link_bursts = LinkBursts()
    app.state.lesson_versions = VersionCache()
    app.state.event_writer = EventWriter(app.state.runtime.engine)
    app.add_exception_handler(RateLimitedError, _too_many_requests)
    app.include_router(router)


async def _too_many_requests(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, RateLimitedError)
    page = pages.message_page(language="sv", title=TOO_MANY_TITLE, text=TOO_MANY_TEXT)
    response = html(request, page, 429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def html(request: Request, content: str, status: int = 200) -> HTMLResponse:
    """A page with the security headers; HEAD gets the same status and headers, no body."""
    body = "" if request.method == "HEAD" else content
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def not_found(request: Request, language: str = "sv") -> HTMLResponse:
    page = pages.message_page(
        language=language, title=t(language, "not_found_title"), text=t(language, "not_found_text")
    )
    return html(request, page, 404)


def test_send_page(
    request: Request, session: Session, settings: Settings, token: str
) -> HTMLResponse | None:
    """A test-send's link (preview or test e-mail): a page that says so; records nothing."""
    language = test_send_language(session, settings.secret(), token)
    if language is None:
        return None
    page = pages.message_page(
        language=language,
        title=t(language, "test_page_title"),
        text=t(language, "test_page_text"),
    )
    return html(request, page)


def _verdict(
    request: Request, opened: Opened, link: str, now: datetime
) -> tuple[Verdict, datetime | None]:
    """Classify one request for a link of the e-mail (classify.py has the rule), and when it
    makes a link burst, the time the burst began (its earlier events are re-classified)."""
    verdict = classify(
        method=request.method,
        user_agent=request.headers.get("user-agent"),
        sent_at=opened.delivery.sent_at,
        now=now,
        client_address=_client_address(request),
    )
    began = _burst_began(request, opened, link, now)
    if began is not None and verdict[0] == EventClass.human:
        return (EventClass.automated, LINK_BURST), began
    return verdict, began


def _burst_began(request: Request, opened: Opened, link: str, now: datetime) -> datetime | None:
    """Remember the link; in a burst, when it began."""
    bursts: LinkBursts = request.app.state.link_bursts
    return bursts.hit(opened.delivery.id, link, now)


def _store(
    request: Request,
    opened: Opened,
    kind: EventKind | None,
    lesson_id: int | None,
    now: datetime,
    verdict: Verdict,
    burst_since: datetime | None,
) -> None:
    """Write the event (and a burst's re-classification) in the next group commit; returns
    once it is committed, so the page that follows means it is stored."""
    event = new_event(opened, kind, lesson_id, now, verdict) if kind is not None else None
    if event is None and burst_since is None:
        return
    writer: EventWriter = request.app.state.event_writer
    writer.write(Write(opened.delivery.id, event, burst_since))


def _versions(request: Request) -> VersionCache:
    cache: VersionCache = request.app.state.lesson_versions
    return cache


def _links(settings: Settings, opened: Opened) -> Links:
    return Links.for_delivery(settings.base_url, settings.secret(), opened.delivery.id)


@router.api_route("/l/{token}", methods=["GET", "HEAD"])
def read_lesson(
    token: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    lesson: str | None = None,
) -> HTMLResponse:
    """Read the lesson of an e-mail in the browser (recorded as a view)."""
    if (test_page := test_send_page(request, session, settings, token)) is not None:
        return test_page
    opened = open_delivery(session, settings.secret(), token, _versions(request))
    if opened is None or not opened.questions:
        return not_found(request)
    question = opened.question(lesson) if lesson else opened.questions[0]
    if question is None:
        return not_found(request, opened.course.language)
    now = clock.now()
    verdict, burst = _verdict(request, opened, f"l:{lesson or ''}", now)
    _store(request, opened, EventKind.view, question.lesson_id, now, verdict, burst)
    links = _links(settings, opened)
    shown = [q for q in opened.questions if q.lesson_id == question.lesson_id]
    return html(
        request,
        pages.lesson_page(
            language=opened.course.language,
            course_title=opened.course.title,
            help_md=opened.course.help_text,
            local_help_md=opened.local_help,
            lesson=lesson_content(question.item),
            questions=[question_content(q.item, links, is_review=False) for q in shown],
        ),
    )


@router.api_route("/a/{token}/{lesson_key}/{option}", methods=["GET", "HEAD"])
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
    if (test_page := test_send_page(request, session, settings, token)) is not None:
        return test_page
    opened = open_delivery(session, settings.secret(), token, _versions(request))
    question = opened.question(lesson_key) if opened else None
    if opened is None or question is None or not 0 <= option < len(question.item.version.options):
        return not_found(request, opened.course.language if opened else "sv")
    now = clock.now()
    verdict, burst = _verdict(request, opened, f"a:{lesson_key}:{option}", now)
    _store(request, opened, EventKind.answer_click, question.lesson_id, now, verdict, burst)
    links = _links(settings, opened)
    return html(
        request,
        pages.answer_confirm_page(
            language=opened.course.language,
            question=question_content(question.item, links, is_review=question.is_review),
            selected=option,
            post_url=links.answer_post(lesson_key),
        ),
    )


@router.post("/a/{token}/{lesson_key}")
def confirm_answer(
    token: str,
    lesson_key: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    option: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """Confirm an answer: records it and shows whether it was right, with the explanation."""
    if (test_page := test_send_page(request, session, settings, token)) is not None:
        return test_page
    opened = open_delivery(session, settings.secret(), token, _versions(request))
    question = opened.question(lesson_key) if opened else None
    if opened is None or question is None:
        return not_found(request, opened.course.language if opened else "sv")
    language = opened.course.language
    version = question.item.version
    if option is None or not option.isdigit() or not 0 <= int(option) < len(version.options):
        page = pages.message_page(
            language=language, title=t(language, "choose_title"), text=t(language, "choose_text")
        )
        return html(request, page, 422)
    outcome = record_answer(session, opened, question, int(option), clock.now())
    links = _links(settings, opened)
    return html(
        request,
        pages.answer_result_page(
            language=language,
            question=question_content(question.item, links, is_review=question.is_review),
            selected=int(option),
            correct_index=outcome.correct_index,
            explanation=version.explanation,
            attempt=outcome.attempt,
            lesson_url=links.view(lesson_key),
        ),
    )


@router.api_route("/u/{token}", methods=["GET", "HEAD"])
def unsubscribe_page(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    """Opt-out page for one campaign: asks to confirm (a GET changes nothing)."""
    if (test_page := test_send_page(request, session, settings, token)) is not None:
        return test_page
    opened = open_delivery(session, settings.secret(), token, _versions(request))
    if opened is None:
        return not_found(request)
    # No event of its own, but scanners open this link with the others: it counts to a burst.
    now = clock.now()
    _store(request, opened, None, None, now, HUMAN, _burst_began(request, opened, "u", now))
    done = is_opted_out(session, opened)
    return html(
        request,
        pages.unsubscribe_page(
            language=opened.course.language,
            course_title=opened.course.title,
            post_url=None if done else f"/u/{token}",
            done=done,
        ),
    )


@router.post("/u/{token}")
def unsubscribe(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> HTMLResponse:
    """Opt out of the campaign (the page's button, or a mail client's RFC 8058 one-click POST)."""
    if (test_page := test_send_page(request, session, settings, token)) is not None:
        return test_page
    opened = open_delivery(session, settings.secret(), token, _versions(request))
    if opened is None:
        return not_found(request)
    opt_out(session, opened, clock.now())
    return html(
        request,
        pages.unsubscribe_page(
            language=opened.course.language,
            course_title=opened.course.title,
            post_url=None,
            done=True,
        ),
    )
