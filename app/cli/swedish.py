"""The few words typer itself prints around our help texts, in Swedish.

typer has no translations: its panel titles are module constants read when help is printed, the
help option's text and the usage line ("Usage: [OPTIONS]") are fixed in its copy of click, and the completion options are
the defaults of two placeholder functions. `use_swedish()` sets them once, when app.cli is
imported, so `nanolearn … --help` is Swedish from the first line to the last. These are typer's
internals: tests/core/test_cli_language.py reads every command's help and fails when an upgrade
brings English back. Errors typer writes for a wrong command line ("Missing option …") stay in
English; they name the option, which is the same word in both languages.
"""

from __future__ import annotations

from typing import Any

import typer.completion as completion
import typer.rich_utils as rich_utils
from typer._click import core as click_core
from typer._click import formatting

HELP_OPTION = "Visa den här hjälpen och avsluta."
USAGE = "Användning: "
# The usage line's placeholders: click's defaults, then ours.
PLACEHOLDERS = (("COMMAND [ARGS]...", "KOMMANDO [ARGUMENT]..."), ("[OPTIONS]", "[FLAGGOR]"))
COMPLETION = {
    "install_completion": "Installera kommandokomplettering för skalet du använder.",
    "show_completion": "Visa kommandokompletteringen för skalet, för att kopiera eller anpassa den.",
}


def use_swedish() -> None:
    rich_utils.ARGUMENTS_PANEL_TITLE = "Argument"
    rich_utils.OPTIONS_PANEL_TITLE = "Flaggor"
    rich_utils.COMMANDS_PANEL_TITLE = "Kommandon"
    rich_utils.ERRORS_PANEL_TITLE = "Fel"
    rich_utils.ABORTED_TEXT = "Avbrutet."
    rich_utils.DEFAULT_STRING = "[standard: {}]"
    rich_utils.REQUIRED_LONG_STRING = "[krävs]"
    rich_utils.DEPRECATED_STRING = "(utgår) "
    rich_utils.RICH_HELP = "Skriv [blue]'{command_path} {help_option}'[/] för hjälp."
    _swedish_help_option()
    _swedish_usage()
    for placeholder in (
        completion._install_completion_placeholder_function,
        completion._install_completion_no_auto_placeholder_function,
    ):
        names = placeholder.__code__.co_varnames[: placeholder.__code__.co_argcount]
        for name, default in zip(names, placeholder.__defaults__ or (), strict=True):
            default.help = COMPLETION.get(name, default.help)


def _swedish_help_option() -> None:
    original = click_core.Command.get_help_option
    if getattr(original, "swedish", False):
        return

    def get_help_option(self: click_core.Command, ctx: click_core.Context) -> Any:
        option = original(self, ctx)
        if option is not None:
            option.help = HELP_OPTION
        return option

    get_help_option.swedish = True  # type: ignore[attr-defined]
    setattr(click_core.Command, "get_help_option", get_help_option)  # noqa: B010


def _swedish_usage() -> None:
    original = formatting.HelpFormatter.write_usage
    if getattr(original, "swedish", False):
        return

    def write_usage(
        self: formatting.HelpFormatter, prog: str, args: str = "", prefix: str | None = None
    ) -> None:
        for english, swedish in PLACEHOLDERS:
            args = args.replace(english, swedish)
        original(self, prog, args, USAGE if prefix is None else prefix)

    write_usage.swedish = True  # type: ignore[attr-defined]
    setattr(formatting.HelpFormatter, "write_usage", write_usage)  # noqa: B010
    # The help's first line is coloured by matching the prefix.
    rich_utils.OptionHighlighter.highlights = [
        pattern.replace("Usage: ", USAGE) for pattern in rich_utils.OptionHighlighter.highlights
    ]
