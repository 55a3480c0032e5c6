"""Turn outbox rows into e-mail messages: load a batch's data in a few queries, then render."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bounces.verp import envelope_sender
from app.campaigns.models import Campaign, Enrollment
from app.core.config import Settings
from app.core.links import Links
from app.core.tokens import message_id
from app.delivery.dkim import dkim_signer
from app.delivery.mime import build_message_bytes
from app.delivery.render import EmailContent, RenderedEmail, render_email
from app.employees.models import Employee
from app.lessons.content import (
    LessonContent,
    QuestionContent,
    VersionedLesson,
    lesson_content,
    load_versions,
    question_content,
)
from app.lessons.models import Course
from app.outbox.models import Delivery, delivery_items

# Placeholders a shared rendering carries until one person's values replace them: plain
# letters, so escaping, Markdown and CSS inlining leave them as they are.
TOKEN_SLOT = "nlTOKENslot"
NAME_SLOT = "nlNAMEslot"


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    recipient: str
    data: bytes  # serialised here, off the event loop, so sending only moves bytes
    message_id: str
    also_to: tuple[str, ...] = ()  # more envelope recipients (a report to several owners)
    sender: str | None = None  # envelope sender (MAIL FROM) when not MAIL_FROM: a VERP address


def email_content(
    *,
    course: Course,
    delivery: Delivery,
    first_name: str,
    versions: dict[tuple[int, str], VersionedLesson],
    links: Links,
    sent_on: Any,
    local_help: str = "",
) -> EmailContent:
    lesson: LessonContent | None = None
    questions: list[QuestionContent] = []
    for lesson_id, content_hash, is_review in delivery_items(delivery):
        item = versions[(lesson_id, content_hash)]
        if not is_review:
            lesson = lesson_content(item)
        questions.append(question_content(item, links, is_review=is_review))
    return EmailContent(
        language=course.language,
        course_title=course.title,
        help_md=course.help_text,
        first_name=first_name,
        lesson=lesson,
        questions=questions,
        view_url=links.view() if lesson is not None else None,
        unsubscribe_url=links.unsubscribe(),
        sent_on=sent_on,
        local_help_md=local_help,
    )


def compose_batch(
    session: Session, settings: Settings, delivery_ids: list[int], now: datetime
) -> list[Outgoing]:
    """Messages for claimed deliveries, in a constant number of queries whatever the batch size."""
    if not delivery_ids:
        return []
    rows = session.execute(
        select(Delivery, Employee, Campaign)
        .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
        .join(Employee, Employee.id == Enrollment.employee_id)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.id.in_(delivery_ids))
        .order_by(Delivery.id)
    ).all()
    courses = {
        c.id: c
        for c in session.scalars(
            select(Course).where(Course.id.in_({r[2].course_id for r in rows}))
        )
    }
    versions = load_versions(
        session, ((lid, h) for r in rows for lid, h, _ in delivery_items(r[0]))
    )
    secret = settings.secret()
    domain = settings.mail_domain
    signer = dkim_signer(settings)
    shapes: dict[tuple[Any, ...], RenderedEmail] = {}
    out: list[Outgoing] = []
    for delivery, employee, campaign in rows:
        if not employee.email:
            continue
        course = courses[campaign.course_id]
        sent_on = now.astimezone(ZoneInfo(campaign.timezone)).date()
        # Everyone in a slot gets the same lesson: render each shape once, then personalise.
        shape_key = (
            campaign.id,  # its local help text
            tuple(delivery_items(delivery)),
            sent_on,
            bool(employee.first_name),
        )
        shape = shapes.get(shape_key)
        if shape is None:
            shape = shapes[shape_key] = render_email(
                email_content(
                    course=course,
                    delivery=delivery,
                    first_name=NAME_SLOT if employee.first_name else "",
                    versions=versions,
                    links=Links(settings.base_url, TOKEN_SLOT),
                    sent_on=sent_on,
                    local_help=campaign.local_help,
                )
            )
        links = Links.for_delivery(settings.base_url, secret, delivery.id)
        mid = message_id(secret, delivery.id, domain)
        data = build_message_bytes(
            personalise(shape, links.token, employee.first_name),
            to_addr=employee.email,
            to_name=employee.full_name,
            from_addr=settings.mail_from,
            message_id=mid,
            unsubscribe_url=links.unsubscribe(),
            date=now,
            language=course.language,
        )
        if signer is not None:
            data = signer.sign(data)
        sender = (
            envelope_sender(settings.bounce_address, secret, delivery.id)
            if settings.bounce_address
            else None
        )
        out.append(Outgoing(delivery.id, employee.email, data, mid, sender=sender))
    return out


def personalise(shape: RenderedEmail, token: str, first_name: str) -> RenderedEmail:
    """Put one person's token and name into an e-mail rendered with placeholders."""
    return RenderedEmail(
        subject=shape.subject,
        text=shape.text.replace(TOKEN_SLOT, token).replace(NAME_SLOT, first_name),
        html=shape.html.replace(TOKEN_SLOT, token).replace(NAME_SLOT, html.escape(first_name)),
    )
