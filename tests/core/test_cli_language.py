"""The command line speaks one language, Swedish: every command's --help, from its first line to
the last (typer's own words included), and the help texts themselves.

The check is a list of English function words, which never occur in a Swedish sentence, plus
typer's English headings. Option and command names (--show-completion, `report learning`) stay
as they are, so they are taken out before the check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import get_settings

ENGLISH = re.compile(
    r"\b(the|and|of|to|is|are|was|with|from|for|only|this|that|these|when|or|not|be|if|your|"
    r"you|will|can|must|should|which|each|every|into|file|files|show|write|usage|options|"
    r"commands|arguments|required|default|message|exit)\b",
    re.IGNORECASE,
)
# Names, not words: --options, `nanolearn command sub`, ENV_VARS, /api/paths.
NAMES = re.compile(r"--?[\w-]+|nanolearn(?: [a-z-]+(?:\|[a-z-]+)*)+|\b[A-Z_]{3,}\b|/[\w/{}.-]+")

runner = CliRunner()


def english_words(text: str) -> list[str]:
    return ENGLISH.findall(NAMES.sub(" ", text))


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(cli)))


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_every_command_is_walked() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"serve", "lessons check", "courses import", "employees erase"} <= paths
    assert {
        "report learning",
        "learning optimize",
        "privacy purge",
        "campaigns local-help",
    } <= paths
    assert len(paths) >= 30


def test_the_check_finds_english() -> None:
    assert english_words("Show this message.") == ["Show", "this", "message"]
    assert english_words("Only check and say what would change.") == ["Only", "and"]
    assert english_words("Visa bara vad som skulle ändras (--show-completion).") == []
    assert english_words("Se felen med: nanolearn lessons check") == []


@pytest.mark.parametrize(
    ("path", "command"),
    [pytest.param(path, command, id=" ".join(path) or "nanolearn") for path, command in COMMANDS],
)
def test_help_is_swedish(path: tuple[str, ...], command: Any) -> None:
    texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
    assert command.help, f"nanolearn {' '.join(path)} has no help text"
    for text in texts:
        assert english_words(text) == [], text
    shown = runner.invoke(cli, [*path, "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert command.help.split("\n")[0].strip() in shown.output
    assert "Användning:" in shown.output and "Visa den här hjälpen" in shown.output
    english = [line.strip() for line in shown.output.splitlines() if english_words(line)]
    assert english == []
