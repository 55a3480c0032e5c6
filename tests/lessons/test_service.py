"""Syncing lesson files into the database, and the read helpers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.clock import FakeClock
from app.core.config import Settings
from app.lessons import service
from app.lessons.loader import load_courses
from app.lessons.models import Course, Lesson, LessonVersion
from tests.lessons.conftest import COURSE, FIXTURES, lesson_text, write_course

VALID = FIXTURES / "valid"
FIRST = "01-hot-ar-allvar.md"


def sync(session: Session, root: Path, clock: FakeClock) -> service.SyncReport:
    report = service.sync_courses(session, load_courses(root), clock.now())
    session.commit()
    return report


def counts(session: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Course, Lesson, LessonVersion)
    )


def test_first_sync_creates_courses_lessons_and_versions(
    session: Session, clock: FakeClock
) -> None:
    report = sync(session, VALID, clock)
    assert report.courses_created == ["trygghet"]
    assert report.lessons_created == ["try-01", "try-02"]
    assert report.lessons_changed == [] and report.changed
    assert counts(session) == (1, 2, 2)
    course = session.scalars(select(Course)).one()
    assert (course.title, course.language, course.synced_at) == (
        "Trygghet på jobbet",
        "sv",
        clock.now(),
    )
    assert "020-50 50 50" in course.help_text
    lesson = session.scalars(select(Lesson).where(Lesson.key == "try-01")).one()
    version = service.current_version(session, lesson.id)
    assert version is not None and lesson.position == 1
    assert version.content_hash == lesson.content_hash
    assert version.options[0] == "Rapporterar det samma dag" and version.correct_index == 0
    assert version.sources == ["Arbetsmiljöverket, AFS 2023:2"]


def test_resync_without_changes_writes_nothing(
    session: Session, clock: FakeClock, lessons_root: Path
) -> None:
    sync(session, lessons_root, clock)
    synced_at = session.scalars(select(Course.synced_at)).one()
    clock.advance(days=1)
    report = sync(session, lessons_root, clock)
    assert not report.changed and report.lines() == []
    assert counts(session) == (1, 2, 2)
    assert session.scalars(select(Course.synced_at)).one() == synced_at


def test_changed_text_adds_a_version_and_keeps_the_old(
    session: Session, clock: FakeClock, lessons_root: Path
) -> None:
    sync(session, lessons_root, clock)
    lesson = session.scalars(select(Lesson).where(Lesson.key == "try-01")).one()
    old_hash = lesson.content_hash
    path = lessons_root / "trygghet" / FIRST
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("samma dag.", "genast."), encoding="utf-8")
    clock.advance(hours=1)

    report = sync(session, lessons_root, clock)
    assert report.lessons_changed == ["try-01"] and report.lessons_created == []
    assert counts(session) == (1, 2, 3)
    session.refresh(lesson)
    new = service.current_version(session, lesson.id)
    old = service.version_for(session, lesson.id, old_hash)
    assert new is not None and old is not None and new.content_hash != old_hash
    assert new.what_you_do.endswith("genast.") and old.what_you_do.endswith("samma dag.")
    assert old.created_at == clock.now() - timedelta(hours=1)

    path.write_text(original, encoding="utf-8")  # back to the first text: no third version
    report = sync(session, lessons_root, clock)
    assert report.lessons_changed == ["try-01"] and counts(session) == (1, 2, 3)
    assert service.current_version(session, lesson.id) == old


def test_reorder_and_unlist(session: Session, clock: FakeClock, tmp_path: Path) -> None:
    lessons = {f"0{i}-lektion": lesson_text(f"t-0{i}") for i in (1, 2, 3)}
    folder = write_course(tmp_path, lessons=lessons)
    sync(session, tmp_path, clock)
    (folder / "01-lektion.md").unlink()
    (folder / "course.yaml").write_text(
        COURSE.format(lessons="  - 03-lektion\n  - 02-lektion"), encoding="utf-8"
    )
    report = sync(session, tmp_path, clock)
    assert report.lessons_moved == ["t-03"] and report.lessons_unlisted == ["t-01"]
    assert report.courses_updated == ["kurs"]
    positions = {key: pos for key, pos in session.execute(select(Lesson.key, Lesson.position))}
    assert positions == {"t-01": None, "t-02": 2, "t-03": 1}
    course = session.scalars(select(Course)).one()
    assert service.course_lesson_count(session, course.id) == 2
    detail = service.get_course(session, "kurs")
    assert detail is not None
    assert [item.lesson.key for item in detail.lessons] == ["t-03", "t-02"]
    assert counts(session) == (1, 3, 3)  # the unlisted lesson stays for old deliveries


def test_sync_with_errors_writes_nothing(
    session: Session, clock: FakeClock, lessons_root: Path
) -> None:
    path = lessons_root / "trygghet" / FIRST
    path.write_text(path.read_text(encoding="utf-8").replace("title: Hot", "titel: Hot"))
    result = load_courses(lessons_root)
    with pytest.raises(service.LessonsInvalid) as caught:
        service.sync_courses(session, result, clock.now())
    assert caught.value.status == 422
    assert [e["line"] for e in caught.value.errors or []] == [1, 3]
    session.commit()
    assert counts(session) == (0, 0, 0)


def test_a_lesson_cannot_move_to_another_course(
    session: Session, clock: FakeClock, tmp_path: Path
) -> None:
    write_course(tmp_path, "kurs-a")
    sync(session, tmp_path, clock)
    (tmp_path / "kurs-a" / "01-forsta.md").rename(tmp_path / "01-forsta.md")
    (tmp_path / "kurs-a" / "course.yaml").write_text(
        COURSE.format(lessons="  - 02-andra"), encoding="utf-8"
    )
    (tmp_path / "kurs-a" / "02-andra.md").write_text(lesson_text("t-02"), encoding="utf-8")
    write_course(tmp_path, "kurs-b", lessons={"01-forsta": lesson_text()})
    with pytest.raises(service.LessonsInvalid) as caught:
        service.sync_courses(session, load_courses(tmp_path), clock.now())
    [problem] = caught.value.problems
    assert str(problem) == (
        f"{tmp_path}/kurs-b/01-forsta.md:2: id ”t-01” hör till kursen ”kurs-a” i databasen, och "
        "en lektion kan inte flytta till en annan kurs: ge lektionen ett nytt id, eller flytta "
        "tillbaka den"
    )
    session.rollback()
    assert counts(session) == (1, 1, 1)
    assert session.scalars(select(Lesson.position)).one() == 1


def test_missing_course_folder_is_left_alone(
    session: Session, clock: FakeClock, tmp_path: Path
) -> None:
    write_course(tmp_path, "kurs-a")
    write_course(tmp_path, "kurs-b", lessons={"01-forsta": lesson_text("t-02")})
    sync(session, tmp_path, clock)
    for path in (tmp_path / "kurs-b").iterdir():
        path.unlink()
    (tmp_path / "kurs-b").rmdir()
    report = sync(session, tmp_path, clock)
    assert report.courses_missing == ["kurs-b"] and not report.changed
    detail = service.get_course(session, "kurs-b")
    assert detail is not None and [i.lesson.key for i in detail.lessons] == ["t-02"]


def test_read_helpers(session: Session, clock: FakeClock, tmp_path: Path) -> None:
    write_course(tmp_path, "b-kurs", lessons={"01": lesson_text("b-1"), "02": lesson_text("b-2")})
    write_course(tmp_path, "a-kurs", lessons={"01": lesson_text("a-1")})
    sync(session, tmp_path, clock)
    listing = service.list_courses(session)
    assert [(item.course.slug, item.lesson_count) for item in listing] == [
        ("a-kurs", 1),
        ("b-kurs", 2),
    ]
    detail = service.get_course(session, "b-kurs")
    assert detail is not None and detail.course.slug == "b-kurs"
    assert [(i.lesson.key, i.version.content_hash) for i in detail.lessons] == [
        (i.lesson.key, i.lesson.content_hash) for i in detail.lessons
    ]
    assert service.get_course(session, "finns-inte") is None
    lesson_id = detail.lessons[0].lesson.id
    assert service.version_for(session, lesson_id, "0" * 64) is None
    assert service.current_version(session, 999_999) is None
    assert service.course_lesson_count(session, detail.course.id) == 2


def test_course_without_lessons_in_the_database(session: Session, clock: FakeClock) -> None:
    session.add(Course(slug="tom", title="Tom", content_hash="x", synced_at=clock.now()))
    session.flush()
    detail = service.get_course(session, "tom")
    assert detail is not None and detail.lessons == []
    assert [(i.course.slug, i.lesson_count) for i in service.list_courses(session)] == [("tom", 0)]


def test_sync_from_settings(session: Session, clock: FakeClock, settings: Settings) -> None:
    settings.lessons_dir = VALID
    report = service.sync_from_settings(session, settings, clock.now())
    assert report.lessons_created == ["try-01", "try-02"]
    settings.lessons_dir = VALID / "finns-inte"
    with pytest.raises(service.LessonsInvalid):
        service.sync_from_settings(session, settings, clock.now())
