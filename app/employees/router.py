"""Employees API: import the staff list, list, view and edit. Export (GDPR access) and
deactivation or erasure are personal-data requests: app.privacy.router."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile

from app.auth.deps import EditorKey, ReaderKey
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.employees import service
from app.employees.importer import MAX_FILE_BYTES, UnsupportedFileError, parse_file
from app.employees.schemas import (
    MAX_PAGE_SIZE,
    EmployeeList,
    EmployeeOut,
    EmployeePatch,
    ImportMode,
    ImportResultOut,
)
from app.employees.staff_import import import_parsed

router = APIRouter(tags=["employees"])


# Sync (def) on purpose: parsing 20,000 rows is CPU work and must not block the event loop.
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
GONE: dict[int | str, dict[str, Any]] = {410: {"description": "The employee was erased", **PROBLEM}}


@router.post(
    "/employees/import",
    response_model=ImportResultOut,
    responses={
        413: {"description": "The file is larger than 20 MB", **PROBLEM},
        415: {"description": "Not a CSV or Excel file", **PROBLEM},
    },
)
def import_employees(
    key: EditorKey,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The staff list: .xlsx, .csv or .txt")],
    dry_run: Annotated[bool, Query(description="Only count what would change")] = False,
    mode: Annotated[
        ImportMode, Query(description="sync also deactivates people not in the file")
    ] = "upsert",
) -> ImportResultOut:
    """Import the staff list (CSV or Excel); a file with any error imports nothing.

    A 422 lists at most the first 100 errors in `errors` and counts all of them in
    `error_count`. Warnings (e.g. letters like å before the @) do not stop the import.
    """
    data = file.file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ProblemError(
            413,
            Text("Filen är för stor", "The file is too large"),
            Text(
                f"Filen får vara högst {MAX_FILE_BYTES // (1024 * 1024)} MB. "
                "Ta bort kolumner som inte behövs, eller dela upp listan per förvaltning.",
                f"The file may be at most {MAX_FILE_BYTES // (1024 * 1024)} MB. "
                "Remove columns you do not need, or split the list by department.",
            ),
        )
    try:
        parsed = parse_file(data, file.filename or "", limits=settings.upload_limits)
    except UnsupportedFileError as exc:
        title = Text("Filtypen stöds inte", "Unsupported file type")
        raise ProblemError(415, title, str(exc)) from None
    result = import_parsed(session, parsed, mode=mode, dry_run=dry_run, now=clock.now(), actor=key)
    if result.errors:
        raise ProblemError(
            422,
            Text("Filen har fel", "The file has errors"),
            result.error_summary(),
            errors=[error.as_dict() for error in result.errors],
            error_count=result.error_count,
            created=0,
            updated=0,
            deactivated=0,
            unchanged=0,
            warnings=result.warnings,
            dry_run=dry_run,
            mode=mode,
        )
    return ImportResultOut.model_validate(result)


@router.get("/employees", response_model=EmployeeList)
def list_employees(
    _key: ReaderKey,
    session: SessionDep,
    department: Annotated[str | None, Query(description="Exact department name")] = None,
    active: Annotated[bool | None, Query(description="Only active (true) or left (false)")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Search name, e-mail, number")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> EmployeeList:
    """List employees, sorted by last name, with filters and paging."""
    items, total = service.list_employees(
        session, department=department, active=active, q=q, limit=limit, offset=offset
    )
    return EmployeeList(
        items=[EmployeeOut.model_validate(e) for e in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/employees/{employee_id}", response_model=EmployeeOut, responses=GONE)
def get_employee(_key: ReaderKey, session: SessionDep, employee_id: int) -> EmployeeOut:
    """One employee."""
    return EmployeeOut.model_validate(service.get_employee(session, employee_id))


@router.patch("/employees/{employee_id}", response_model=EmployeeOut, responses=GONE)
def update_employee(
    key: EditorKey, session: SessionDep, clock: ClockDep, employee_id: int, patch: EmployeePatch
) -> EmployeeOut:
    """Change an employee's name, e-mail, department, number or active status."""
    employee = service.update_employee(session, employee_id, patch, clock.now(), actor=key)
    return EmployeeOut.model_validate(employee)
