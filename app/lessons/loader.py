"""Read the lessons folder: course folders with course.yaml and Markdown lessons.

Every rule of docs/lesson-format.md is checked here. All problems are collected, not just the
first, each with the line of the offending field, so an author fixes a whole folder in one go.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict

Severity = Literal["error", "warning"]

BUNDLED_LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"
MAX_WORDS = 250
MAX_OPTION_LENGTH_RATIO = 2.5
MIN_OPTIONS, MAX_OPTIONS = 2, 5
BUNDLED_MIN_OPTIONS, BUNDLED_MAX_OPTIONS = 3, 4
# Column sizes in app/lessons/models.py.
MAX_KEY, MAX_TITLE, MAX_URL = 100, 200, 500
LANGUAGES = ("sv", "en")
TOPICS = ("extremism", "violence", "other")
KVINNOFRIDSLINJEN = re.compile(r"020[\s-]*50[\s-]*50[\s-]*50")
EMERGENCY = re.compile(r"(?<!\d)112(?!\d)")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
WORD = re.compile(r"\w+(?:[-'’]\w+)*")
# A sentence ends where . ! ? is followed by space and a capital letter (not "t.ex. polisen").
SENTENCE_BREAK = re.compile(r"[.!?…]+[\"”’)]*\s+[\"“(]?[A-ZÅÄÖÉÜ]")

COURSE_FIELDS = ("title", "description", "language", "topic", "help", "lessons")
LESSON_FIELDS = ("id", "title", "key_point", "what_you_do", "quiz", "read_more", "sources")
QUIZ_FIELDS = ("question", "options", "explanation")
OPTION_FIELDS = ("text", "correct")
READ_MORE_FIELDS = ("title", "url")
CONTENT_FIELDS = {
    "title", "key_point", "body_md", "what_you_do", "question", "options",
    "correct_index", "explanation", "read_more_url", "read_more_title", "sources",
}  # fmt: skip

_markdown = MarkdownIt("commonmark")


def _sha256_json(content: Any) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class LessonFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    file_name: str
    path: Path
    id_line: int
    title: str
    key_point: str
    body_md: str
    what_you_do: str
    question: str
    options: list[str]
    correct_index: int
    explanation: str
    read_more_url: str | None = None
    read_more_title: str | None = None
    sources: list[str]

    @property
    def content_hash(self) -> str:
        """Identifies what a lesson says; deliveries and answers point at it."""
        return _sha256_json(self.model_dump(include=CONTENT_FIELDS))


class CourseFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    slug: str
    path: Path
    title: str
    description: str = ""
    language: str
    topic: str = "other"
    help: str = ""
    lessons: list[LessonFile]

    @property
    def content_hash(self) -> str:
        fields = self.model_dump(include={"title", "description", "language", "topic", "help"})
        return _sha256_json({**fields, "lessons": [lesson.key for lesson in self.lessons]})


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


@dataclass
class LoadResult:
    root: Path
    courses: list[CourseFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    course_folders: int = 0
    lesson_files: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Report:
    """Collects the problems of one file."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
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


def _kind(value: Any) -> str:
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


def _construct(node: yaml.Node) -> Any:
    return yaml.constructor.SafeConstructor().construct_document(node)


class _Fields:
    """A YAML mapping read field by field, so every problem points at its field's line."""

    def __init__(
        self, node: yaml.MappingNode, first_line: int, line: int, prefix: str, report: _Report
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
        value, line, label = _construct(node), self.lines[name], f"'{self.prefix}{name}'"
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.report.error(line, f"{label} is empty: write it")
            return None
        if not isinstance(value, str):
            quote = ": put it in quotes" if isinstance(node, yaml.ScalarNode) else ""
            self.report.error(line, f"{label} must be text, not {_kind(value)}{quote}")
            return None
        value = value.strip()
        if max_len is not None and len(value) > max_len:
            self.report.error(line, f"{label} has {len(value)} characters; at most {max_len}")
        return value

    def mapping(self, name: str, *, required: bool = True) -> _Fields | None:
        node = self._present(name, required)
        if node is None:
            return None
        line = self.lines[name]
        if not isinstance(node, yaml.MappingNode):
            self.report.error(
                line,
                f"'{self.prefix}{name}' must be a group of indented fields, "
                f"not {_kind(_construct(node))}",
            )
            return None
        return _Fields(node, self.first_line, line, f"{self.prefix}{name}.", self.report)

    def sequence(self, name: str) -> list[tuple[int, yaml.Node]] | None:
        """The items of a list field with their lines; reports a missing or empty list."""
        node, line = self._present(name, True), self.lines.get(name, self.line)
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode) and _construct(node) is None:
            node = yaml.SequenceNode("tag:yaml.org,2002:seq", [])
        if not isinstance(node, yaml.SequenceNode):
            self.report.error(
                line,
                f"'{self.prefix}{name}' must be a list (lines starting with '- '), "
                f"not {_kind(_construct(node))}",
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
            value = _construct(node)
            if as_written and isinstance(node, yaml.ScalarNode) and value is not None:
                value = str(node.value)
            if not isinstance(value, str) or not value.strip():
                self.report.error(
                    line, f"each item of '{self.prefix}{name}' must be text, not {_kind(value)}"
                )
            else:
                good.append((line, value.strip()))
        return good if len(good) == len(items) else None


def _yaml_hint(problem: str) -> str:
    if "mapping values are not allowed" in problem:
        return "text containing ': ' must be in quotes, or written as '>-' and indented below"
    if "\\t" in problem or "tab" in problem:
        return "indent with spaces, not tabs"
    return "check the indentation and quotes on this line and the line above"


def _parse_mapping(text: str, first_line: int, report: _Report) -> _Fields | None:
    """Parse YAML text that must be a mapping; syntax errors carry their line in the file."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _construct(node)  # surfaces constructor errors (e.g. unknown tags) here, once
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        problem = exc.problem or exc.context or "invalid YAML"
        report.error(line, f"YAML syntax error: {problem} ({_yaml_hint(problem)})")
        return None
    except yaml.YAMLError as exc:
        report.error(first_line, f"YAML error: {exc}")
        return None
    if not isinstance(node, yaml.MappingNode):
        what = "empty" if node is None else _kind(_construct(node))
        report.error(first_line, f"expected fields like 'title: ...', but this is {what}")
        return None
    return _Fields(node, first_line, max(first_line - 1, 1), "", report)


def _read_text(path: Path, report: _Report) -> str | None:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        report.error(
            line,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}): "
            "save it as UTF-8 in your editor",
        )
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str, report: _Report) -> tuple[str, str, int] | None:
    """The front matter's YAML, the body, and the file line where the body starts."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        report.error(1, "the file must start with a line '---', then the fields, then '---' again")
        return None
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if close is None:
        report.error(
            1, "the front matter is not closed: add a line '---' between the fields and the text"
        )
        return None
    body_lines = lines[close + 1 :]
    blank = next((i for i, line in enumerate(body_lines) if line.strip()), len(body_lines))
    body = "\n".join(body_lines[blank:]).rstrip()
    return "\n".join(lines[1:close]), body, close + 2 + (blank if body else 0)


def _inline_text(token: Any) -> str:
    return " ".join(c.content for c in token.children or [] if c.type in ("text", "code_inline"))


def _check_body(body: str, first_line: int, report: _Report) -> str:
    """Reports HTML, images, links and big headings; returns the text without Markdown."""
    words: list[str] = []
    for token in _markdown.parse(body):
        line = first_line + (token.map[0] if token.map else 0)
        if token.type == "html_block":
            report.error(line, "raw HTML is not allowed in the text: write it in Markdown")
        elif token.type == "heading_open" and token.tag in ("h1", "h2"):
            report.error(
                line, "headings '#' and '##' are not allowed in the text: use '###' at most"
            )
        elif token.type in ("fence", "code_block"):
            words.append(token.content)
        elif token.type == "inline":
            words.append(_inline_text(token))
            _check_inline(token, line, report)
    return " ".join(words)


def _check_inline(token: Any, line: int, report: _Report) -> None:
    for child in token.children or []:
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        elif child.type == "html_inline":
            report.error(line, "raw HTML is not allowed in the text: write it in Markdown")
        elif child.type == "image":
            report.error(line, "images are not allowed in lessons: describe it in words")
        elif child.type == "link_open":
            report.error(line, "links are not allowed in the text: put one page under 'read_more:'")


def _plain(markdown: str) -> str:
    return " ".join(_inline_text(t) for t in _markdown.parse(markdown) if t.type == "inline")


def _read_quiz(quiz: _Fields, bundled: bool) -> tuple[str, list[str], int, str] | None:
    quiz.reject_unknown(QUIZ_FIELDS)
    question, explanation = quiz.text("question"), quiz.text("explanation")
    items = quiz.sequence("options")
    if items is None:
        return None
    texts: list[str] = []
    correct: list[int] = []
    seen: dict[str, int] = {}
    for index, (line, node) in enumerate(items):
        if not isinstance(node, yaml.MappingNode):
            quiz.report.error(line, "each option is written '- text: ...' (plus 'correct: true')")
            continue
        option = _Fields(node, quiz.first_line, line, f"quiz.options[{index + 1}].", quiz.report)
        option.reject_unknown(OPTION_FIELDS)
        text = option.text("text")
        is_correct = _construct(option.nodes["correct"]) if "correct" in option.nodes else False
        if not isinstance(is_correct, bool):
            quiz.report.error(option.lines["correct"], "'correct' must be true or false")
        elif is_correct:
            correct.append(index)
        if text is None:
            continue
        if text.casefold() in seen:
            quiz.report.error(line, f"option repeats the option on line {seen[text.casefold()]}")
        seen.setdefault(text.casefold(), line)
        texts.append(text)
    _check_options(quiz, texts, correct, items, bundled)
    if quiz.report.failed or question is None or explanation is None:
        return None
    return question, texts, correct[0], explanation


def _check_options(
    quiz: _Fields,
    texts: list[str],
    correct: list[int],
    items: list[tuple[int, yaml.Node]],
    bundled: bool,
) -> None:
    line, count = quiz.lines["options"], len(items)
    if not MIN_OPTIONS <= count <= MAX_OPTIONS:
        quiz.report.error(line, f"the quiz needs 2 to 5 options, not {count}")
    elif bundled and not BUNDLED_MIN_OPTIONS <= count <= BUNDLED_MAX_OPTIONS:
        quiz.report.warning(line, f"bundled courses use 3 or 4 options; this quiz has {count}")
    if not correct:
        quiz.report.error(line, "no option is marked 'correct: true': mark the right one")
    for extra in correct[1:]:
        quiz.report.error(items[extra][0], "a second option marked 'correct: true': mark only one")
    if len(texts) >= 2 and max(map(len, texts)) > MAX_OPTION_LENGTH_RATIO * min(map(len, texts)):
        quiz.report.warning(
            line, "the options differ a lot in length, which gives the answer away: even them out"
        )


def _read_read_more(fields: _Fields) -> tuple[str | None, str | None]:
    read_more = fields.mapping("read_more", required=False)
    if read_more is None:
        return None, None
    read_more.reject_unknown(READ_MORE_FIELDS)
    title = read_more.text("title", max_len=MAX_TITLE)
    url = read_more.text("url", max_len=MAX_URL)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc or any(c.isspace() for c in url):
            fields.report.error(
                read_more.lines["url"],
                f"'read_more.url' must be a full address starting with https://, not {url!r}",
            )
    return url, title


def _read_id(fields: _Fields) -> str | None:
    key = fields.text("id", max_len=MAX_KEY)
    if key is not None and not SLUG.fullmatch(key):
        fields.report.error(
            fields.lines["id"],
            f"id {key!r} may only use lowercase a-z, digits and single hyphens (like rad-01)",
        )
    return key


def _check_key_point_and_words(
    fields: _Fields, key_point: str | None, what_you_do: str | None, plain_body: str
) -> None:
    if key_point is None:
        return
    line = fields.lines["key_point"]
    if SENTENCE_BREAK.search(key_point):
        fields.report.warning(line, "'key_point' should be ONE sentence")
    words = len(WORD.findall(f"{_plain(key_point)} {_plain(what_you_do or '')} {plain_body}"))
    if words > MAX_WORDS:
        fields.report.error(
            line, f"key_point, what_you_do and the text have {words} words; at most {MAX_WORDS}"
        )


def _read_lesson(path: Path, bundled: bool, problems: list[Problem]) -> LessonFile | None:
    report = _Report(path, problems)
    text = _read_text(path, report)
    split = _split_front_matter(text, report) if text is not None else None
    if split is None:
        return None
    front_matter, body, body_line = split
    fields = _parse_mapping(front_matter, 2, report)
    if fields is None:
        return None
    fields.reject_unknown(LESSON_FIELDS)
    key, title = _read_id(fields), fields.text("title", max_len=MAX_TITLE)
    key_point, what_you_do = fields.text("key_point"), fields.text("what_you_do")
    quiz_fields = fields.mapping("quiz")
    quiz = _read_quiz(quiz_fields, bundled) if quiz_fields is not None else None
    read_more_url, read_more_title = _read_read_more(fields)
    sources = fields.texts("sources")
    if not body:
        report.error(body_line, "the lesson text is empty: write it after the closing '---'")
    _check_key_point_and_words(fields, key_point, what_you_do, _check_body(body, body_line, report))
    if (
        report.failed or key is None or title is None or key_point is None
        or what_you_do is None or quiz is None or sources is None
    ):  # fmt: skip
        return None
    question, options, correct_index, explanation = quiz
    return LessonFile(
        key=key, file_name=path.name, path=path, id_line=fields.lines["id"], title=title,
        key_point=key_point, body_md=body, what_you_do=what_you_do, question=question,
        options=options, correct_index=correct_index, explanation=explanation,
        read_more_url=read_more_url, read_more_title=read_more_title,
        sources=[source for _, source in sources],
    )  # fmt: skip


def _read_course_yaml(folder: Path, report: _Report) -> tuple[_Fields, dict[str, Any]] | None:
    text = _read_text(report.path, report)
    fields = _parse_mapping(text, 1, report) if text is not None else None
    if fields is None:
        return None
    fields.reject_unknown(COURSE_FIELDS)
    values: dict[str, Any] = {
        "slug": folder.name,
        "path": report.path,
        "title": fields.text("title", max_len=MAX_TITLE),
        "description": fields.text("description", required=False) or "",
        "language": fields.text("language"),
        "topic": fields.text("topic", required=False) or "other",
        "help": fields.text("help", required=False) or "",
    }
    for name, allowed in (("language", LANGUAGES), ("topic", TOPICS)):
        if values[name] is not None and values[name] not in allowed:
            report.error(
                fields.lines[name],
                f"'{name}' must be one of {', '.join(allowed)}, not {values[name]!r}",
            )
    if values["topic"] == "violence" and not (
        KVINNOFRIDSLINJEN.search(values["help"]) and EMERGENCY.search(values["help"])
    ):
        report.error(
            fields.lines.get("help", fields.lines["topic"]),
            "a course with 'topic: violence' needs a 'help' text that gives "
            "Kvinnofridslinjen's number 020-50 50 50 and 112",
        )
    return fields, values


def _lesson_names(fields: _Fields, folder: Path) -> tuple[list[tuple[int, str]], set[str]] | None:
    """The listed names that have a file, and every name listed; None if the list is broken."""
    listed = fields.texts("lessons", as_written=True)
    if listed is None:
        return None
    found: list[tuple[int, str]] = []
    seen: set[str] = set()
    for line, name in listed:
        if name.endswith(".md"):
            fields.report.error(line, f"write the lesson name without .md: '{name[:-3]}'")
            name = name[:-3]  # one message is enough: not also "file not listed"
        elif "/" in name or "\\" in name or name.startswith("."):
            fields.report.error(line, f"{name!r} is not a file name in this folder")
        elif name in seen:
            fields.report.error(line, f"lesson '{name}' is listed twice")
        elif not (folder / f"{name}.md").is_file():
            fields.report.error(line, f"lesson '{name}' is listed but there is no file {name}.md")
        else:
            found.append((line, name))
        seen.add(name)
    return found, seen


def _has_course_yaml(folder: Path, report: _Report, markdown_files: list[Path]) -> bool | None:
    """True when course.yaml exists; None when the folder is empty and no course at all."""
    if report.path.is_file():
        return True
    if (folder / "course.yml").is_file():
        report.error(None, "rename course.yml to course.yaml")
    elif markdown_files:
        report.error(None, "missing: every course folder needs a course.yaml listing its lessons")
    else:
        message = "no course.yaml and no lessons: not a course, ignored"
        report.problems.append(Problem(folder, None, message, "warning"))
        return None
    return False


def _load_course(
    folder: Path, bundled: bool, result: LoadResult, keys: dict[str, LessonFile]
) -> None:
    report = _Report(folder / "course.yaml", result.problems)
    markdown_files = sorted(folder.glob("*.md"))
    has_yaml = _has_course_yaml(folder, report, markdown_files)
    if has_yaml is None:
        return
    result.course_folders += 1
    if not SLUG.fullmatch(folder.name) or len(folder.name) > MAX_KEY:
        message = "the folder name is the course's address: use only a-z, 0-9 and -"
        result.problems.append(Problem(folder, None, message))
    course = _read_course_yaml(folder, report) if has_yaml else None
    names = _lesson_names(course[0], folder) if course is not None else None
    lessons: dict[str, LessonFile] = {}
    for path in markdown_files:
        result.lesson_files += 1
        lesson = _read_lesson(path, bundled, result.problems)
        if names is not None and path.stem not in names[1]:
            message = "not listed under 'lessons:' in course.yaml: add it or delete the file"
            result.problems.append(Problem(path, 1, message))
        if lesson is not None:
            lessons[path.stem] = lesson
            _check_unique_key(lesson, keys, result)
    # Only whole courses: a course missing a broken lesson must never reach the database.
    if course is None or names is None or report.failed:
        return
    if all(name in lessons for _, name in names[0]):
        in_order = [lessons[name] for _, name in names[0]]
        result.courses.append(CourseFile(**course[1], lessons=in_order))


def _check_unique_key(lesson: LessonFile, keys: dict[str, LessonFile], result: LoadResult) -> None:
    first = keys.setdefault(lesson.key, lesson)
    if first is not lesson:
        result.problems.append(
            Problem(
                lesson.path,
                lesson.id_line,
                f"id '{lesson.key}' is already used by {first.path}:{first.id_line}; "
                "every lesson needs its own id",
            )
        )


def _is_bundled(root: Path) -> bool:
    return root.resolve() == BUNDLED_LESSONS_DIR


def load_courses(root: Path, *, bundled: bool | None = None) -> LoadResult:
    """Read every course folder under root. bundled: the stricter rules for shipped courses
    (default: when root is this repository's lessons/ folder)."""
    result = LoadResult(root)
    if not root.is_dir():
        result.problems.append(
            Problem(root, None, "there is no lessons folder here: set NANOLEARN_LESSONS_DIR")
        )
        return result
    bundled = _is_bundled(root) if bundled is None else bundled
    keys: dict[str, LessonFile] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if not folder.name.startswith((".", "_")):
            _load_course(folder, bundled, result, keys)
    if result.course_folders == 0:
        result.problems.append(
            Problem(root, None, "no courses here: a course is a folder with a course.yaml")
        )
    result.problems.sort(key=lambda p: (str(p.path), p.line or 0))
    return result


def check(root: Path) -> list[Problem]:
    """Every problem in the lessons folder (errors and warnings), in file order."""
    return load_courses(root).problems
