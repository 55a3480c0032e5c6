"""Problems found in lesson files, and YAML read field by field so each problem points at its
field's line: the reporting half of the lesson checker (app.lessons.loader)."""

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
        prefix = "warning: " if self.severity == "warning" else ""
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
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a group of fields"
    return "text" if isinstance(value, str) else "empty"


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
                    f"field '{prefix}{name}' appears twice (also on line {self.lines[name]}): "
                    "keep one",
                )
            self.lines[name], self.nodes[name] = key_line, value_node

    def reject_unknown(self, allowed: tuple[str, ...]) -> None:
        for name, line in self.lines.items():
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
                self.report.error(line, f"unknown field '{self.prefix}{name}' ({hint})")

    def _present(self, name: str, required: bool) -> yaml.Node | None:
        if name not in self.nodes and required:
            self.report.error(self.line, f"missing field '{self.prefix}{name}'")
        return self.nodes.get(name)

    def text(self, name: str, *, required: bool = True, max_len: int | None = None) -> str | None:
        node = self._present(name, required)
        if node is None:
            return None
        value, line, label = construct(node), self.lines[name], f"'{self.prefix}{name}'"
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.report.error(line, f"{label} is empty: write it")
            return None
        if not isinstance(value, str):
            quote = ": put it in quotes" if isinstance(node, yaml.ScalarNode) else ""
            self.report.error(line, f"{label} must be text, not {kind_of(value)}{quote}")
            return None
        value = value.strip()
        if max_len is not None and len(value) > max_len:
            self.report.error(line, f"{label} has {len(value)} characters; at most {max_len}")
        return value

    def mapping(self, name: str, *, required: bool = True) -> Fields | None:
        node = self._present(name, required)
        if node is None:
            return None
        line = self.lines[name]
        if not isinstance(node, yaml.MappingNode):
            self.report.error(
                line,
                f"'{self.prefix}{name}' must be a group of indented fields, "
                f"not {kind_of(construct(node))}",
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
                f"'{self.prefix}{name}' must be a list (lines starting with '- '), "
                f"not {kind_of(construct(node))}",
            )
            return None
        if not node.value:
            self.report.error(line, f"'{self.prefix}{name}' is empty: add at least one item")
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
                    line, f"each item of '{self.prefix}{name}' must be text, not {kind_of(value)}"
                )
            else:
                good.append((line, value.strip()))
        return good if len(good) == len(items) else None


def yaml_hint(problem: str) -> str:
    if "mapping values are not allowed" in problem:
        return "text containing ': ' must be in quotes, or written as '>-' and indented below"
    if "\\t" in problem or "tab" in problem:
        return "indent with spaces, not tabs"
    return "check the indentation and quotes on this line and the line above"


def parse_mapping(text: str, first_line: int, report: Report) -> Fields | None:
    """Parse YAML text that must be a mapping; syntax errors carry their line in the file."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            construct(node)  # surfaces constructor errors (e.g. unknown tags) here, once
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        problem = exc.problem or exc.context or "invalid YAML"
        report.error(line, f"YAML syntax error: {problem} ({yaml_hint(problem)})")
        return None
    except yaml.YAMLError as exc:
        report.error(first_line, f"YAML error: {exc}")
        return None
    if not isinstance(node, yaml.MappingNode):
        what = "empty" if node is None else kind_of(construct(node))
        report.error(first_line, f"expected fields like 'title: ...', but this is {what}")
        return None
    return Fields(node, first_line, max(first_line - 1, 1), "", report)
