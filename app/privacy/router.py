"""Personal-data requests about one employee: access (export) and deletion (deactivate or erase).

The routes sit under /employees with the rest of the staff API; they live here because erasure
reaches every room that holds something about the person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.deps import AdminKey
from app.core.deps import ClockDep, SessionDep
from app.employees import service
from app.employees.router import GONE
from app.employees.schemas import EmployeeDeletion, EmployeeExport
from app.privacy.service import erase_employee, export_employee

router = APIRouter(tags=["employees"])


@router.get("/employees/{employee_id}/export", response_model=EmployeeExport, responses=GONE)
def export(
    key: AdminKey, session: SessionDep, clock: ClockDep, response: Response, employee_id: int
) -> EmployeeExport:
    """Everything stored about one person, for a GDPR access request (audited)."""
    data = export_employee(session, employee_id, now=clock.now(), actor=key)
    response.headers["Content-Disposition"] = f'attachment; filename="anstalld-{employee_id}.json"'
    return EmployeeExport.model_validate(data)


@router.delete("/employees/{employee_id}", response_model=EmployeeDeletion, responses=GONE)
def delete_employee(
    key: AdminKey,
    session: SessionDep,
    clock: ClockDep,
    employee_id: int,
    erase: Annotated[
        bool, Query(description="Erase the identity and activity (GDPR); else only deactivate")
    ] = False,
) -> EmployeeDeletion:
    """Deactivate an employee, or with erase=true erase them and keep anonymous counts."""
    now = clock.now()
    if not erase:
        employee = service.deactivate_employee(session, employee_id, now, actor=key)
        at = employee.deactivated_at or now
        return EmployeeDeletion(id=employee_id, action="deactivated", at=at)
    report = erase_employee(session, employee_id, now=now, actor=key)
    return EmployeeDeletion(
        id=employee_id,
        action="erased",
        at=report.erased_at,
        deleted=report.deleted,
        anonymised=report.anonymised,
    )
