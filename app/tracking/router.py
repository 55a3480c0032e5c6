"""Public pages behind the links in e-mails: no login, each link carries a signed token.

GET never records an answer (mail scanners follow every link); only the confirming POST does.
HEAD is answered like GET without a body, and recorded as an automated view or click.
Every request passes a rate limit per client address and per token (app/tracking/ratelimit.py).
No page redirects anywhere, and nothing here logs a path: the paths carry the tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.core.clock import Clock
from app.core.config import Settings
from app.core.deps import client_address
from app.core.headers import SECURITY_HEADERS
from app.core.i18n import t
from app.core.links import Links
from app.core.tokens import verify_delivery, verify_test
from app.lessons.content import lesson_content, question_content
from app.tracking import pages
from app.tracking.gate import Gate, NotStoredError
from app.tracking.models import EventKind
from app.tracking.ratelimit import PublicLimits, hit_key
from app.tracking.service import (
    Opened,
    Question,
    VersionCache,
    opt_out,
    test_send_language,
)
from app.tracking.visits import Record, Visit

TOO_MANY_TITLE = "För många försök"
TOO_MANY_TEXT = (
    "Länken har öppnats många gånger på kort tid. Vänta en liten stund och försök sedan igen."
)
NOT_STORED_TITLE = "Det gick inte just nu"
NOT_STORED_TEXT = "Det är många som använder tjänsten just nu. Försök igen om en liten stund."


class RateLimitedError(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


def install(app: FastAPI) -> None:
    """The public pages, with their rate limits and the gate that stores what they record.

    They are served by a lane of their own (app/tracking/lane.py) with the app's error and
    body-size middleware but without FastAPI's routing: see ROUTES at the end of this file."""
    settings: Settings = app.state.settings
    app.state.public_limits = PublicLimits.from_settings(settings)
    app.state.public_gate = None  # made on first use, with the limits in force then
    app.state.public_loops = set()  # the event loops serving under a lifespan (public_lifespan)
    app.state.public_secret = None
    app.state.public_pages = pages.PageCache()
    app.add_exception_handler(RateLimitedError, _too_many_requests)
    app.add_exception_handler(NotStoredError, _not_stored)
    app.state.public_routes = ROUTES  # served by the lane (app/main.py, app/tracking/lane.py)


@asynccontextmanager
async def public_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The serving loop's span: the gate may keep connections on it, and closes them after."""
    loop = asyncio.get_running_loop()
    app.state.public_loops.add(loop)
    try:
        yield
    finally:
        app.state.public_loops.discard(loop)
        if app.state.public_gate is not None:
            await app.state.public_gate.close()


def _gate(request: Request) -> Gate:
    state = request.app.state
    gate: Gate | None = state.public_gate
    if gate is None or gate.limits is not state.public_limits:
        gate = Gate(
            state.runtime.engine,
            state.public_limits,
            VersionCache(),
            long_lived=state.public_loops,
        )
        state.public_gate = gate
    return gate


def _secret(request: Request) -> bytes:
    """The signing key, read once per process (not from its file on every request)."""
    state = request.app.state
    if state.public_secret is None:
        settings: Settings = state.settings
        state.public_secret = settings.secret()
    secret: bytes = state.public_secret
    return secret


async def _too_many_requests(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, RateLimitedError)
    page = pages.message_page(language="sv", title=TOO_MANY_TITLE, text=TOO_MANY_TEXT)
    response = html(request, page, 429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _not_stored(request: Request, exc: Exception) -> HTMLResponse:
    page = pages.message_page(language="sv", title=NOT_STORED_TITLE, text=NOT_STORED_TEXT)
    response = html(request, page, 503)
    response.headers["Retry-After"] = "5"
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


def _test_send_page(request: Request, secret: bytes, token: str) -> HTMLResponse:
    """A test-send's link (preview or test e-mail): a page that says so; records nothing."""
    factory = request.app.state.session_factory
    with factory() as session:
        language = test_send_language(session, secret, token) or "sv"
    page = pages.message_page(
        language=language,
        title=t(language, "test_page_title"),
        text=t(language, "test_page_text"),
    )
    return html(request, page)


class _Entered:
    """A request that passed the gate: its opened delivery (None: no such link) and what its
    work in the transaction returned."""

    def __init__(self, visit: Visit, page: HTMLResponse | None = None) -> None:
        self.opened: Opened | None = visit.opened
        self.value: Any = visit.value
        self.page = page


async def _enter(
    request: Request,
    token: str,
    *,
    link: str | None,
    record: Callable[[Opened], Record | None] | None = None,
    act: Callable[[Session, Opened, datetime], Any] | None = None,
    answer: tuple[str, str | None] | None = None,
) -> _Entered:
    """Count the request against the limits, open its delivery and store what it records, in
    the gate's next group; raises RateLimitedError when a limit refuses it."""
    secret = _secret(request)
    clock: Clock = request.app.state.clock
    now = clock.now()
    address = client_address(request)
    keys = (hit_key(secret, "a", address), hit_key(secret, "t", token))
    gate = _gate(request)
    wait = gate.limits.blocked(keys, now)
    if wait is not None:
        raise RateLimitedError(wait)
    delivery_id = verify_delivery(secret, token)
    visit = Visit(
        now=now,
        keys=keys,
        delivery_id=delivery_id,
        method=request.method,
        user_agent=request.headers.get("user-agent"),
        address=address,
        link=link,
        record=record,
        act=act,
        answer=answer,
    )
    visit = await gate.enter(visit)
    if visit.wait is not None:
        raise RateLimitedError(visit.wait)
    page = None
    if delivery_id is None and verify_test(secret, token) is not None:
        page = await run_in_threadpool(_test_send_page, request, secret, token)
    return _Entered(visit, page)


def _page(
    request: Request, opened: Opened, key: tuple[Any, ...], render: Callable[[Links], str]
) -> HTMLResponse:
    """The page for `key` (everything it shows but the e-mail's token), rendered once per
    process and copied with this e-mail's token in its links (pages.PageCache)."""
    settings: Settings = request.app.state.settings
    cache: pages.PageCache = request.app.state.public_pages
    course = opened.course
    full_key = (*key, course.id, course.title, course.language, course.help_text, opened.local_help)
    # The request's own token: it verified, and verify_delivery takes only the one canonical
    # token of a delivery, the one its e-mail carries (no second HMAC to sign it again).
    token: str = request.path_params["token"]
    return html(
        request, cache.page(full_key, token, lambda mark: render(Links(settings.base_url, mark)))
    )


def _shown(questions: list[Question]) -> tuple[tuple[str, str, bool], ...]:
    return tuple((q.item.key, q.item.version.content_hash, q.is_review) for q in questions)


def _first_or(opened: Opened, lesson: str | None) -> Any:
    if lesson:
        return opened.question(lesson)
    return opened.questions[0] if opened.questions else None


async def read_lesson(request: Request) -> HTMLResponse:
    """Read the lesson of an e-mail in the browser (recorded as a view)."""
    token = request.path_params["token"]
    lesson = request.query_params.get("lesson")

    def record(opened: Opened) -> Record | None:
        question = _first_or(opened, lesson)
        return (EventKind.view, question.lesson_id) if question else None

    entered = await _enter(request, token, link=f"l:{lesson or ''}", record=record)
    opened = entered.opened
    if entered.page is not None:
        return entered.page
    if opened is None or not opened.questions:
        return not_found(request)
    question = _first_or(opened, lesson)
    if question is None:
        return not_found(request, opened.course.language)
    shown = [q for q in opened.questions if q.lesson_id == question.lesson_id]
    course = opened.course

    def render(links: Links) -> str:
        return pages.lesson_page(
            language=course.language,
            course_title=course.title,
            help_md=course.help_text,
            local_help_md=opened.local_help,
            lesson=lesson_content(question.item),
            questions=[question_content(q.item, links, is_review=False) for q in shown],
        )

    return _page(request, opened, ("l", _shown(shown)), render)


def _chosen(opened: Opened, lesson_key: str, option: int) -> Any:
    """The question of an answer link, when the link names one of its options."""
    question = opened.question(lesson_key)
    if question is None or not 0 <= option < len(question.item.version.options):
        return None
    return question


async def choose_answer(request: Request) -> HTMLResponse:
    """An answer link: shows the choice with a button to confirm; records only the click."""
    token, lesson_key = request.path_params["token"], request.path_params["lesson_key"]
    option: int = request.path_params["option"]

    def record(opened: Opened) -> Record | None:
        question = _chosen(opened, lesson_key, option)
        return (EventKind.answer_click, question.lesson_id) if question else None

    entered = await _enter(request, token, link=f"a:{lesson_key}:{option}", record=record)
    if entered.page is not None:
        return entered.page
    opened = entered.opened
    question = _chosen(opened, lesson_key, option) if opened else None
    if opened is None or question is None:
        return not_found(request, opened.course.language if opened else "sv")

    def render(links: Links) -> str:
        return pages.answer_confirm_page(
            language=opened.course.language,
            question=question_content(question.item, links, is_review=question.is_review),
            selected=option,
            post_url=links.answer_post(lesson_key),
        )

    return _page(request, opened, ("a", _shown([question]), option), render)


async def confirm_answer(request: Request) -> HTMLResponse:
    """Confirm an answer: records it and shows whether it was right, with the explanation."""
    token, lesson_key = request.path_params["token"], request.path_params["lesson_key"]
    async with request.form(max_files=0, max_fields=10) as form:
        chosen = form.get("option")
    option = chosen if isinstance(chosen, str) else None
    entered = await _enter(request, token, link=None, answer=(lesson_key, option))
    if entered.page is not None:
        return entered.page
    opened = entered.opened
    question = opened.question(lesson_key) if opened else None
    if opened is None or question is None:
        return not_found(request, opened.course.language if opened else "sv")
    language = opened.course.language
    if entered.value is None:  # no such option
        page = pages.message_page(
            language=language, title=t(language, "choose_title"), text=t(language, "choose_text")
        )
        return html(request, page, 422)
    version = question.item.version
    outcome = entered.value

    def render(links: Links) -> str:
        return pages.answer_result_page(
            language=language,
            question=question_content(question.item, links, is_review=question.is_review),
            selected=int(str(option)),
            correct_index=outcome.correct_index,
            explanation=version.explanation,
            attempt=outcome.attempt,
            lesson_url=links.view(lesson_key),
        )

    key = ("r", _shown([question]), int(str(option)), outcome.correct_index, outcome.attempt)
    return _page(request, opened, key, render)


async def unsubscribe_page(request: Request) -> HTMLResponse:
    """Opt-out page for one campaign: asks to confirm (a GET changes nothing).

    No event of its own, but scanners open this link with the others: it counts to a burst."""
    token = request.path_params["token"]
    entered = await _enter(request, token, link="u")
    if entered.page is not None:
        return entered.page
    opened = entered.opened
    if opened is None:
        return not_found(request)
    done = opened.opted_out
    return html(
        request,
        pages.unsubscribe_page(
            language=opened.course.language,
            course_title=opened.course.title,
            post_url=None if done else f"/u/{token}",
            done=done,
        ),
    )


async def unsubscribe(request: Request) -> HTMLResponse:
    """Opt out of the campaign (the page's button, or a mail client's RFC 8058 one-click POST)."""
    token = request.path_params["token"]

    def act(session: Session, opened: Opened, now: datetime) -> None:
        opt_out(session, opened, now)

    entered = await _enter(request, token, link=None, act=act)
    if entered.page is not None:
        return entered.page
    opened = entered.opened
    if opened is None:
        return not_found(request)
    return html(
        request,
        pages.unsubscribe_page(
            language=opened.course.language,
            course_title=opened.course.title,
            post_url=None,
            done=True,
        ),
    )


ROUTES = [
    Route("/l/{token}", read_lesson, methods=["GET", "HEAD"]),
    Route("/a/{token}/{lesson_key}/{option:int}", choose_answer, methods=["GET", "HEAD"]),
    Route("/a/{token}/{lesson_key}", confirm_answer, methods=["POST"]),
    Route("/u/{token}", unsubscribe_page, methods=["GET", "HEAD"]),
    Route("/u/{token}", unsubscribe, methods=["POST"]),
]
