"""Dashboard: the staff list. Upload a file, read its dry run, confirm; search and page; one
person: deactivate (editors), download their data and erase them (admins). The same services
as the admin API (app.employees.service, app.privacy.service), audited with the signed-in key."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.core.errors import ProblemError
from app.dashboard import uploads
from app.dashboard.auth import AdminUser, DashboardUser, EditorUser, owner_of
from app.dashboard.csrf import protect
from app.dashboard.forms import Form, field_text, problem_text
from app.dashboard.responses import DashboardRoute, redirect, render
from app.dashboard.views.staff import MODES, dry_run, error_rows, person_row, staff_list, when
from app.employees.importer import MAX_FILE_BYTES, UnsupportedFileError, parse_file
from app.employees.models import Employee
from app.employees.schemas import EmployeeExport, ImportMode
from app.employees.service import deactivate_employee
from app.employees.staff_import import import_employees, import_parsed
from app.privacy.service import erase_employee, export_employee

HOME = "/dashboard/staff"
NOTICES = {
    "import": "Personallistan är importerad.",
    "avslutad": "Personen är avslutad och får inga fler e-postmeddelanden.",
    "raderad": "Personen är raderad. Bara anonyma antal finns kvar.",
}
TOO_BIG = (
    f"Filen är större än {MAX_FILE_BYTES // (1024 * 1024)} MB. Ta bort kolumner som inte "
    "behövs, eller dela upp listan per förvaltning."
)
NO_FILE = "Välj en fil med personallistan (Excel eller CSV)."

# Included in app.dashboard.router (under /dashboard), whose `protect` covers it too.
router = APIRouter(
    prefix="/staff",
    route_class=DashboardRoute,
    include_in_schema=False,
    dependencies=[Depends(protect)],
)


def _mode(text: str) -> ImportMode:
    return "sync" if text == "sync" else "upsert"


@router.get("")
def staff(
    user: DashboardUser,
    session: SessionDep,
    q: str = "",
    department: str = "",
    page: int = 1,
    klart: str = "",
) -> Response:
    listing = staff_list(session, q.strip()[:200], department[:200], min(max(page, 1), 10**6))
    return render(
        "staff.html",
        user=user,
        section="staff",
        listing=listing,
        notice=NOTICES.get(klart, ""),
        upload_errors={},
        mode="upsert",
        modes=MODES,
    )


def _upload_refused(user: EditorUser, session: Session, message: str, mode: str) -> Response:
    listing = staff_list(session, "", "", 1)
    return render(
        "staff.html",
        status=422,
        user=user,
        section="staff",
        listing=listing,
        notice="",
        upload_errors={"file": message},
        mode=mode,
        modes=MODES,
    )


@router.post("/upload")
def upload(
    user: EditorUser, session: SessionDep, settings: SettingsDep, clock: ClockDep, form: Form
) -> Response:
    mode = _mode(field_text(str(form.get("mode", ""))))
    file = form.get("file")
    if file is None or isinstance(file, str) or not file.filename:
        return _upload_refused(user, session, NO_FILE, mode)
    data = file.file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return _upload_refused(user, session, TOO_BIG, mode)
    try:
        parsed = parse_file(data, file.filename)
    except UnsupportedFileError as exc:
        return _upload_refused(user, session, str(exc), mode)
    now = clock.now()
    # The dry run as the API makes it (audited as one); a file with errors changes nothing.
    result = import_parsed(session, parsed, mode=mode, dry_run=True, now=now, actor=user)
    if result.errors:
        session.rollback()
        rows, more = error_rows(result.errors)
        return render(
            "staff_import.html",
            status=422,
            user=user,
            section="staff",
            filename=file.filename,
            summary=result.error_summary(),
            errors=rows,
            more_errors=more,
            run=None,
            token="",
        )
    token = uploads.save(settings, owner_of(user), data, file.filename, mode, now)
    return redirect(f"{HOME}/import/{token}")


def _gone(user: EditorUser) -> Response:
    return render("staff_upload_gone.html", status=404, user=user, section="staff")


@router.get("/import/{token}")
def review(
    token: str, user: EditorUser, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    upload_ = uploads.load(settings, owner_of(user), token, clock.now())
    if upload_ is None:
        return _gone(user)
    parsed = parse_file(upload_.data, upload_.filename)
    # A read: the dry run is computed again (the staff list may have changed) and not audited.
    result = import_employees(
        session,
        parsed.rows,
        mode=_mode(upload_.mode),
        dry_run=True,
        now=clock.now(),
    )
    result.warnings = parsed.warnings + result.warnings
    if parsed.errors or result.errors:
        rows, more = error_rows(parsed.errors or result.errors)
        return render(
            "staff_import.html",
            status=422,
            user=user,
            section="staff",
            filename=upload_.filename,
            summary=result.error_summary() if result.errors else "Filen har fel.",
            errors=rows,
            more_errors=more,
            run=None,
            token="",
        )
    return render(
        "staff_import.html",
        user=user,
        section="staff",
        filename=upload_.filename,
        summary="",
        errors=[],
        more_errors=0,
        run=dry_run(result, upload_.filename),
        token=token,
    )


@router.post("/import/{token}")
def confirm(
    token: str, user: EditorUser, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    upload_ = uploads.load(settings, owner_of(user), token, clock.now())
    if upload_ is None:
        return _gone(user)
    parsed = parse_file(upload_.data, upload_.filename)
    mode = _mode(upload_.mode)
    result = import_parsed(session, parsed, mode=mode, dry_run=False, now=clock.now(), actor=user)
    if result.errors:  # the staff list changed since the dry run: show the new one
        session.rollback()
        return redirect(f"{HOME}/import/{token}")
    uploads.discard(settings, token)
    return redirect(f"{HOME}?klart=import")


def _person(session: Session, employee_id: int) -> Employee | None:
    employee = session.get(Employee, employee_id)
    return None if employee is None or employee.erased_at is not None else employee


def _not_found(user: DashboardUser) -> Response:
    return render("not_found.html", status=404, user=user, section="staff")


@router.get("/{employee_id}")
def person(employee_id: int, user: DashboardUser, session: SessionDep, klart: str = "") -> Response:
    employee = _person(session, employee_id)
    if employee is None:
        return _not_found(user)
    return render(
        "staff_person.html",
        user=user,
        section="staff",
        person=person_row(employee),
        number=employee.employee_number or "–",
        since=when(employee.created_at),
        left=when(employee.deactivated_at),
        notice=NOTICES.get(klart, ""),
    )


@router.post("/{employee_id}/deactivate")
def deactivate(
    employee_id: int, user: EditorUser, session: SessionDep, clock: ClockDep
) -> Response:
    if _person(session, employee_id) is None:
        return _not_found(user)
    deactivate_employee(session, employee_id, clock.now(), actor=user)
    return redirect(f"{HOME}/{employee_id}?klart=avslutad")


@router.get("/{employee_id}/export.json")
def export(employee_id: int, user: AdminUser, session: SessionDep, clock: ClockDep) -> Response:
    if _person(session, employee_id) is None:
        return _not_found(user)
    data = export_employee(session, employee_id, now=clock.now(), actor=user)
    body = EmployeeExport.model_validate(data).model_dump_json(indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="anstalld-{employee_id}.json"'},
    )


@router.get("/{employee_id}/erase")
def erase_form(employee_id: int, user: AdminUser, session: SessionDep) -> Response:
    employee = _person(session, employee_id)
    if employee is None:
        return _not_found(user)
    return render("staff_erase.html", user=user, section="staff", person=person_row(employee))


@router.post("/{employee_id}/erase")
def erase(employee_id: int, user: AdminUser, session: SessionDep, clock: ClockDep) -> Response:
    if _person(session, employee_id) is None:
        return _not_found(user)
    try:
        erase_employee(session, employee_id, now=clock.now(), actor=user)
    except ProblemError as exc:  # e.g. erased a moment ago by someone else
        session.rollback()
        return render("message.html", status=exc.status, user=user, text=problem_text(exc))
    return redirect(f"{HOME}?klart=raderad")
