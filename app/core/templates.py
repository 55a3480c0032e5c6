"""The one Jinja environment for e-mails, public pages and the dashboard."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

from app.core.markdown import (
    lesson_body_html,
    lesson_body_text,
    local_help_html,
    markdown_to_html,
    markdown_to_text,
)

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=1)
def template_env() -> Environment:
    """The one Jinja environment for e-mails and pages (autoescape on for .html)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["markdown"] = lambda md: Markup(markdown_to_html(md))
    env.filters["lesson_markdown"] = lambda md: Markup(lesson_body_html(md))
    env.filters["markdown_text"] = markdown_to_text
    env.filters["local_help"] = lambda md: Markup(local_help_html(md))
    env.filters["lesson_markdown_text"] = lesson_body_text
    env.filters["letter"] = lambda index: chr(ord("A") + index)
    env.filters["web_url"] = web_url
    return env


@lru_cache(maxsize=32)
def get_template(name: str) -> Template:
    """A compiled template from templates/, loaded once per process."""
    return template_env().get_template(name)


def web_url(url: str | None) -> str | None:
    """The URL when it is a plain web link, else None (guards hrefs that come from lesson files)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None
