"""Realistic lesson content for the rendering tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from app.delivery.render import EmailContent
from app.lessons.content import LessonContent, QuestionContent

BASE = "https://nanolearn.example.se"
HELP_MD = (
    "**Behöver du eller någon du möter hjälp?** Ring 112 vid akut fara. "
    "Kvinnofridslinjen: [020-50 50 50](tel:020505050), dygnet runt."
)


def lesson(**changes: object) -> LessonContent:
    base = LessonContent(
        key="rad-01",
        title="Vad är våldsbejakande extremism?",
        key_point="Att ha extrema åsikter är inte brottsligt, men att använda våld är det.",
        body_md="Extremism kan se ut på **många** sätt.\n\n- ord\n- handling\n",
        what_you_do="Reagera på handlingar och hot, inte på åsikter.",
        read_more_url="https://www.cve.se/valdsbejakandeextremism",
        read_more_title="CVE om våldsbejakande extremism",
        sources=["Center mot våldsbejakande extremism (cve.se)"],
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def question(*, review: bool = False, **changes: object) -> QuestionContent:
    key = "rad-00" if review else "rad-01"
    base = QuestionContent(
        lesson_key=key,
        lesson_title="Vad är radikalisering?" if review else "Vad är våldsbejakande extremism?",
        question="Vilket av detta är ett brott?",
        options=["Att hota en politiker", "Att dela en åsikt", "Att vara med i en grupp"],
        answer_urls=[f"{BASE}/a/tok-{key}/{i}?x=1&y=2" for i in range(3)],
        is_review=review,
        original_lesson_url=f"{BASE}/l/tok-{key}" if review else None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def email(**changes: object) -> EmailContent:
    base = EmailContent(
        language="sv",
        course_title="Radikalisering och våldsbejakande extremism",
        help_md=HELP_MD,
        first_name="Åsa",
        lesson=lesson(),
        questions=[question(), question(review=True)],
        view_url=f"{BASE}/l/tok-view",
        unsubscribe_url=f"{BASE}/u/tok-unsub",
        sent_on=date(2026, 1, 5),
    )
    return replace(base, **changes)  # type: ignore[arg-type]
