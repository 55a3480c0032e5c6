"""The admin API under /api/v1: every room's router, and the routes that compose several rooms.

A room's own routes live in its `router.py`; a route that needs rooms above its own (a campaign
with its counts, status changes with their consequences, test-send) lives here, in the face.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.api.campaigns import router as campaigns
from app.api.courses import router as courses
from app.api.undeliverable import router as undeliverable
from app.auth.audit_router import router as audit
from app.auth.router import router as api_keys
from app.core.errors import problem_responses
from app.employees.router import router as employees
from app.lessons.router import router as lessons
from app.privacy.router import router as privacy
from app.reports.learning_router import router as learning
from app.reports.router import router as reports
from app.xapi.router import router as xapi

# courses before lessons: POST /courses/import is not a course slug; undeliverable before
# employees: /employees/undeliverable is no /employees/{id}.
ROUTERS = (
    undeliverable,
    employees,
    privacy,
    courses,
    lessons,
    campaigns,
    learning,
    reports,
    xapi,
    api_keys,
    audit,
)


def include_api(app: FastAPI) -> None:
    # Every admin route documents the problem+json shape of its errors.
    errors = problem_responses()
    for router in ROUTERS:
        app.include_router(router, prefix="/api/v1", responses=errors)
