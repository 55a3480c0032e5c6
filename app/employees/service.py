"""Employees: list, view, edit and deactivate (importing a staff list: staff_import.py). Services
flush, never commit; every change is audited with ids and counts only, never names or addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.audit import record_audit
from app.auth.models import ApiKey
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.employees.deliverability import clear_mark
from app.employees.models import Employee
from app.employees.people import audit_target, no_such_employee, person_or_problem
from app.employees.schemas import EmployeePatch


# Fields an import row may change; empty cells in the file never overwrite stored values.
def list_employees(
    session: Session,
    *,
    department: str | None = None,
    active: bool | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Employee], int]:
    """A page of employees (erased ones never), by last name, and the total matching."""
    query = select(Employee).where(Employee.erased_at.is_(None))
    if department is not None:
        query = query.where(Employee.department == department)
    if active is not None:
        query = query.where(Employee.active == active)
    for word in (q or "").split():
        query = query.where(_matches(word))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(Employee.last_name, Employee.first_name, Employee.id)
    return list(session.scalars(page.limit(limit).offset(offset))), total


def _matches(word: str) -> ColumnElement[bool]:
    """Every word must appear somewhere, so "anna berg" finds Anna Berg."""
    columns = (Employee.email, Employee.first_name, Employee.last_name, Employee.employee_number)
    # SQLite folds case only for A-Z, so "åsa" would miss "Åsa": try the usual spellings too.
    variants = {word, word.lower(), word.capitalize(), word.upper()}
    return or_(*(column.icontains(v, autoescape=True) for column in columns for v in variants))


def get_employee(session: Session, employee_id: int) -> Employee:
    employee = session.get(Employee, employee_id)
    if employee is None or employee.erased_at is not None:
        raise no_such_employee(employee_id)
    return employee


def update_employee(
    session: Session,
    employee_id: int,
    patch: EmployeePatch,
    now: datetime,
    *,
    actor: ApiKey | str | None,
) -> Employee:
    """Change the fields sent; addresses and numbers stay unique. Audited by field name only."""
    employee = get_employee(session, employee_id)
    changes = {k: v for k, v in patch.changes().items() if getattr(employee, k) != v}
    check_unique(session, employee, changes)
    first = changes.get("first_name", employee.first_name)
    last = changes.get("last_name", employee.last_name)
    if not first and not last:
        raise ProblemError(
            422,
            Text("Namn saknas", "Name missing"),
            Text(
                "En anställd måste ha förnamn eller efternamn; fyll i minst ett.",
                "An employee needs a first or a last name; fill in at least one.",
            ),
        )
    if not changes:
        return employee
    if "active" in changes:
        employee.deactivated_at = None if changes["active"] else now
    for name, value in changes.items():
        setattr(employee, name, value)
    if "email" in changes:
        clear_mark(employee)  # a corrected address starts with no bounces
    employee.updated_at = now
    try:
        session.flush()
    except IntegrityError:  # someone else took the address or number a moment ago
        raise ProblemError(
            409,
            Text("Krock med en annan anställd", "Clash with another employee"),
            Text(
                "E-postadressen eller anställningsnumret sparades just för en annan anställd. "
                "Ladda om och försök igen.",
                "The e-mail address or employee number was just saved for another employee. "
                "Reload and try again.",
            ),
        ) from None
    record_audit(
        session,
        actor=actor,
        action="employees.update",
        now=now,
        target=audit_target(employee.id),
        rows=1,
        detail={"fields": sorted(changes)},
    )
    return employee


def deactivate_employee(
    session: Session, employee_id: int, now: datetime, *, actor: ApiKey | str | None
) -> Employee:
    """No more e-mails; everything stored stays. Twice changes nothing; erased people are 410."""
    employee = person_or_problem(session, employee_id)
    if not employee.active:
        return employee
    employee.active = False
    employee.deactivated_at = now
    employee.updated_at = now
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="employees.deactivate",
        now=now,
        target=audit_target(employee.id),
        rows=1,
    )
    return employee


def check_unique(session: Session, employee: Employee, changes: dict[str, Any]) -> None:
    checks = (
        ("email", Employee.email, ("E-postadressen", "The e-mail address")),
        (
            "employee_number",
            Employee.employee_number,
            ("Anställningsnumret", "The employee number"),
        ),
    )
    for name, column, (label, label_en) in checks:
        value = changes.get(name)
        if value is None:
            continue
        other = session.scalar(
            select(Employee.id).where(column == value, Employee.id != employee.id)
        )
        if other is not None:
            raise ProblemError(
                409,
                Text(f"{label} används redan", f"{label_en} is taken"),
                Text(
                    f"{label} används redan av en annan anställd (id {other}). "
                    "Varje anställd måste ha en egen; ändra den andra först om den är fel.",
                    f"{label_en} is already used by another employee (id {other}). "
                    "Each employee needs their own; change the other one first if it is wrong.",
                ),
                field=name,
            )
