"""Problems found in lesson files, and YAML read field by field so each problem points at its
field's line: the reporting half of the lesson checker (app.lessons.loader).

The messages reach project leaders through course uploads, so they are in plain Swedish: what is
wrong, with the value as written, and what to do. Field names stay as written in the file
('title'), values are quoted ”so”."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath
from typing import Any, Literal

import yaml

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    path: PurePath
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        prefix = "varning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


class Report:
    """Collects the problems of one file."""

    def __init__(self, path: PurePath, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.failed = False

    def error(self, line: int | None, message: str) -> None:
        self.failed = True
        self._add(Problem(self.path, line, message, "error"))

    def warning(self, line: int | None, message: str) -> None:
        self._add(Problem(self.path, line, message, "warning"))

    def _add(self, problem: Problem) -> None:
        if problem not in self.problems:  # e.g. <b> and </b> on one line: say it once
            self.problems.append(problem)


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "sant/falskt (true/false)"
    if isinstance(value, int | float):
        return "ett tal"
    if isinstance(value, date):
        return "ett datum"
    if isinstance(value, list):
        return "en lista"
    if isinstance(value, dict):
        return "en grupp av fält"
    return "text" if isinstance(value, str) else "tomt"


def quoted(value: object) -> str:
    """A value as the author wrote it, in Swedish quotes and cut short."""
    text = str(value)
    return f"”{text[:59]}…”" if len(text) > 60 else f"”{text}”"


def one_of(allowed: tuple[str, ...]) -> str:
    """The allowed values as Swedish lists them: "a, b eller c"."""
    return f"{', '.join(allowed[:-1])} eller {allowed[-1]}" if len(allowed) > 1 else allowed[0]


def construct(node: yaml.Node) -> Any:
    return yaml.constructor.SafeConstructor().construct_document(node)


class Fields:
    """A YAML mapping read field by field, so every problem points at its field's line."""

    def __init__(
        self, node: yaml.MappingNode, first_line: int, line: int, prefix: str, report: Report
    ) -> None:
        self.first_line = first_line  # file line of the YAML text's first line
        self.line = line  # where this mapping starts: "missing field" points here
        self.prefix = prefix  # "quiz." for nested fields, so messages name the full field
        self.report = report
        self.lines: dict[str, int] = {}
        self.nodes: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            key_line = first_line + key_node.start_mark.line
            if name in self.lines:
                report.error(
                    key_line,
                    f"fältet '{prefix}{name}' finns två gånger (även på rad {self.lines[name]}): "
                    "behåll ett av dem",
                )
            self.lines[name], self.nodes[name] = key_line, value_node

    def reject_unknown(self, allowed: tuple[str, ...]) -> None:
        for name, line in self.lines.items():
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = (
                    f"menade du '{close[0]}'?" if close else f"tillåtna fält: {', '.join(allowed)}"
                )
                self.report.error(line, f"okänt fält '{self.prefix}{name}' ({hint})")

    def _present(self, name: str, required: bool) -> yaml.Node | None:
        if name not in self.nodes and required:
            self.report.error(self.line, f"fältet '{self.prefix}{name}' saknas: lägg till det")
        return self.nodes.get(name)

    def text(self, name: str, *, required: bool = True, max_len: int | None = None) -> str | None:
        node = self._present(name, required)
        if node is None:
            return None
        value, line, label = construct(node), self.lines[name], f"fältet '{self.prefix}{name}'"
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.report.error(line, f"{label} är tomt: fyll i det")
            return None
        if not isinstance(value, str):
            quote = (
                f" ({quoted(node.value)}): sätt det inom citattecken"
                if isinstance(node, yaml.ScalarNode)
                else ""
            )
            self.report.error(line, f"{label} ska vara text, inte {kind_of(value)}{quote}")
            return None
        value = value.strip()
        if max_len is not None and len(value) > max_len:
            self.report.error(
                line, f"{label} har {len(value)} tecken men får ha högst {max_len}: korta texten"
            )
        return value

    def mapping(self, name: str, *, required: bool = True) -> Fields | None:
        node = self._present(name, required)
        if node is None:
            return None
        line = self.lines[name]
        if not isinstance(node, yaml.MappingNode):
            self.report.error(
                line,
                f"fältet '{self.prefix}{name}' ska vara en grupp av indragna fält på raderna under, "
                f"inte {kind_of(construct(node))}",
            )
            return None
        return Fields(node, self.first_line, line, f"{self.prefix}{name}.", self.report)

    def sequence(self, name: str) -> list[tuple[int, yaml.Node]] | None:
        """The items of a list field with their lines; reports a missing or empty list."""
        node, line = self._present(name, True), self.lines.get(name, self.line)
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode) and construct(node) is None:
            node = yaml.SequenceNode("tag:yaml.org,2002:seq", [])
        if not isinstance(node, yaml.SequenceNode):
            self.report.error(
                line,
                f"fältet '{self.prefix}{name}' ska vara en lista (rader som börjar med '- '), "
                f"inte {kind_of(construct(node))}",
            )
            return None
        if not node.value:
            self.report.error(line, f"fältet '{self.prefix}{name}' är tomt: lägg till minst en rad")
            return None
        return [(self.first_line + item.start_mark.line, item) for item in node.value]

    def texts(self, name: str, *, as_written: bool = False) -> list[tuple[int, str]] | None:
        """A list whose items must all be non-empty text. as_written: take plain numbers as
        typed, so a file named 01.md can be listed as '- 01' (YAML would read the number 1)."""
        items = self.sequence(name)
        if items is None:
            return None
        good: list[tuple[int, str]] = []
        for line, node in items:
            value = construct(node)
            if as_written and isinstance(node, yaml.ScalarNode) and value is not None:
                value = str(node.value)
            if not isinstance(value, str) or not value.strip():
                self.report.error(
                    line,
                    f"varje rad i fältet '{self.prefix}{name}' ska vara text, inte {kind_of(value)}",
                )
            else:
                good.append((line, value.strip()))
        return good if len(good) == len(items) else None


def yaml_problem(problem: str) -> str:
    """What the YAML parser found, in Swedish, and what to do about it."""
    if "mapping values are not allowed" in problem:
        return (
            "en text innehåller ': ' (kolon och mellanslag): sätt texten inom citattecken, "
            "eller skriv '>-' och texten indragen på raden under"
        )
    if "\\t" in problem or "tab" in problem:
        return "raden har ett tabbtecken: gör indrag med mellanslag i stället"
    return "kontrollera indrag, citattecken och hakparenteser på den här raden och raden ovanför"


def read_text(data: bytes, report: Report) -> str | None:
    """The file as text with \\n line ends; None (and an error naming the line) if not UTF-8."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        report.error(
            line,
            f"filen är inte sparad som UTF-8 (byte 0x{data[exc.start]:02x}): "
            "spara den som UTF-8 i din textredigerare",
        )
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_mapping(text: str, first_line: int, report: Report) -> Fields | None:
    """Parse YAML text that must be a mapping; syntax errors carry their line in the file."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            construct(node)  # surfaces constructor errors (e.g. unknown tags) here, once
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        problem = exc.problem or exc.context or ""
        at = f" (vid tecken {mark.column + 1})" if mark else ""
        report.error(line, f"raden går inte att läsa som YAML{at}: {yaml_problem(problem)}")
        return None
    except yaml.YAMLError as exc:
        report.error(first_line, f"filen går inte att läsa som YAML ({exc}): spara den igen")
        return None
    if not isinstance(node, yaml.MappingNode):
        what = "tomt" if node is None else kind_of(construct(node))
        report.error(first_line, f"här ska det stå fält som 'title: ...', men det är {what}")
        return None
    return Fields(node, first_line, max(first_line - 1, 1), "", report)
