"""Every model, imported in one place so metadata is complete for Alembic and tests."""

from app.auth.models import ApiKey, AuditEntry
from app.campaigns.models import Campaign, Enrollment
from app.core.db import Base
from app.delivery.models import RateBucket, SendCount
from app.employees.models import Employee
from app.learning.models import ReviewCard, ReviewLog
from app.lessons.models import Course, Lesson, LessonVersion
from app.outbox.models import Delivery
from app.reports.models import CampaignAggregate
from app.tracking.models import Answer, Event

__all__ = [
    "Answer",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Campaign",
    "CampaignAggregate",
    "Course",
    "Delivery",
    "Employee",
    "Enrollment",
    "Event",
    "Lesson",
    "LessonVersion",
    "RateBucket",
    "ReviewCard",
    "ReviewLog",
    "SendCount",
]
