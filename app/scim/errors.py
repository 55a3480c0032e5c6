"""SCIM's own error shape (RFC 7644 §3.12) for everything under /scim/v2, and its media type.

The route class turns every error a SCIM route can meet into an `Error` body with
`application/scim+json`: our services' problems (409 → uniqueness, 422 → invalidValue), SCIM
exceptions from scim2-models, a missing or wrong bearer token (401/403), a path parameter that
is not an id (404). Nothing is written on an error: the request's session is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import Error, SCIMException
from starlette.exceptions import HTTPException

from app.core.errors import ProblemError, problem_title

SCIM_JSON = "application/scim+json"

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ScimResponse(JSONResponse):
    media_type = SCIM_JSON


def scim_error(status: int, detail: str, scim_type: str | None = None) -> ScimResponse:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    return ScimResponse(body, status_code=status)


def _from_problem(exc: ProblemError) -> ScimResponse:
    title = problem_title(exc)
    detail = f"{title}: {exc.detail}" if exc.detail else title
    if exc.status == 409:
        return scim_error(409, detail, "uniqueness")
    if exc.status in (404, 410):
        return scim_error(404, detail)
    if exc.status == 422:
        return scim_error(400, detail, "invalidValue")
    return scim_error(exc.status, detail)


def error_response(exc: Exception) -> ScimResponse | None:
    """The SCIM answer to an error, or None for a bug (the app's 500 handles those)."""
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        return ScimResponse(error.model_dump(), status_code=error.status or 400)
    if isinstance(exc, ValidationError):
        errors = Error.from_validation_errors(exc)
        first = errors[0]
        detail = "; ".join(e.detail or "" for e in errors[:5])
        return scim_error(first.status or 400, detail, first.scim_type)
    if isinstance(exc, ProblemError):
        return _from_problem(exc)
    if isinstance(exc, RequestValidationError):
        return scim_error(404, "No such resource: the id is not one of ours.")
    if isinstance(exc, HTTPException):
        response = scim_error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response
    return None


class ScimRoute(APIRoute):
    """Every /scim/v2 route answers its errors in SCIM's shape."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                response = error_response(exc)
                if response is None:
                    raise
                return response

        return route
