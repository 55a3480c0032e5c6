"""Read the lessons folder: course folders with course.yaml and Markdown lessons.

Every rule of docs/lesson-format.md is checked here. All problems are collected, not just the
first, each with the line of the offending field, so an author fixes a whole folder in one go.
Messages are Swedish (see app.lessons.problems).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import urlsplit

import yaml
from markdown_it import MarkdownIt

from app.lessons.course_files import CourseFile, LessonFile, LoadResult
from app.lessons.problems import (
    Fields,
    Problem,
    Report,
    construct,
    one_of,
    parse_mapping,
    quoted,
    read_text,
)
from app.lessons.sources import CourseFolder, DiskTree, LessonsTree

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
_markdown = MarkdownIt("commonmark")
HTML = "HTML är inte tillåtet i texten: skriv med Markdown"


def _split_front_matter(text: str, report: Report) -> tuple[str, str, int] | None:
    """The front matter's YAML, the body, and the file line where the body starts."""
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        report.error(1, "filen ska börja med en rad '---', sedan fälten och sedan '---' igen")
        return None
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if close is None:
        report.error(
            1,
            "fälten i början av filen avslutas inte: lägg till en rad '---' mellan fälten och texten",
        )
        return None
    body_lines = lines[close + 1 :]
    blank = next((i for i, line in enumerate(body_lines) if line.strip()), len(body_lines))
    body = "\n".join(body_lines[blank:]).rstrip()
    return "\n".join(lines[1:close]), body, close + 2 + (blank if body else 0)


def _inline_text(token: Any) -> str:
    return " ".join(c.content for c in token.children or [] if c.type in ("text", "code_inline"))


def _check_body(body: str, first_line: int, report: Report) -> str:
    """Reports HTML, images, links and big headings; returns the text without Markdown."""
    words: list[str] = []
    for token in _markdown.parse(body):
        line = first_line + (token.map[0] if token.map else 0)
        if token.type == "html_block":
            report.error(line, HTML)
        elif token.type == "heading_open" and token.tag in ("h1", "h2"):
            report.error(
                line, "rubriker med '#' och '##' är inte tillåtna i texten: använd högst '###'"
            )
        elif token.type in ("fence", "code_block"):
            words.append(token.content)
        elif token.type == "inline":
            words.append(_inline_text(token))
            _check_inline(token, line, report)
    return " ".join(words)


def _check_inline(token: Any, line: int, report: Report) -> None:
    for child in token.children or []:
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        elif child.type == "html_inline":
            report.error(line, HTML)
        elif child.type == "image":
            report.error(line, "bilder är inte tillåtna i lektioner: beskriv bilden med ord")
        elif child.type == "link_open":
            report.error(
                line, "länkar är inte tillåtna i texten: lägg en sida att läsa under 'read_more:'"
            )


def _plain(markdown: str) -> str:
    return " ".join(_inline_text(t) for t in _markdown.parse(markdown) if t.type == "inline")


def _read_quiz(quiz: Fields, bundled: bool) -> tuple[str, list[str], int, str] | None:
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
            quiz.report.error(
                line,
                "skriv varje svarsalternativ som '- text: ...' (och 'correct: true' för det rätta)",
            )
            continue
        option = Fields(node, quiz.first_line, line, f"quiz.options[{index + 1}].", quiz.report)
        option.reject_unknown(OPTION_FIELDS)
        text = option.text("text")
        is_correct = construct(option.nodes["correct"]) if "correct" in option.nodes else False
        if not isinstance(is_correct, bool):
            quiz.report.error(
                option.lines["correct"],
                f"fältet 'correct' ska vara true eller false, inte {quoted(is_correct)}",
            )
        elif is_correct:
            correct.append(index)
        if text is None:
            continue
        if text.casefold() in seen:
            quiz.report.error(
                line,
                f"alternativet {quoted(text)} finns redan på rad {seen[text.casefold()]}: "
                "skriv ett annat alternativ",
            )
        seen.setdefault(text.casefold(), line)
        texts.append(text)
    _check_options(quiz, texts, correct, items, bundled)
    if quiz.report.failed or question is None or explanation is None:
        return None
    return question, texts, correct[0], explanation


def _check_options(
    quiz: Fields,
    texts: list[str],
    correct: list[int],
    items: list[tuple[int, yaml.Node]],
    bundled: bool,
) -> None:
    line, count = quiz.lines["options"], len(items)
    if not MIN_OPTIONS <= count <= MAX_OPTIONS:
        quiz.report.error(line, f"frågan ska ha 2 till 5 svarsalternativ, inte {count}")
    elif bundled and not BUNDLED_MIN_OPTIONS <= count <= BUNDLED_MAX_OPTIONS:
        quiz.report.warning(
            line,
            f"kurserna som följer med Nanolearn har 3 eller 4 svarsalternativ; här är de {count}",
        )
    if not correct:
        quiz.report.error(
            line, "inget alternativ är markerat med 'correct: true': markera det rätta"
        )
    for extra in correct[1:]:
        quiz.report.error(
            items[extra][0],
            "ett andra alternativ är markerat med 'correct: true': markera bara ett",
        )
    if len(texts) >= 2 and max(map(len, texts)) > MAX_OPTION_LENGTH_RATIO * min(map(len, texts)):
        quiz.report.warning(
            line, "alternativen är mycket olika långa, vilket avslöjar svaret: gör dem jämnare"
        )


def _read_read_more(fields: Fields) -> tuple[str | None, str | None]:
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
                f"fältet 'read_more.url' ska vara en hel adress som börjar med https://, inte {quoted(url)}",
            )
    return url, title


def _read_id(fields: Fields) -> str | None:
    key = fields.text("id", max_len=MAX_KEY)
    if key is not None and not SLUG.fullmatch(key):
        fields.report.error(
            fields.lines["id"],
            f"id {quoted(key)} får bara innehålla små bokstäver a–z, siffror och enstaka "
            "bindestreck (som rad-01)",
        )
    return key


def _check_key_point_and_words(
    fields: Fields, key_point: str | None, what_you_do: str | None, plain_body: str
) -> None:
    if key_point is None:
        return
    line = fields.lines["key_point"]
    if SENTENCE_BREAK.search(key_point):
        fields.report.warning(
            line, "fältet 'key_point' ska vara EN mening: flytta resten till texten"
        )
    words = len(WORD.findall(f"{_plain(key_point)} {_plain(what_you_do or '')} {plain_body}"))
    if words > MAX_WORDS:
        fields.report.error(
            line,
            f"key_point, what_you_do och texten har tillsammans {words} ord men får ha högst "
            f"{MAX_WORDS}: korta lektionen",
        )


def _read_lesson(
    folder: CourseFolder, name: str, bundled: bool, problems: list[Problem]
) -> LessonFile | None:
    path = folder.path / name
    report = Report(path, problems)
    text = read_text(folder.read(name), report)
    split = _split_front_matter(text, report) if text is not None else None
    if split is None:
        return None
    front_matter, body, body_line = split
    fields = parse_mapping(front_matter, 2, report)
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
        report.error(body_line, "lektionstexten är tom: skriv den efter den avslutande raden '---'")
    _check_key_point_and_words(fields, key_point, what_you_do, _check_body(body, body_line, report))
    if (
        report.failed or key is None or title is None or key_point is None
        or what_you_do is None or quiz is None or sources is None
    ):  # fmt: skip
        return None
    question, options, correct_index, explanation = quiz
    return LessonFile(
        key=key, file_name=name, path=path, id_line=fields.lines["id"], title=title,
        key_point=key_point, body_md=body, what_you_do=what_you_do, question=question,
        options=options, correct_index=correct_index, explanation=explanation,
        read_more_url=read_more_url, read_more_title=read_more_title,
        sources=[source for _, source in sources],
    )  # fmt: skip


def _read_course_yaml(folder: CourseFolder, report: Report) -> tuple[Fields, dict[str, Any]] | None:
    text = read_text(folder.read("course.yaml"), report)
    fields = parse_mapping(text, 1, report) if text is not None else None
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
                f"fältet '{name}' ska vara {one_of(allowed)}, inte {quoted(values[name])}",
            )
    if values["topic"] == "violence" and not (
        KVINNOFRIDSLINJEN.search(values["help"]) and EMERGENCY.search(values["help"])
    ):
        report.error(
            fields.lines.get("help", fields.lines["topic"]),
            "en kurs med 'topic: violence' behöver en 'help'-text med Kvinnofridslinjens "
            "nummer 020-50 50 50 och 112",
        )
    return fields, values


def _lesson_names(
    fields: Fields, file_names: set[str]
) -> tuple[list[tuple[int, str]], set[str]] | None:
    """The listed names that have a file, and every name listed; None if the list is broken."""
    listed = fields.texts("lessons", as_written=True)
    if listed is None:
        return None
    found: list[tuple[int, str]] = []
    seen: set[str] = set()
    for line, name in listed:
        if name.endswith(".md"):
            fields.report.error(line, f"skriv lektionens namn utan .md: '{name[:-3]}'")
            name = name[:-3]  # one message is enough: not also "file not listed"
        elif "/" in name or "\\" in name or name.startswith("."):
            fields.report.error(
                line,
                f"{quoted(name)} är inget filnamn i kursmappen: skriv bara lektionsfilens namn",
            )
        elif name in seen:
            fields.report.error(line, f"lektionen {quoted(name)} står två gånger: ta bort den ena")
        elif f"{name}.md" not in file_names:
            fields.report.error(
                line,
                f"lektionen {quoted(name)} står i listan men filen {name}.md finns inte: "
                "lägg till filen eller ta bort raden",
            )
        else:
            found.append((line, name))
        seen.add(name)
    return found, seen


def _has_course_yaml(
    folder: CourseFolder, report: Report, file_names: set[str], markdown_files: list[str]
) -> bool | None:
    """True when course.yaml exists; None when the folder is empty and no course at all."""
    if "course.yaml" in file_names:
        return True
    if "course.yml" in file_names:
        report.error(None, "byt namn på course.yml till course.yaml")
    elif markdown_files:
        report.error(None, "saknas: varje kursmapp behöver en course.yaml som listar lektionerna")
    else:
        message = "ingen course.yaml och inga lektioner: mappen är ingen kurs och hoppas över"
        report.problems.append(Problem(folder.path, None, message, "warning"))
        return None
    return False


def _load_course(
    folder: CourseFolder, bundled: bool, result: LoadResult, keys: dict[str, LessonFile]
) -> None:
    report = Report(folder.path / "course.yaml", result.problems)
    file_names = set(folder.file_names())
    markdown_files = sorted(name for name in file_names if name.endswith(".md"))
    has_yaml = _has_course_yaml(folder, report, file_names, markdown_files)
    if has_yaml is None:
        return
    result.course_folders += 1
    if not SLUG.fullmatch(folder.name) or len(folder.name) > MAX_KEY:
        message = (
            f"kortnamnet (mappens namn) {quoted(folder.name)} blir kursens adress: "
            "använd bara a–z, 0–9 och -"
        )
        result.problems.append(Problem(folder.path, None, message))
    course = _read_course_yaml(folder, report) if has_yaml else None
    names = _lesson_names(course[0], file_names) if course is not None else None
    lessons: dict[str, LessonFile] = {}
    for name in markdown_files:
        result.lesson_files += 1
        lesson = _read_lesson(folder, name, bundled, result.problems)
        if names is not None and name[:-3] not in names[1]:
            message = (
                "filen står inte under 'lessons:' i course.yaml: lägg till den eller ta bort filen"
            )
            result.problems.append(Problem(folder.path / name, 1, message))
        if lesson is not None:
            lessons[name[:-3]] = lesson
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
                f"id {quoted(lesson.key)} används redan i {first.path}:{first.id_line}: "
                "varje lektion behöver ett eget id",
            )
        )


def _is_bundled(root: Path) -> bool:
    return root.resolve() == BUNDLED_LESSONS_DIR


def load_courses(root: Path, *, bundled: bool | None = None) -> LoadResult:
    """Read every course folder under root. bundled: the stricter rules for shipped courses
    (default: when root is this repository's lessons/ folder)."""
    return load_tree(DiskTree(root), bundled=_is_bundled(root) if bundled is None else bundled)


def load_tree(tree: LessonsTree, *, bundled: bool = False) -> LoadResult:
    """Read every course folder of a tree: a folder on disk or files in memory (an upload)."""
    root: PurePath = tree.path
    result = LoadResult(root)
    if not tree.exists():
        result.problems.append(
            Problem(
                root,
                None,
                "här finns ingen lektionsmapp: ange mappen, eller sätt NANOLEARN_LESSONS_DIR",
            )
        )
        return result
    keys: dict[str, LessonFile] = {}
    for folder in tree.folders():
        if not folder.name.startswith((".", "_")):
            _load_course(folder, bundled, result, keys)
    if result.course_folders == 0:
        result.problems.append(
            Problem(root, None, "här finns inga kurser: en kurs är en mapp med en course.yaml")
        )
    result.problems.sort(key=lambda p: (str(p.path), p.line or 0))
    return result


def check(root: Path) -> list[Problem]:
    """Every problem in the lessons folder (errors and warnings), in file order."""
    return load_courses(root).problems
