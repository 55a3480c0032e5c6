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
        ["kurs/course.yaml:1: fältet 'title' saknas: lägg till det"],
        id="missing-title",
    ),
    pytest.param(
        {"language: sv": "language: se"},
        ["kurs/course.yaml:3: fältet 'language' ska vara sv eller en, inte ”se”"],
        id="bad-language",
    ),
    pytest.param(
        {"topic: extremism": "topic: hat"},
        ["kurs/course.yaml:4: fältet 'topic' ska vara extremism, violence eller other, inte ”hat”"],
        id="bad-topic",
    ),
    pytest.param(
        {"topic: extremism": "topic: violence"},
        [
            "kurs/course.yaml:4: en kurs med 'topic: violence' behöver en 'help'-text med Kvinnofridslinjens nummer 020-50 50 50 och 112"
        ],
        id="violence-without-help",
    ),
    pytest.param(
        {"topic: extremism\n": "topic: violence\nhelp: Ring 112 vid fara.\n"},
        [
            "kurs/course.yaml:5: en kurs med 'topic: violence' behöver en 'help'-text med Kvinnofridslinjens nummer 020-50 50 50 och 112"
        ],
        id="violence-help-without-kvinnofridslinjen",
    ),
    pytest.param(
        {"lessons:": "lesson:"},
        [
            "kurs/course.yaml:1: fältet 'lessons' saknas: lägg till det",
            "kurs/course.yaml:5: okänt fält 'lesson' (menade du 'lessons'?)",
        ],
        id="unknown-field",
    ),
    pytest.param(
        {f"lessons:\n{LISTING}": "lessons: []"},
        ["kurs/course.yaml:5: fältet 'lessons' är tomt: lägg till minst en rad"],
        id="no-lessons",
    ),
    pytest.param(
        {LISTING: f"{LISTING}\n  - 02-saknas"},
        [
            "kurs/course.yaml:7: lektionen ”02-saknas” står i listan men filen 02-saknas.md finns inte: lägg till filen eller ta bort raden"
        ],
        id="listed-but-missing",
    ),
    pytest.param(
        {LISTING: f"{LISTING}.md"},
        ["kurs/course.yaml:6: skriv lektionens namn utan .md: '01-forsta'"],
        id="listed-with-md",
    ),
    pytest.param(
        {LISTING: f"{LISTING}\n{LISTING}"},
        ["kurs/course.yaml:7: lektionen ”01-forsta” står två gånger: ta bort den ena"],
        id="listed-twice",
    ),
    pytest.param(
        {LISTING: f"{LISTING}\n  - ../annan/01-forsta"},
        [
            "kurs/course.yaml:7: ”../annan/01-forsta” är inget filnamn i kursmappen: skriv bara lektionsfilens namn"
        ],
        id="listed-path",
    ),
    pytest.param(
        {"title: Testkurs": "title: [Testkurs"},
        [
            "kurs/course.yaml:2: raden går inte att läsa som YAML (vid tecken 12): kontrollera indrag, citattecken och hakparenteser på den här raden och raden ovanför"
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
        "kurs/02-utkast.md:1: filen står inte under 'lessons:' i course.yaml: lägg till den eller "
        "ta bort filen"
    ]


def test_course_folder_without_course_yaml(tmp_path: Path) -> None:
    folder = write_course(tmp_path)
    (folder / "course.yaml").unlink()
    assert rendered(tmp_path) == [
        "kurs/course.yaml: saknas: varje kursmapp behöver en course.yaml som listar lektionerna"
    ]
    (folder / "course.yml").write_text(COURSE.format(lessons=LISTING), encoding="utf-8")
    assert rendered(tmp_path) == ["kurs/course.yaml: byt namn på course.yml till course.yaml"]


def test_empty_folders(tmp_path: Path) -> None:
    write_course(tmp_path)
    (tmp_path / "tom").mkdir()
    (tmp_path / ".git").mkdir()  # hidden folders are not courses
    assert rendered(tmp_path) == [
        "tom: varning: ingen course.yaml och inga lektioner: mappen är ingen kurs och hoppas över"
    ]
    empty = tmp_path / "inga-kurser"
    empty.mkdir()
    assert [str(p) for p in check(empty)] == [
        f"{empty}: här finns inga kurser: en kurs är en mapp med en course.yaml"
    ]
    missing = tmp_path / "finns-inte"
    assert [str(p) for p in check(missing)] == [
        f"{missing}: här finns ingen lektionsmapp: ange mappen, eller sätt NANOLEARN_LESSONS_DIR"
    ]


def test_course_folder_name_is_a_slug(tmp_path: Path) -> None:
    write_course(tmp_path, "Kurs_A")
    assert rendered(tmp_path) == [
        "Kurs_A: kortnamnet (mappens namn) ”Kurs_A” blir kursens adress: använd bara a–z, 0–9 och -"
    ]


def test_course_yaml_not_utf8(tmp_path: Path) -> None:
    folder = write_course(tmp_path)
    yaml_text = COURSE.format(lessons=LISTING).replace("Testkurs", "Kurs för alla")
    (folder / "course.yaml").write_bytes(yaml_text.encode("cp1252"))
    assert rendered(tmp_path) == [
        "kurs/course.yaml:1: filen är inte sparad som UTF-8 (byte 0xf6): spara den som UTF-8 i "
        "din textredigerare"
    ]


def test_broken_lesson_keeps_its_course_out(tmp_path: Path) -> None:
    write_course(
        tmp_path,
        lessons={"01-forsta": lesson_text(), "02-andra": lesson_text("t-02", {"Rubrik": ""})},
    )
    result = load_courses(tmp_path)
    assert [str(p).replace(f"{tmp_path}/", "") for p in result.errors] == [
        "kurs/02-andra.md:3: fältet 'title' är tomt: fyll i det"
    ]
    assert result.courses == [] and not result.ok
