"""People the identity provider manages (SCIM, app/scim): create or adopt, replace, deactivate.

A person provisioned by the identity provider and a person imported from the staff list are the
same employee record. Creating someone whose address (or employee number) is already in the
list adopts that record: it becomes SCIM-managed and keeps its history. Every change goes through
the same rules as the API's edits (`service.update_employee`, `service.deactivate_employee`): the
same validation, the same unique checks, the same audit entries (ids and field names only).

While managed, a person has `scim_user_name` (and `scim_external_id` if sent); a DELETE clears
both and deactivates: the record and its reports stay, the SCIM id then answers 404, and a later
create with the same address adopts the record again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.audit import record_audit
from app.auth.models import ApiKey
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.core.messages import error_message
from app.employees.models import Employee, EmployeeSource
from app.employees.people import audit_target
from app.employees.schemas import EmployeePatch
from app.employees.service import check_unique, deactivate_employee, update_employee

MAX_USER_NAME = 320
MAX_EXTERNAL_ID = 255


@dataclass(frozen=True)
class Provisioned:
    """What the identity provider says of one person, in our fields."""

    user_name: str
    external_id: str | None
    email: str
    first_name: str
    last_name: str
    department: str
    employee_number: str | None
    active: bool

    def patch(self, *, keep_blank: bool = False, active: bool | None = None) -> EmployeePatch:
        """The fields as the API's edit body: the same validation (address, lengths). With
        keep_blank, fields the provider leaves empty are not sent (as a file's empty cells)."""
        fields: dict[str, str | bool | None] = {
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "department": self.department,
            "employee_number": self.employee_number,
        }
        if keep_blank:
            fields = {name: value for name, value in fields.items() if value}
        if active is not None:
            fields["active"] = active
        try:
            return EmployeePatch.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "body"
            raise ProblemError(
                422,
                Text("Ogiltigt värde", "Invalid value"),
                Text(
                    f"{field}: {error_message(first, 'sv')}",
                    f"{field}: {error_message(first, 'en')}",
                ),
                field=field,
            ) from None


def _managed() -> ColumnElement[bool]:
    return Employee.scim_user_name.is_not(None) & Employee.erased_at.is_(None)


def managed_person(session: Session, employee_id: int) -> Employee | None:
    """The SCIM-managed person with this id; None for everyone else (404 in SCIM)."""
    return session.scalar(select(Employee).where(Employee.id == employee_id, _managed()))


def list_managed(
    session: Session,
    *,
    user_name: str | None = None,
    external_id: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[Employee], int]:
    """A page of SCIM-managed people by id, optionally only the one with a userName or externalId
    (userName compares case-insensitively, as SCIM says)."""
    query = select(Employee).where(_managed())
    if user_name is not None:
        query = query.where(func.lower(Employee.scim_user_name) == user_name.lower())
    if external_id is not None:
        query = query.where(Employee.scim_external_id == external_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(Employee.id).offset(offset).limit(limit))
    return list(page), total


def _check_scim_ids(session: Session, person: Provisioned, employee_id: int | None) -> None:
    if len(person.user_name) > MAX_USER_NAME or not person.user_name.strip():
        raise ProblemError(
            422,
            Text("Ogiltigt userName", "Invalid userName"),
            Text("userName saknas eller är för långt.", "userName is missing or too long."),
        )
    if person.external_id is not None and len(person.external_id) > MAX_EXTERNAL_ID:
        raise ProblemError(
            422,
            Text("Ogiltigt externalId", "Invalid externalId"),
            Text("externalId är för långt.", "externalId is too long."),
        )
    checks = [func.lower(Employee.scim_user_name) == person.user_name.lower()]
    if person.external_id is not None:
        checks.append(Employee.scim_external_id == person.external_id)
    query = select(Employee.id).where(or_(*checks))
    if employee_id is not None:
        query = query.where(Employee.id != employee_id)
    other = session.scalar(query.limit(1))
    if other is not None:
        raise ProblemError(
            409,
            Text("userName används redan", "userName is taken"),
            Text(
                f"userName eller externalId används redan av en annan person (id {other}).",
                f"userName or externalId is already used by another person (id {other}).",
            ),
            field="userName",
        )


def provision(
    session: Session, person: Provisioned, now: datetime, *, actor: ApiKey | str | None
) -> Employee:
    """Create the person, or adopt the staff-list record with the same address or number."""
    patch = person.patch()
    _check_scim_ids(session, person, None)
    same = [Employee.email == patch.email]
    if patch.employee_number:
        same.append(Employee.employee_number == patch.employee_number)
    found = session.scalar(
        select(Employee).where(or_(*same), Employee.erased_at.is_(None)).order_by(Employee.id)
    )
    if found is not None and found.scim_user_name is None:
        found.source = EmployeeSource.scim
        return replace_person(session, found, person, now, actor=actor, keep_blank=True)
    employee = Employee(
        email=patch.email,
        first_name=patch.first_name or "",
        last_name=patch.last_name or "",
        department=patch.department or "",
        employee_number=patch.employee_number,
        active=person.active,
        created_at=now,
        updated_at=now,
        deactivated_at=None if person.active else now,
        source=EmployeeSource.scim,
        scim_user_name=person.user_name,
        scim_external_id=person.external_id,
    )
    check_unique(session, employee, patch.changes())
    if not employee.first_name and not employee.last_name:
        raise ProblemError(
            422,
            Text("Namn saknas", "Name missing"),
            Text(
                "En anställd måste ha förnamn eller efternamn; fyll i minst ett.",
                "An employee needs a first or a last name; fill in at least one.",
            ),
        )
    session.add(employee)
    _flush(session)
    record_audit(
        session,
        actor=actor,
        action="employees.create",
        now=now,
        target=audit_target(employee.id),
        rows=1,
        detail={"source": EmployeeSource.scim.value},
    )
    return employee


def replace_person(
    session: Session,
    employee: Employee,
    person: Provisioned,
    now: datetime,
    *,
    actor: ApiKey | str | None,
    keep_blank: bool = False,
) -> Employee:
    """Make the record say what the provider says; active=false deactivates as a sync does."""
    _check_scim_ids(session, person, employee.id)
    employee.scim_user_name = person.user_name
    employee.scim_external_id = person.external_id
    reactivate = True if person.active and not employee.active else None
    fields = person.patch(keep_blank=keep_blank, active=reactivate)
    update_employee(session, employee.id, fields, now, actor=actor)
    if not person.active and employee.active:
        deactivate_employee(session, employee.id, now, actor=actor)
    _flush(session)
    return employee


def unprovision(
    session: Session, employee: Employee, now: datetime, *, actor: ApiKey | str | None
) -> None:
    """The provider's DELETE: deactivate (no more e-mails, reports keep the history) and let go."""
    deactivate_employee(session, employee.id, now, actor=actor)
    employee.scim_user_name = None
    employee.scim_external_id = None
    _flush(session)


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError:  # someone took the address, number or userName a moment ago
        raise ProblemError(
            409,
            Text("Krock med en annan anställd", "Clash with another employee"),
            Text(
                "E-postadressen, anställningsnumret eller userName sparades just för en annan "
                "person. Försök igen.",
                "The e-mail address, employee number or userName was just saved for another "
                "person. Try again.",
            ),
        ) from None
