"""Forms on the dashboard: the posted fields, and errors in Swedish next to the field they
belong to. The rules themselves stay in the services and their schemas; this only says them
in the reader's words."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.core.errors import ProblemError, problem_title

# Already read (and cached) by csrf.protect; sync routes receive it through this dependency.


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]

FieldErrors = dict[str, str]

_BY_TYPE = {
    "missing": "Fyll i fältet.",
    "string_too_short": "Fyll i fältet.",
    "too_short": "Välj minst en.",
    "date_from_datetime_parsing": "Skriv datumet som ÅÅÅÅ-MM-DD, t.ex. 2026-01-05.",
    "date_parsing": "Skriv datumet som ÅÅÅÅ-MM-DD, t.ex. 2026-01-05.",
    "string_pattern_mismatch": "Skriv tiden som TT:MM, t.ex. 08:00.",
    "literal_error": "Välj bland alternativen.",
    "enum": "Välj bland alternativen.",
    "int_parsing": "Skriv ett heltal.",
    "float_parsing": "Skriv ett tal.",
    "value_error": "Värdet går inte att använda.",
}


def field_text(text: str) -> str:
    """A form value as typed, trimmed; non-strings (files) read as empty."""
    return text.strip() if isinstance(text, str) else ""


def swedish(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind in ("greater_than_equal", "less_than_equal"):
        return "Värdet ligger utanför det tillåtna intervallet."
    if kind in ("string_too_long", "too_long"):
        return f"Högst {context.get('max_length', '')} tecken.".replace(" .", ".")
    return _BY_TYPE.get(kind, "Värdet går inte att använda.")


def validation_errors(
    exc: ValidationError, fields: dict[tuple[str | int, ...], str]
) -> FieldErrors:
    """Each pydantic error under the form field its location names (the longest match wins);
    an unmatched location goes under "" (shown at the top of the form)."""
    errors: FieldErrors = {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = ""
        for size in range(len(loc), 0, -1):
            if loc[:size] in fields:
                field = fields[loc[:size]]
                break
        errors.setdefault(field, swedish(dict(error)))
    return errors


def problem_text(exc: ProblemError) -> str:
    """A service's refusal as one sentence for the page."""
    return exc.detail or problem_title(exc)
