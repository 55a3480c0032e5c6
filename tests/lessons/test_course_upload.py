"""Reading uploaded courses: the same checker as the lessons folder, every problem located, and
bad or hostile files refused with bounded memory."""

from __future__ import annotations

import tracemalloc
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from app.lessons.course_upload import course_zip, parse_upload
from app.lessons.loader import load_courses
from app.lessons.upload_guard import Limits
from app.lessons.workbook import course_workbook, template_workbook
from tests.lessons.conftest import FIXTURES
from tests.lessons.courses import edit_workbook, fixture_zip, folder_files, make_zip, small_course

REPO_LESSONS = Path(__file__).resolve().parents[2] / "lessons"


def errors(filename: str, data: bytes, limits: Limits | None = None) -> list[dict[str, Any]]:
    parsed = parse_upload(filename, data, limits) if limits else parse_upload(filename, data)
    return [i.as_dict() for i in parsed.issues if i.severity == "error"]


def test_a_zip_is_checked_by_the_same_checker_as_the_folder() -> None:
    parsed = parse_upload("trygghet.zip", fixture_zip())
    on_disk = load_courses(FIXTURES / "valid").courses[0]
    assert parsed.course is not None and parsed.course.slug == "trygghet"
    assert [lesson.content_hash for lesson in parsed.course.lessons] == [
        lesson.content_hash for lesson in on_disk.lessons
    ]


def test_files_zipped_without_their_folder_take_the_zip_name() -> None:
    files = {name.split("/", 1)[1]: data for name, data in small_course().items()}
    parsed = parse_upload("min-kurs.zip", make_zip(files))
    assert parsed.course is not None and parsed.course.slug == "min-kurs"


def test_zip_problems_carry_file_and_line() -> None:
    files = small_course()
    files["egen-kurs/egen-02.md"] = files["egen-kurs/egen-02.md"].replace(
        b"correct: true", b"correct: yes please"
    )
    assert errors("k.zip", make_zip(files)) == [
        {"file": "egen-kurs/egen-02.md", "line": 8, "sheet": None, "row": None, "column": None,
         "message": "inget alternativ är markerat med 'correct: true': markera det rätta"},
        {"file": "egen-kurs/egen-02.md", "line": 10, "sheet": None, "row": None, "column": None,
         "message": "fältet 'correct' ska vara true eller false, inte ”yes please”"},
    ]  # fmt: skip


@pytest.mark.parametrize("slug", ["radikalisering", "vald-i-nara-relationer"])
def test_bundled_courses_round_trip_through_zip_and_workbook(slug: str) -> None:
    course = next(c for c in load_courses(REPO_LESSONS).courses if c.slug == slug)
    for name, data in (("k.zip", course_zip(course)), ("k.xlsx", course_workbook(course))):
        parsed = parse_upload(name, data)
        assert parsed.issues == [] and parsed.course is not None
        assert parsed.course.content_hash == course.content_hash
        assert [x.content_hash for x in parsed.course.lessons] == [
            x.content_hash for x in course.lessons
        ]


def test_the_template_is_a_valid_course() -> None:
    parsed = parse_upload("mall.xlsx", template_workbook())
    assert parsed.issues == []
    assert parsed.course is not None and [x.key for x in parsed.course.lessons] == ["exempel-01"]


def _set(sheet: str, cell: str, value: Any) -> Any:
    def change(workbook: Any) -> None:
        workbook[sheet][cell] = value

    return change


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        (_set("Lektioner", "C2", None), ("Lektioner", 2, "Kärnbudskap"), "fältet 'key_point' är tomt"),
        (_set("Lektioner", "L2", "F"), ("Lektioner", 2, "Rätt svar"), "en bokstav A–E"),
        (_set("Lektioner", "L1", "Alternativ F"), ("Lektioner", 1, "Alternativ F"), "A–E"),
        (_set("Lektioner", "O2", "ftp://x"), ("Lektioner", 2, "Läs mer: adress"), "https://"),
        (_set("Lektioner", "B2", "=A2&\"x\""), ("Lektioner", 2, "Rubrik"), "formel"),
        (_set("Kurs", "B5", "fi"), ("Kurs", 5, "B"), "fältet 'language' ska vara sv eller en, inte ”fi”"),
        (_set("Kurs", "B2", "Min kurs"), ("Kurs", 2, "B"), "kortnamnet (mappens namn) ”Min kurs”"),
        (lambda wb: wb["Lektioner"].delete_cols(6), ("Lektioner", 1, None), "'Fråga' saknas"),
        (lambda wb: wb.remove(wb["Kurs"]), ("Kurs", None, None), "bladet 'Kurs' saknas"),
        (lambda wb: wb["Lektioner"].merge_cells("B2:C2"), ("Lektioner", None, "B2:C2"), "sammanfogade"),
    ],
)  # fmt: skip
def test_workbook_problems_name_sheet_row_and_column(
    change: Any, where: tuple[str, int | None, str | None], words: str
) -> None:
    found = errors("k.xlsx", edit_workbook(change))
    assert any(
        (e["sheet"], e["row"], e["column"]) == where and words in e["message"] for e in found
    ), found


def test_a_second_row_with_the_same_id_points_at_the_first_row() -> None:
    def duplicate(workbook: Any) -> None:
        sheet = workbook["Lektioner"]
        for cell in sheet[2]:
            sheet.cell(row=3, column=cell.column, value=cell.value)

    found = errors("k.xlsx", edit_workbook(duplicate))
    assert [(e["row"], e["column"]) for e in found] == [(3, "Id")]
    assert "”exempel-01” används redan i bladet Lektioner rad 2" in found[0]["message"]


def test_a_zip_with_two_courses() -> None:
    files = small_course("kurs-a", ("a-01",)) | small_course("kurs-b", ("b-01",))
    assert "innehåller 2 kurser (kurs-a, kurs-b)" in errors("k.zip", make_zip(files))[0]["message"]


@pytest.mark.parametrize(
    ("files", "symlinks", "words"),
    [
        ({"../utanfor.md": b"x"}, None, "pekar utanför kursmappen"),
        ({"/etc/passwd": b"x"}, None, "pekar utanför kursmappen"),
        ({}, {"egen-kurs/egen-03.md": "/etc/passwd"}, "symbolisk länk"),
    ],
)
def test_hostile_paths_are_refused(
    files: dict[str, bytes], symlinks: dict[str, str] | None, words: str
) -> None:
    found = errors("k.zip", make_zip(small_course() | files, symlinks))
    assert len(found) == 1 and words in found[0]["message"], found


def test_a_file_that_is_not_utf8() -> None:
    files = small_course()
    files["egen-kurs/egen-01.md"] = files["egen-kurs/egen-01.md"].replace(b"Rubrik", b"R\xe4tt")
    found = errors("k.zip", make_zip(files))
    assert [(e["file"], e["line"]) for e in found] == [("egen-kurs/egen-01.md", 3)]
    assert "inte sparad som UTF-8 (byte 0xe4)" in found[0]["message"]


def test_not_a_zip_and_a_wrong_kind_of_file() -> None:
    assert "ingen ZIP-fil" in errors("k.zip", b"hello")[0]["message"]
    assert "ingen ZIP-fil" in errors("k.xlsx", b"hello")[0]["message"]
    assert ".zip" in errors("k.docx", b"hello")[0]["message"]


def test_a_file_over_the_size_limit() -> None:
    found = errors("k.zip", fixture_zip(), Limits(upload_bytes=1000))
    assert "för stor" in found[0]["message"]


def _bomb(size: int, declared: int | None = None) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("kurs/course.yaml", b"\n" * size)
    data = out.getvalue()
    if declared is not None:  # lie about the uncompressed size in both headers
        real = size.to_bytes(4, "little")
        data = data.replace(real, declared.to_bytes(4, "little"))
    return data


def test_zip_bombs_are_refused_with_bounded_memory() -> None:
    big_bomb = _bomb(200 * 1024 * 1024)  # 200 MB of newlines: ~200 kB zipped
    small_bomb = _bomb(7 * 1024 * 1024)  # under the size limit, but a ratio of ~1000
    lying_bomb = _bomb(20 * 1024 * 1024, declared=1000)
    tracemalloc.start()
    try:
        big, ratio = errors("k.zip", big_bomb), errors("k.zip", small_bomb)
        lying, xlsx = errors("k.zip", lying_bomb), errors("k.xlsx", small_bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "200,0 MB uppackad; högst 8,0 MB per fil" in big[0]["message"]
    assert "zip-bomb" in ratio[0]["message"] and "zip-bomb" in xlsx[0]["message"]
    assert (
        "mer än den uppger" in lying[0]["message"]
        or "går inte att packa upp" in lying[0]["message"]
    )
    assert peak < 2 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_too_many_members() -> None:
    files = {f"kurs/{i}.txt": b"x" for i in range(301)}
    assert "301 filer" in errors("k.zip", make_zip(files))[0]["message"]


def test_disk_folder_and_zip_report_the_same_problems(tmp_path: Path) -> None:
    folder = FIXTURES / "valid" / "trygghet"
    broken = {n: d.replace(b"title:", b"titel:", 1) for n, d in folder_files(folder).items()}
    root = tmp_path / "lessons" / "trygghet"
    root.mkdir(parents=True)
    for name, data in broken.items():
        (root / name.split("/")[1]).write_bytes(data)
    disk = [(str(p.path).replace(f"{tmp_path}/lessons/", ""), p.line, p.message)
            for p in load_courses(tmp_path / "lessons").problems]  # fmt: skip
    upload = [(i.file, i.line, i.message) for i in parse_upload("t.zip", make_zip(broken)).issues]
    assert disk == upload and disk
