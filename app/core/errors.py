"""One error shape everywhere: RFC 9457 problem details; nothing internal leaks.

Every error the app answers, from an unknown path (404), a wrong method (405) or a body that is
too large (413) to a bug (500), is `application/problem+json`. Stack traces, SQL and exception
messages stay on the server, and the server log names the route template, never the raw path:
public paths carry link tokens.

Errors answer in the caller's language: Swedish unless Accept-Language asks for English. A
message given as a `core.i18n.Text` carries both; validation errors are worded in
app.core.messages, without pydantic's prefixes, with the bad value and what to do.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.i18n import Text, in_language, request_language
from app.core.messages import validation_errors

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ProblemError(Exception):
    """Raise from a service or route: becomes a problem+json response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extra = extra


class Problem(BaseModel):
    """The body of every error (RFC 9457); some errors add fields, e.g. the import's counts."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


_DESCRIPTIONS = {
    400: "The body could not be read, e.g. it is not UTF-8.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role may not do this.",
    404: "Not found.",
    409: "Not possible in the current state.",
    413: "The request body is too large.",
    422: "Invalid request; `errors` lists each field.",
    429: "Too many wrong API keys from this address; wait `Retry-After` seconds.",
    500: "Unexpected error; details are in the server log only.",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers, so clients (and the fuzz test) know their shape."""
    schema = Problem.model_json_schema()
    return {
        code: {
            "description": _DESCRIPTIONS.get(code, HTTPStatus(code).phrase),
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for code in codes or tuple(_DESCRIPTIONS)
    }


def problem(status: int, title: str, detail: str = "", **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


_SWEDISH_TITLES = {
    400: "Felaktig begäran",
    401: "API-nyckel saknas eller fungerar inte",
    403: "Nyckeln får inte göra detta",
    404: "Hittades inte",
    405: "Metoden finns inte här",
    409: "Går inte just nu",
    413: "För stor begäran",
    415: "Filtypen stöds inte",
    422: "Ogiltig begäran",
    429: "För många försök",
    500: "Internt fel",
    502: "E-postservern tog inte emot meddelandet",
    503: "Tjänsten är inte redo",
}


def _title(status: int, language: str = "en") -> str:
    if language != "en" and status in _SWEDISH_TITLES:
        return _SWEDISH_TITLES[status]
    if language == "en" and status == 422:
        return "Invalid request"
    # RFC 9110 renamed 413; Python 3.11's HTTPStatus still has the old phrase.
    return "Content Too Large" if status == 413 else HTTPStatus(status).phrase


def language_of(request: Request | None) -> str:
    """The caller's language for errors: "en" when Accept-Language prefers it, else "sv"."""
    return request_language(request.headers.get("accept-language") if request else None)


def _localized(errors: list[dict[str, Any]] | None, language: str) -> list[dict[str, Any]] | None:
    if errors is None:
        return None
    return [
        {k: in_language(v, language) if isinstance(v, str) else v for k, v in e.items()}
        for e in errors
    ]


def _route_of(scope: Scope) -> str:
    """The route template (/a/{token}/…), never the raw path with its token."""
    route = scope.get("route")
    return str(getattr(route, "path", "(no route)"))


def problem_title(exc: ProblemError, language: str = "sv") -> str:
    """The error's title in the language, as the API shows it: one that is just the status's
    phrase ("Not Found") becomes the language's phrase ("Hittades inte"). For the dashboard and
    the command line too, which are in Swedish."""
    if not isinstance(exc.title, Text) and exc.title in (_title(exc.status), ""):
        return _title(exc.status, language)
    return in_language(exc.title, language)


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    language = language_of(request)
    return problem(
        exc.status,
        problem_title(exc, language),
        in_language(exc.detail, language),
        errors=_localized(exc.errors, language),
        **exc.extra,
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's own 404 (no route), 405 (wrong method) and 413 land here too.
    assert isinstance(exc, StarletteHTTPException)
    language = language_of(request)
    phrases = (_title(exc.status_code), HTTPStatus(exc.status_code).phrase)
    title = _title(exc.status_code, language)
    detail = in_language(exc.detail, language) if exc.detail not in phrases else ""
    response = problem(exc.status_code, title, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    language = language_of(request)
    errors = validation_errors(exc.errors(), language)
    detail = " ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, _title(422, language), detail, errors=errors)


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    # A value the request schema let through but the database cannot hold: an id beyond its
    # integer range (SQLite raises OverflowError, PostgreSQL a DataError), a NUL character.
    # The client sent it, so it is a 422; the SQL in the message stays here.
    log.warning(
        "value out of range for the database: %s on %s",
        type(exc).__name__,
        _route_of(request.scope),
    )
    if language_of(request) == "en":
        return problem(
            422,
            "Invalid request",
            "A value in the request is out of range, e.g. a number that is too large or a "
            "character that is not allowed. Correct it and try again.",
        )
    return problem(
        422,
        _title(422, "sv"),
        "Ett värde i begäran går inte att spara, t.ex. ett för stort tal eller ett tecken "
        "som inte är tillåtet. Rätta det och försök igen.",
    )


class CatchUnhandled:
    """Turns any other exception into a 500 problem and logs it once, without its message.

    The message of a database error holds SQL and its parameters (addresses, for instance), so
    the log gets the exception type, the route template and the traceback's locations only.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            # File, line and function of each frame; no source text, no values.
            where = "\n".join(
                f"  {f.filename}:{f.lineno} in {f.name}"
                for f in traceback.extract_tb(exc.__traceback__)
            )
            log.error(
                "unhandled %s on %s %s\n%s",
                type(exc).__name__,
                scope.get("method", ""),
                _route_of(scope),
                where,
            )
            if started:
                return  # a streamed body broke off; there is no way to send a status now
            if _scope_language(scope) == "en":
                response = problem(
                    500, "Internal Server Error", "Something went wrong; it has been logged."
                )
            else:
                response = problem(
                    500, _title(500, "sv"), "Något gick fel; felet är loggat på servern."
                )
            await response(scope, receive, send)


class BodyLimit:
    """Refuses request bodies over a size with 413 (before reading when the size is declared).

    `limits` are (path prefix, bytes) pairs checked in order; other paths get `default`.
    """

    def __init__(
        self, app: ASGIApp, *, default: int, limits: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.app = app
        self.default = default
        self.limits = tuple(limits)

    def limit_for(self, path: str) -> int:
        return next((size for prefix, size in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, _scope_language(scope))(scope, receive, send)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                # Raised while FastAPI reads the body; it passes HTTPExceptions on unchanged.
                raise StarletteHTTPException(413, _too_large_text(limit))
            return message

        await self.app(scope, receive_limited, send)


def _scope_language(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return request_language(value.decode("latin-1"))
    return request_language(None)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large_text(limit: int) -> Text:
    return Text(
        f"Begäran får vara högst {limit} byte här. Skicka mindre.",
        f"The request body may be at most {limit} bytes here. Send less.",
    )


def _too_large(limit: int, language: str = "sv") -> JSONResponse:
    return problem(413, _title(413, language), in_language(_too_large_text(limit), language))


DEFAULT_MAX_BODY = 1024 * 1024


def install_error_handlers(
    app: FastAPI, *, max_body: int = DEFAULT_MAX_BODY, body_limits: Sequence[tuple[str, int]] = ()
) -> None:
    app.add_exception_handler(ProblemError, _problem)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_middleware(BodyLimit, default=max_body, limits=body_limits)
    app.add_middleware(CatchUnhandled)  # added last: outermost of ours, so it sees everything
