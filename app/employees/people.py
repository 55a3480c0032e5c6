"""Looking up the one person a privacy request is about: unknown is 404, erased is 410."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.errors import ProblemError
from app.core.i18n import Text
from app.employees.models import Employee


def audit_target(employee_id: int) -> str:
    """How the audit log names the person: by id only, never by name or address."""
    return f"employee {employee_id}"


def no_such_employee(employee_id: int) -> ProblemError:
    return ProblemError(
        404,
        Text("Anställd finns inte", "No such employee"),
        Text(
            f"Det finns ingen anställd med id {employee_id}. Sök i listan med GET "
            "/api/v1/employees.",
            f"There is no employee with id {employee_id}. Search the list with GET "
            "/api/v1/employees.",
        ),
    )


def person_or_problem(session: Session, employee_id: int) -> Employee:
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise no_such_employee(employee_id)
    if employee.erased_at is not None:
        # 410, not 404: the admin learns the request was already fulfilled, and when.
        raise ProblemError(
            410,
            Text("Anställd raderad", "Employee erased"),
            Text(
                f"Anställd {employee_id} raderades {employee.erased_at:%Y-%m-%d}. "
                "Inga personuppgifter finns kvar, bara anonyma antal.",
                f"Employee {employee_id} was erased on {employee.erased_at:%Y-%m-%d}. "
                "No personal data is left, only anonymous counts.",
            ),
            erased_at=employee.erased_at.isoformat().replace("+00:00", "Z"),  # as in bodies
        )
    return employee
