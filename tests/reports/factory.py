"""Builds report test data with the real ORM models, one row at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignStatus, Enrollment, EnrollmentStatus
from app.employees.models import Employee
from app.learning.models import RetiredReason, ReviewCard, ReviewLog
from app.lessons.models import Course, Lesson, LessonVersion
from app.outbox.models import Delivery, DeliveryStatus
from app.tracking.models import Answer, Event, EventClass, EventKind

M = TypeVar("M")

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


class Factory:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._slot = 0

    def _add(self, obj: M) -> M:
        self.session.add(obj)
        self.session.flush()
        return obj

    def course(self, slug: str, lessons: int, removed: int = 0) -> tuple[Course, list[Lesson]]:
        """A course with `lessons` placed lessons and `removed` ones no longer in it."""
        course = self._add(Course(slug=slug, title=f"Kurs {slug}", content_hash="c", synced_at=T0))
        result = []
        for n in range(lessons + removed):
            position = n + 1 if n < lessons else None
            lesson = self._add(
                Lesson(key=f"{slug}-{n}", course_id=course.id, position=position, content_hash="h")
            )
            self._add(
                LessonVersion(
                    lesson_id=lesson.id,
                    content_hash="h",
                    title=f"Lektion {n}",
                    key_point="Nyckel",
                    body_md="Text",
                    what_you_do="Gör så här",
                    question="Fråga?",
                    options=["Ja", "Nej"],
                    correct_index=0,
                    explanation="För att",
                    read_more_url=None,
                    read_more_title=None,
                    sources=[],
                    created_at=T0,
                )
            )
            result.append(lesson)
        return course, result

    def campaign(self, course: Course, name: str = "Våren 2026") -> Campaign:
        return self._add(
            Campaign(
                name=name,
                course_id=course.id,
                status=CampaignStatus.running,
                start_date=date(2026, 1, 5),
                weekdays=[0, 2],
                send_time=time(8, 0),
                timezone="Europe/Stockholm",
                window_start=time(7, 0),
                window_end=time(17, 0),
                created_at=T0,
                updated_at=T0,
            )
        )

    def employee(
        self,
        first: str,
        last: str,
        department: str,
        number: str | None = None,
        erased: bool = False,
    ) -> Employee:
        return self._add(
            Employee(
                email=f"{first}.{last}@kommun.example".lower(),
                first_name=first,
                last_name=last,
                department=department,
                employee_number=number,
                created_at=T0,
                updated_at=T0,
                erased_at=T0 + timedelta(days=30) if erased else None,
            )
        )

    def enroll(
        self, campaign: Campaign, employee: Employee, opted_out_at: datetime | None = None
    ) -> Enrollment:
        status = EnrollmentStatus.active if opted_out_at is None else EnrollmentStatus.opted_out
        return self._add(
            Enrollment(
                campaign_id=campaign.id,
                employee_id=employee.id,
                status=status,
                enrolled_at=T0,
                opted_out_at=opted_out_at,
            )
        )

    def delivery(
        self,
        enrollment: Enrollment,
        lesson: Lesson | None,
        status: DeliveryStatus = DeliveryStatus.sent,
        reviews: tuple[Lesson, ...] = (),
    ) -> Delivery:
        self._slot += 1
        slot = T0 + timedelta(days=self._slot)
        return self._add(
            Delivery(
                campaign_id=enrollment.campaign_id,
                enrollment_id=enrollment.id,
                slot_at=slot,
                due_at=slot,
                lesson_id=lesson.id if lesson else None,
                lesson_hash="h" if lesson else None,
                review_items=[{"lesson_id": r.id, "hash": "h"} for r in reviews],
                status=status,
                sent_at=slot if status == DeliveryStatus.sent else None,
                created_at=T0,
            )
        )

    def event(
        self, delivery: Delivery, kind: EventKind, human: bool = True, minutes: int = 5
    ) -> Event:
        return self._add(
            Event(
                kind=kind,
                delivery_id=delivery.id,
                lesson_id=delivery.lesson_id,
                occurred_at=delivery.slot_at + timedelta(minutes=minutes),
                classification=EventClass.human if human else EventClass.automated,
            )
        )

    def answer(
        self,
        delivery: Delivery,
        lesson: Lesson,
        correct: bool,
        minutes: int = 10,
        review: bool = False,
        attempt: int = 1,
    ) -> Answer:
        return self._add(
            Answer(
                delivery_id=delivery.id,
                enrollment_id=delivery.enrollment_id,
                lesson_id=lesson.id,
                lesson_hash="h",
                is_review=review,
                option_index=0 if correct else 1,
                correct=correct,
                attempt=attempt,
                answered_at=delivery.slot_at + timedelta(minutes=minutes),
            )
        )

    def card(
        self, enrollment: Enrollment, lesson: Lesson, mastered_at: datetime | None = None
    ) -> ReviewCard:
        return self._add(
            ReviewCard(
                enrollment_id=enrollment.id,
                lesson_id=lesson.id,
                due=T0 + timedelta(days=7),
                reviews=2 if mastered_at else 0,
                correct_streak=2 if mastered_at else 0,
                retired_at=mastered_at,
                retired_reason=RetiredReason.mastered if mastered_at else None,
                created_at=T0,
            )
        )

    def review_log(self, card: ReviewCard, answer: Answer, number: int) -> ReviewLog:
        return self._add(
            ReviewLog(
                card_id=card.id,
                answer_id=answer.id,
                delivery_id=answer.delivery_id,
                review_number=number,
                sent_at=answer.answered_at,
                answered_at=answer.answered_at,
                rating=3 if answer.correct else 1,
                correct=answer.correct,
                days_since_exposure=7.0 if number else None,
                response_delay_seconds=60.0,
                counted=True,
            )
        )
