"""Validation errors in the reader's words: Swedish (the default) or English, never a library's.

pydantic writes e.g. "Value error, end_date is before start_date" or "Input should be a valid
integer, unable to parse string as an integer". Here each error becomes one sentence that shows
the bad value and says what to do, by the error's `type`; our own validators raise a
`core.i18n.Text`, which carries both languages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any

from app.core.i18n import in_language

_MAX_SHOWN = 60

# type -> (Swedish, English); {value} is the bad value as written, other fields from ctx.
_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("Fältet saknas. Lägg till det.", "The field is missing. Add it."),
    "extra_forbidden": (
        "Okänt fält. Ta bort det eller rätta stavningen.",
        "Unknown field. Remove it or correct the spelling.",
    ),
    "string_too_short": (
        "{value} är för kort: skriv minst {min_length} tecken.",
        "{value} is too short: write at least {min_length} characters.",
    ),
    "string_too_long": (
        "Texten är för lång: högst {max_length} tecken. Korta den.",
        "The text is too long: at most {max_length} characters. Shorten it.",
    ),
    "too_short": (
        "För få värden: minst {min_length}. Lägg till fler.",
        "Too few values: at least {min_length}. Add more.",
    ),
    "too_long": (
        "För många värden: högst {max_length}. Ta bort några.",
        "Too many values: at most {max_length}. Remove some.",
    ),
    "int_parsing": (
        "{value} är inget heltal. Skriv ett heltal, t.ex. 3.",
        "{value} is not a whole number. Write one, e.g. 3.",
    ),
    "int_from_float": (
        "{value} är inget heltal. Skriv ett heltal, t.ex. 3.",
        "{value} is not a whole number. Write one, e.g. 3.",
    ),
    "float_parsing": (
        "{value} är inget tal. Skriv ett tal med punkt, t.ex. 0.9.",
        "{value} is not a number. Write one, e.g. 0.9.",
    ),
    "bool_parsing": (
        "{value} är varken sant eller falskt. Skriv true eller false.",
        "{value} is neither true nor false. Write true or false.",
    ),
    "greater_than_equal": (
        "{value} är för litet: minst {ge}.",
        "{value} is too small: at least {ge}.",
    ),
    "greater_than": (
        "{value} är för litet: det ska vara större än {gt}.",
        "{value} is too small: it must be greater than {gt}.",
    ),
    "less_than_equal": ("{value} är för stort: högst {le}.", "{value} is too large: at most {le}."),
    "less_than": (
        "{value} är för stort: det ska vara mindre än {lt}.",
        "{value} is too large: it must be less than {lt}.",
    ),
    "enum": (
        "{value} finns inte. Välj ett av: {expected}.",
        "{value} is not allowed. Choose one of: {expected}.",
    ),
    "literal_error": (
        "{value} finns inte. Välj ett av: {expected}.",
        "{value} is not allowed. Choose one of: {expected}.",
    ),
    "date_parsing": (
        "{value} är inget datum. Skriv det som ÅÅÅÅ-MM-DD, t.ex. 2026-09-01.",
        "{value} is not a date. Write it as YYYY-MM-DD, e.g. 2026-09-01.",
    ),
    "date_from_datetime_parsing": (
        "{value} är inget datum. Skriv det som ÅÅÅÅ-MM-DD, t.ex. 2026-09-01.",
        "{value} is not a date. Write it as YYYY-MM-DD, e.g. 2026-09-01.",
    ),
    "time_parsing": (
        "{value} är ingen tid. Skriv den som TT:MM, t.ex. 08:30.",
        "{value} is not a time. Write it as HH:MM, e.g. 08:30.",
    ),
    "string_pattern_mismatch": (
        "{value} har fel form. Se fältets beskrivning och exempel i /docs.",
        "{value} has the wrong form. See the field's description and example in /docs.",
    ),
    "string_type": ("Här ska det stå text, inom citattecken.", "This must be text, in quotes."),
    "list_type": (
        'Här ska det stå en lista, t.ex. ["mon", "thu"].',
        'This must be a list, e.g. ["mon", "thu"].',
    ),
    "dict_type": (
        "Här ska det stå ett objekt med fält, inom { }.",
        "This must be an object with fields, in { }.",
    ),
    "model_attributes_type": (
        "Här ska det stå ett objekt med fält, inom { }.",
        "This must be an object with fields, in { }.",
    ),
    "json_invalid": (
        "Kroppen är ingen giltig JSON ({error}). Kontrollera citattecken och kommatecken.",
        "The body is not valid JSON ({error}). Check the quotes and commas.",
    ),
    "email": (
        "{value} är ingen giltig e-postadress. Skriv den som namn@kommun.se.",
        "{value} is not a valid e-mail address. Write it as name@example.org.",
    ),
}
# Types that share a message.
_MESSAGES["int_type"] = _MESSAGES["int_parsing"]
_MESSAGES["float_type"] = _MESSAGES["float_parsing"]
_MESSAGES["bool_type"] = _MESSAGES["bool_parsing"]
_MESSAGES["date_type"] = _MESSAGES["date_parsing"]
_MESSAGES["time_type"] = _MESSAGES["time_parsing"]
_MESSAGES["model_type"] = _MESSAGES["dict_type"]
_EMPTY = ("Fältet är tomt. Skriv något i det.", "The field is empty. Write something in it.")
# Prefixes pydantic puts before a validator's own message.
_PREFIXES = ("Value error, ", "Assertion failed, ")


def shown_value(value: Any, language: str = "sv") -> str:
    """The bad value as the caller wrote it, quoted and cut short."""
    if isinstance(value, (dict, list, tuple)):
        return "the value" if language == "en" else "värdet"
    if isinstance(value, (date, datetime, time)):
        value = value.isoformat()
    text = str(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    if not isinstance(value, str):
        return text
    return f"“{text}”" if language == "en" else f"”{text}”"


def _expected(ctx: Mapping[str, Any], language: str) -> str:
    expected = str(ctx.get("expected", ""))
    return expected.replace(" or ", " eller ") if language != "en" else expected


def error_message(error: Mapping[str, Any], language: str) -> str:
    """One pydantic error as a sentence in the language, with the value and what to do."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    own = ctx.get("error")
    if kind in ("value_error", "assertion_error") and isinstance(own, Exception) and own.args:
        return in_language(own.args[0], language)  # our own validator's message
    if kind == "value_error" and "reason" in ctx:
        kind = "email"  # EmailStr: the reason is the library's, in English
    english = language == "en"
    value = error.get("input")
    if kind == "string_too_short" and value == "":
        return _EMPTY[english]
    if kind == "string_pattern_mismatch" and ":[0-5]" in str(ctx.get("pattern", "")):
        kind = "time_parsing"  # an "HH:MM" field
    template = _MESSAGES.get(kind)
    if template is None:
        message = str(error.get("msg", ""))
        for prefix in _PREFIXES:
            message = message.removeprefix(prefix)
        return message
    shown = shown_value(value, language)
    fields = {k: v for k, v in ctx.items() if k != "error"}
    fields.update(value=shown, expected=_expected(ctx, language))
    fields.setdefault("error", ctx.get("error", ""))
    try:
        return template[english].format(**fields)
    except (KeyError, IndexError):
        return template[english]


def field_name(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_errors(errors: Iterable[Mapping[str, Any]], language: str) -> list[dict[str, str]]:
    """pydantic's errors as `[{field, message}]`, the messages in the language."""
    return [
        {"field": field_name(e.get("loc", ())), "message": error_message(e, language)}
        for e in errors
    ]
