"""course.yaml and folder rules: each broken course reports `file:line: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.lessons.loader import check, load_courses
from tests.lessons.conftest import COURSE, lesson_text, rendered, write_course

LISTING = "  - 01-forsta"
VIOLENCE_HELP = "help: |\n  Ring 112 vid fara. Kvinnofridslinjen: 020-50 50 50.\n"

COURSE_RULES = [
    pytest.param(
        {"title: Testkurs\n": ""},
        ["kurs/course.yaml:1: missing field 'title'"],
        id="missing-title",
    ),
    pytest.param(
        {"language: sv": "language: se"},
        ["kurs/course.yaml:3: 'language' must be one of sv, en, not 'se'"],
        id="bad-language",
    ),
    pytest.param(
        {"topic: extremism": "topic: hat"},
        ["kurs/course.yaml:4: 'topic' must be one of extremism, violence, other, not 'hat'"],
        id="bad-topic",
    ),
    pytest.param(
        {"topic: extremism": "topic: violence"},
        [
            "kurs/course.yaml:4: a course with 'topic: violence' needs a 'help' text that gives "
            "Kvinnofridslinjen's number 020-50 50 50 and 112"
        ],
        id="violence-without-help",
    ),
    pytest.param(
        {"topic: extremism\n": "topic: violence\nhelp: Ring 112 vid fara.\n"},
        [
            "kurs/course.yaml:5: a course with 'topic: violence' needs a 'help' text that gives "
            "Kvinnofridslinjen's number 020-50 50 50 and 112"
        ],
        id="violence-help-without-kvinnofridslinjen",
    ),
    pytest.param(
        {"lessons:": "lesson:"},
        [
            "kurs/course.yaml:1: missing field 'lessons'",
            "kurs/course.yaml:5: unknown field 'lesson' (did you mean 'lessons'?)",
        ],
        id="unknown-field",
    ),
    pytest.param(
        {f"lessons:\n{LISTING}": "lessons: []"},
        ["kurs/course.yaml:5: 'lessons' is empty: add at least one item"],
        id="no-lessons",
    ),
    pytest.param(
        {LISTING: f"{LISTING}\n  - 02-saknas"},
        ["kurs/course.yaml:7: lesson '02-saknas' is listed but there is no file 02-saknas.md"],
        id="listed-but-missing",
    ),
    pytest.param(
        {LISTING: f"{LISTING}.md"},
        [
            "kurs/course.yaml:6: write the lesson name without .md: '01-forsta'",
        ],
        id="listed-with-md",
    ),
    pytest.param(
        {LISTING: f"{LISTING}\n{LISTING}"},
        ["kurs/course.yaml:7: lesson '01-forsta' is listed twice"],
        id="listed-twice",
    ),
    pytest.param(
        {LISTING: f"{LISTING}\n  - ../annan/01-forsta"},
        ["kurs/course.yaml:7: '../annan/01-forsta' is not a file name in this folder"],
        id="listed-path",
    ),
    pytest.param(
        {"title: Testkurs": "title: [Testkurs"},
        [
            "kurs/course.yaml:2: YAML syntax error: expected ',' or ']', but got ':' "
            "(check the indentation and quotes on this line and the line above)"
        ],
        id="yaml-syntax",
    ),
]


@pytest.mark.parametrize(("replace", "expected"), COURSE_RULES)
def test_course_rule(tmp_path: Path, replace: dict[str, str], expected: list[str]) -> None:
    course_yaml = COURSE.format(lessons=LISTING)
    for old, new in replace.items():
        assert old in course_yaml
        course_yaml = course_yaml.replace(old, new)
    write_course(tmp_path, course_yaml=course_yaml)
    assert rendered(tmp_path) == expected
    assert load_courses(tmp_path).courses == []


def test_violence_course_with_help_is_fine(tmp_path: Path) -> None:
    course_yaml = COURSE.format(lessons=LISTING).replace(
        "topic: extremism\n", f"topic: violence\n{VIOLENCE_HELP}"
    )
    write_course(tmp_path, course_yaml=course_yaml)
    result = load_courses(tmp_path)
    assert result.ok and result.courses[0].help.startswith("Ring 112")


def test_file_not_listed(tmp_path: Path) -> None:
    folder = write_course(tmp_path)
    (folder / "02-utkast.md").write_text(lesson_text("t-02"), encoding="utf-8")
    assert rendered(tmp_path) == [
        "kurs/02-utkast.md:1: not listed under 'lessons:' in course.yaml: add it or delete the file"
    ]


def test_course_folder_without_course_yaml(tmp_path: Path) -> None:
    folder = write_course(tmp_path)
    (folder / "course.yaml").unlink()
    assert rendered(tmp_path) == [
        "kurs/course.yaml: missing: every course folder needs a course.yaml listing its lessons"
    ]
    (folder / "course.yml").write_text(COURSE.format(lessons=LISTING), encoding="utf-8")
    assert rendered(tmp_path) == ["kurs/course.yaml: rename course.yml to course.yaml"]


def test_empty_folders(tmp_path: Path) -> None:
    write_course(tmp_path)
    (tmp_path / "tom").mkdir()
    (tmp_path / ".git").mkdir()  # hidden folders are not courses
    assert rendered(tmp_path) == [
        "tom: warning: no course.yaml and no lessons: not a course, ignored"
    ]
    empty = tmp_path / "inga-kurser"
    empty.mkdir()
    assert [str(p) for p in check(empty)] == [
        f"{empty}: no courses here: a course is a folder with a course.yaml"
    ]
    missing = tmp_path / "finns-inte"
    assert [str(p) for p in check(missing)] == [
        f"{missing}: there is no lessons folder here: set NANOLEARN_LESSONS_DIR"
    ]


def test_course_folder_name_is_a_slug(tmp_path: Path) -> None:
    write_course(tmp_path, "Kurs_A")
    assert rendered(tmp_path) == [
        "Kurs_A: the folder name is the course's address: use only a-z, 0-9 and -"
    ]


def test_course_yaml_not_utf8(tmp_path: Path) -> None:
    folder = write_course(tmp_path)
    yaml_text = COURSE.format(lessons=LISTING).replace("Testkurs", "Kurs för alla")
    (folder / "course.yaml").write_bytes(yaml_text.encode("cp1252"))
    assert rendered(tmp_path) == [
        "kurs/course.yaml:1: the file is not UTF-8 text (byte 0xf6): save it as UTF-8 in your "
        "editor"
    ]


def test_broken_lesson_keeps_its_course_out(tmp_path: Path) -> None:
    write_course(
        tmp_path,
        lessons={"01-forsta": lesson_text(), "02-andra": lesson_text("t-02", {"Rubrik": ""})},
    )
    result = load_courses(tmp_path)
    assert [str(p).replace(f"{tmp_path}/", "") for p in result.errors] == [
        "kurs/02-andra.md:3: 'title' is empty: write it"
    ]
    assert result.courses == [] and not result.ok
