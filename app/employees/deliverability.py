"""Addresses that reach no one: marked from bounces, listed for HR, cleared when the address
changes (an edit or a staff-file import). A marked person gets no e-mails
(`outbox.state.cancel_unwanted`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.employees.models import Employee

CLEAR_BATCH = 1000
CLEARED = {"undeliverable_at": None, "undeliverable_reason": None, "soft_bounces": 0}


def mark_bounced(
    session: Session,
    employee_id: int,
    *,
    hard: bool,
    reason: str,
    now: datetime,
    soft_limit: int,
) -> bool:
    """Count one bounce of the person's address; True when it is now marked undeliverable."""
    employee = session.get(Employee, employee_id, with_for_update=True)
    if employee is None or employee.undeliverable_at is not None:
        return False
    if not hard:
        employee.soft_bounces += 1
        if employee.soft_bounces < soft_limit:
            return False
    employee.undeliverable_at = now
    employee.undeliverable_reason = reason[:500]
    return True


def clear_mark(employee: Employee) -> None:
    """A new address: whatever bounced before says nothing about it."""
    for name, value in CLEARED.items():
        setattr(employee, name, value)


def clear_marks(session: Session, employee_ids: Sequence[int]) -> None:
    for start in range(0, len(employee_ids), CLEAR_BATCH):
        batch = employee_ids[start : start + CLEAR_BATCH]
        marked = or_(Employee.undeliverable_at.is_not(None), Employee.soft_bounces != 0)
        session.execute(
            update(Employee)
            .where(Employee.id.in_(batch), marked)
            .values(**CLEARED)
            .execution_options(synchronize_session=False)
        )


def undeliverable(session: Session) -> list[Employee]:
    """Active, not erased people whose address is marked, by department and name."""
    return list(
        session.scalars(
            select(Employee)
            .where(
                Employee.undeliverable_at.is_not(None),
                Employee.active.is_(True),
                Employee.erased_at.is_(None),
            )
            .order_by(Employee.department, Employee.last_name, Employee.first_name, Employee.id)
        )
    )
