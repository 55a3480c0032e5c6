"""The loader: a valid course loads; every rule reports `file:line: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.lessons.loader import MAX_WORDS, load_courses
from tests.lessons.conftest import FIXTURES, lesson_text, rendered, write_course


def test_valid_course_loads() -> None:
    result = load_courses(FIXTURES / "valid")
    assert result.ok and result.problems == []
    assert (result.course_folders, result.lesson_files) == (1, 2)
    [course] = result.courses
    assert (course.slug, course.language, course.topic) == ("trygghet", "sv", "violence")
    assert "020-50 50 50" in course.help
    first, second = course.lessons
    assert (first.key, first.file_name, second.key) == ("try-01", "01-hot-ar-allvar.md", "try-02")
    assert first.options == [
        "Rapporterar det samma dag",
        "Väntar och ser om det händer igen",
        "Tar upp det på nästa personalmöte",
    ]
    assert first.correct_index == 0
    assert first.body_md.startswith("Hot kan komma") and first.body_md.endswith("rapporterar.")
    assert first.read_more_title == "Arbetsmiljöverket om hot och våld"
    assert first.sources == ["Arbetsmiljöverket, AFS 2023:2"]
    assert second.read_more_url is None
    assert len(first.content_hash) == 64 and first.content_hash != second.content_hash


def test_hash_ignores_line_endings_bom_and_key_but_not_text(tmp_path: Path) -> None:
    text = lesson_text()
    write_course(tmp_path / "a", lessons={"01-forsta": text})
    bom_crlf = "\ufeff" + text.replace("\n", "\r\n")
    (tmp_path / "b" / "kurs").mkdir(parents=True)
    (tmp_path / "b" / "kurs" / "01-forsta.md").write_bytes(bom_crlf.encode())
    (tmp_path / "b" / "kurs" / "course.yaml").write_bytes(
        (tmp_path / "a" / "kurs" / "course.yaml").read_bytes()
    )
    write_course(tmp_path / "c", lessons={"01-forsta": lesson_text("t-99")})
    write_course(tmp_path / "d", lessons={"01-forsta": text.replace("här.", "här!")})
    hashes = [load_courses(tmp_path / x).courses[0].lessons[0].content_hash for x in "abcd"]
    assert hashes[0] == hashes[1] == hashes[2] != hashes[3]


LESSON_RULES = [
    pytest.param(
        {"title: Rubrik": "titel: Rubrik"},
        [
            "kurs/01-forsta.md:1: fältet 'title' saknas: lägg till det",
            "kurs/01-forsta.md:3: okänt fält 'titel' (menade du 'title'?)",
        ],
        id="unknown-field",
    ),
    pytest.param(
        {"title: Rubrik": "title: 112"},
        [
            "kurs/01-forsta.md:3: fältet 'title' ska vara text, inte ett tal (”112”): sätt det inom citattecken"
        ],
        id="wrong-type",
    ),
    pytest.param(
        {"what_you_do: Gör så här på jobbet.": "what_you_do:"},
        ["kurs/01-forsta.md:5: fältet 'what_you_do' är tomt: fyll i det"],
        id="empty-field",
    ),
    pytest.param(
        {"key_point: En mening att minnas.\n": ""},
        ["kurs/01-forsta.md:1: fältet 'key_point' saknas: lägg till det"],
        id="missing-field",
    ),
    pytest.param(
        {"title: Rubrik\n": "title: Rubrik\ntitle: Igen\n"},
        ["kurs/01-forsta.md:4: fältet 'title' finns två gånger (även på rad 3): behåll ett av dem"],
        id="duplicate-field",
    ),
    pytest.param(
        {"id: t-01": "id: Rad_01"},
        [
            "kurs/01-forsta.md:2: id ”Rad_01” får bara innehålla små bokstäver a–z, siffror och enstaka bindestreck (som rad-01)"
        ],
        id="bad-id",
    ),
    pytest.param(
        {"title: Rubrik": "title: Vad är: extremism?"},
        [
            "kurs/01-forsta.md:3: raden går inte att läsa som YAML (vid tecken 14): en text innehåller ': ' (kolon och mellanslag): sätt texten inom citattecken, eller skriv '>-' och texten indragen på raden under"
        ],
        id="yaml-syntax",
    ),
    pytest.param(
        {"  question: Vilket är rätt?": "  fråga: Vilket är rätt?"},
        [
            "kurs/01-forsta.md:6: fältet 'quiz.question' saknas: lägg till det",
            "kurs/01-forsta.md:7: okänt fält 'quiz.fråga' (tillåtna fält: question, options, explanation)",
        ],
        id="quiz-unknown-field",
    ),
    pytest.param(
        {"    - text: Fel svar här\n    - text: Annat fel svar\n": ""},
        ["kurs/01-forsta.md:8: frågan ska ha 2 till 5 svarsalternativ, inte 1"],
        id="one-option",
    ),
    pytest.param(
        {
            "    - text: Annat fel svar\n": "".join(
                f"    - text: Fel nummer {i}\n" for i in range(4)
            )
        },
        ["kurs/01-forsta.md:8: frågan ska ha 2 till 5 svarsalternativ, inte 6"],
        id="six-options",
    ),
    pytest.param(
        {"      correct: true\n": ""},
        [
            "kurs/01-forsta.md:8: inget alternativ är markerat med 'correct: true': markera det rätta"
        ],
        id="no-correct",
    ),
    pytest.param(
        {"    - text: Fel svar här\n": "    - text: Fel svar här\n      correct: true\n"},
        [
            "kurs/01-forsta.md:11: ett andra alternativ är markerat med 'correct: true': markera bara ett"
        ],
        id="two-correct",
    ),
    pytest.param(
        {"correct: true": "correct: ja"},
        [
            "kurs/01-forsta.md:8: inget alternativ är markerat med 'correct: true': markera det rätta",
            "kurs/01-forsta.md:10: fältet 'correct' ska vara true eller false, inte ”ja”",
        ],
        id="correct-not-boolean",
    ),
    pytest.param(
        {"Annat fel svar": "fel SVAR här"},
        [
            "kurs/01-forsta.md:12: alternativet ”fel SVAR här” finns redan på rad 11: skriv ett annat alternativ"
        ],
        id="duplicate-option",
    ),
    pytest.param(
        {"    - text: Annat fel svar": "    - Annat fel svar"},
        [
            "kurs/01-forsta.md:12: skriv varje svarsalternativ som '- text: ...' (och 'correct: true' för det rätta)"
        ],
        id="option-not-mapping",
    ),
    pytest.param(
        {"Rätt svar här": "Rätt svar här, eftersom just detta stämmer med lagen"},
        [
            "kurs/01-forsta.md:8: varning: alternativen är mycket olika långa, vilket avslöjar svaret: gör dem jämnare"
        ],
        id="option-lengths",
    ),
    pytest.param(
        {"https://example.org/sida": "http://example.org/sida"},
        [
            "kurs/01-forsta.md:16: fältet 'read_more.url' ska vara en hel adress som börjar med https://, inte ”http://example.org/sida”"
        ],
        id="read-more-http",
    ),
    pytest.param(
        {"  url: https://example.org/sida\n": ""},
        ["kurs/01-forsta.md:14: fältet 'read_more.url' saknas: lägg till det"],
        id="read-more-no-url",
    ),
    pytest.param(
        {"  - En källa\n": ""},
        ["kurs/01-forsta.md:17: fältet 'sources' är tomt: lägg till minst en rad"],
        id="no-sources",
    ),
    pytest.param(
        {"sources:\n  - En källa": "sources: En källa"},
        [
            "kurs/01-forsta.md:17: fältet 'sources' ska vara en lista (rader som börjar med '- '), inte text"
        ],
        id="sources-not-list",
    ),
    pytest.param(
        {"key_point: En mening att minnas.": "key_point: En mening. Och en till."},
        [
            "kurs/01-forsta.md:4: varning: fältet 'key_point' ska vara EN mening: flytta resten till texten"
        ],
        id="two-sentences",
    ),
    pytest.param(
        {"Lektionstext här.\n": ""},
        ["kurs/01-forsta.md:20: lektionstexten är tom: skriv den efter den avslutande raden '---'"],
        id="empty-body",
    ),
    pytest.param(
        {"Lektionstext här.": "Lektionstext här.\n\n<div>Hej</div>"},
        ["kurs/01-forsta.md:22: HTML är inte tillåtet i texten: skriv med Markdown"],
        id="html-block",
    ),
    pytest.param(
        {"Lektionstext här.": "Lektionstext\n<b>här</b>."},
        ["kurs/01-forsta.md:21: HTML är inte tillåtet i texten: skriv med Markdown"],
        id="html-inline",
    ),
    pytest.param(
        {"Lektionstext här.": "## Rubrik\n\nLektionstext här.\n\n### Det går bra"},
        [
            "kurs/01-forsta.md:20: rubriker med '#' och '##' är inte tillåtna i texten: använd högst '###'"
        ],
        id="big-heading",
    ),
    pytest.param(
        {"Lektionstext här.": "Lektionstext här.\n\n![Bild](https://example.org/a.png)"},
        ["kurs/01-forsta.md:22: bilder är inte tillåtna i lektioner: beskriv bilden med ord"],
        id="image",
    ),
    pytest.param(
        {"Lektionstext här.": "Lektionstext här.\nLäs [mer](https://example.org)."},
        [
            "kurs/01-forsta.md:21: länkar är inte tillåtna i texten: lägg en sida att läsa under 'read_more:'"
        ],
        id="link",
    ),
    pytest.param(
        {"---\nid:": "id:"},
        [
            "kurs/01-forsta.md:1: filen ska börja med en rad '---', sedan fälten och sedan '---' igen"
        ],
        id="no-front-matter",
    ),
    pytest.param(
        {"---\nLektionstext": "Lektionstext"},
        [
            "kurs/01-forsta.md:1: fälten i början av filen avslutas inte: lägg till en rad '---' mellan fälten och texten"
        ],
        id="unclosed-front-matter",
    ),
]


@pytest.mark.parametrize(("replace", "expected"), LESSON_RULES)
def test_lesson_rule(tmp_path: Path, replace: dict[str, str], expected: list[str]) -> None:
    write_course(tmp_path, lessons={"01-forsta": lesson_text(replace=replace)})
    assert rendered(tmp_path) == expected


def test_word_limit_counts_key_point_what_you_do_and_text(tmp_path: Path) -> None:
    # 4 + 5 words in the front matter; Markdown syntax (** and -) is not counted.
    body = "- **ord** " * (MAX_WORDS - 9)
    write_course(tmp_path, lessons={"01-forsta": lesson_text(replace={"Lektionstext här.": body})})
    assert rendered(tmp_path) == []
    longer = lesson_text(replace={"Lektionstext här.": body + " ett"})
    (tmp_path / "kurs" / "01-forsta.md").write_text(longer, encoding="utf-8")
    assert rendered(tmp_path) == [
        f"kurs/01-forsta.md:4: key_point, what_you_do och texten har tillsammans {MAX_WORDS + 1} "
        f"ord men får ha högst {MAX_WORDS}: korta lektionen"
    ]


def test_yaml_tab_error_points_at_the_line(tmp_path: Path) -> None:
    text = lesson_text(replace={"  title: Mer att läsa": "\ttitle: Mer att läsa"})
    write_course(tmp_path, lessons={"01-forsta": text})
    [problem] = rendered(tmp_path)
    assert problem == (
        "kurs/01-forsta.md:15: raden går inte att läsa som YAML (vid tecken 1): raden har ett "
        "tabbtecken: gör indrag med mellanslag i stället"
    )


@pytest.mark.parametrize(
    ("front_matter", "what"), [("- a\n- b\n", "en lista"), ("", "tomt"), ("12\n", "ett tal")]
)
def test_front_matter_must_be_fields(tmp_path: Path, front_matter: str, what: str) -> None:
    write_course(tmp_path, lessons={"01-forsta": f"---\n{front_matter}---\nText.\n"})
    assert rendered(tmp_path) == [
        f"kurs/01-forsta.md:2: här ska det stå fält som 'title: ...', men det är {what}"
    ]


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    write_course(tmp_path)
    text = lesson_text().replace("Rubrik", "Rubrik på svenska")
    (tmp_path / "kurs" / "01-forsta.md").write_bytes(text.encode("latin-1"))
    assert rendered(tmp_path) == [
        "kurs/01-forsta.md:3: filen är inte sparad som UTF-8 (byte 0xe5): spara den som UTF-8 i "
        "din textredigerare"
    ]


def test_all_problems_are_collected(tmp_path: Path) -> None:
    broken = lesson_text(
        replace={"title: Rubrik": "title:", "correct: true": "correct: false", "http": "ftp"}
    )
    write_course(
        tmp_path,
        lessons={"01-forsta": broken, "02-andra": lesson_text("t-02", {"id: t-02": "id: T2"})},
    )
    assert [line.split(": ")[0] for line in rendered(tmp_path)] == [
        "kurs/01-forsta.md:3",
        "kurs/01-forsta.md:8",
        "kurs/01-forsta.md:16",
        "kurs/02-andra.md:2",
    ]
    assert load_courses(tmp_path).courses == []


def test_bundled_courses_use_three_or_four_options(tmp_path: Path) -> None:
    two = lesson_text(replace={"    - text: Annat fel svar\n": ""})
    five = lesson_text(
        "t-02",
        {"    - text: Annat fel svar\n": "".join(f"    - text: Fel nr {n}\n" for n in range(3))},
    )
    write_course(tmp_path, lessons={"01-forsta": two, "02-andra": five})
    assert rendered(tmp_path) == []
    assert rendered(tmp_path, bundled=True) == [
        "kurs/01-forsta.md:8: varning: kurserna som följer med Nanolearn har 3 eller 4 "
        "svarsalternativ; här är de 2",
        "kurs/02-andra.md:8: varning: kurserna som följer med Nanolearn har 3 eller 4 "
        "svarsalternativ; här är de 5",
    ]
    assert load_courses(tmp_path, bundled=True).ok  # warnings do not block


def test_ids_are_unique_across_courses(tmp_path: Path) -> None:
    write_course(tmp_path, "kurs-a")
    write_course(tmp_path, "kurs-b")
    assert rendered(tmp_path) == [
        "kurs-b/01-forsta.md:2: id ”t-01” används redan i kurs-a/01-forsta.md:2: "
        "varje lektion behöver ett eget id"
    ]
