"""Importing a staff list: plan what changes (added, changed, deactivated), check it as a whole,
then apply it in batches; a file with any error changes nothing. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.audit import record_audit
from app.auth.models import ApiKey
from app.core.errors import ProblemError
from app.core.i18n import Text
from app.core.uploads import MAX_LISTED, number
from app.employees.deliverability import clear_marks
from app.employees.importer import HEADER_FIELD, LABELS, EmployeeRow, ParsedFile, RowError
from app.employees.models import Employee, EmployeeSource
from app.employees.schemas import ImportMode

# Fields an import row may change; empty cells in the file never overwrite stored values.
WRITE_BATCH = 2_000
IMPORTED_FIELDS = ("email", "first_name", "last_name", "department", "employee_number")

PREVIEW_ROWS = 200  # people listed per kind of change in a dry run's table (the counts are all)


@dataclass(frozen=True)
class PlannedChange:
    """One person an import adds, changes or deactivates, for the dry run's table."""

    kind: Literal["create", "update", "deactivate"]
    row: int | None  # the row in the file; None for people missing from it
    name: str
    email: str | None
    department: str
    fields: tuple[str, ...] = ()  # what an update changes


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    mode: ImportMode = "upsert"
    planned: list[PlannedChange] = field(default_factory=list)  # at most PREVIEW_ROWS per kind
    error_count: int = 0  # all errors; `errors` lists at most MAX_LISTED of them
    error_rows: int = 0  # rows with at least one error

    def __post_init__(self) -> None:
        self.error_count = self.error_count or len(self.errors)
        self.error_rows = self.error_rows or len({e.row for e in self.errors})

    @property
    def file_errors(self) -> list[RowError]:
        """Problems with the whole file (unreadable, header columns), not with single rows."""
        return [e for e in self.errors if e.row is None or e.field == HEADER_FIELD]

    def error_summary(self) -> str:
        """'3 rader har fel; inget importerades', or the file-level problem itself."""
        if self.file_errors:
            return f"{self.file_errors[0].message} Inget importerades."
        rows = self.error_rows
        listed = ""
        if self.error_count > len(self.errors):
            listed = f" (de första {len(self.errors)} av {number(self.error_count)} fel visas)"
        return (
            f"{number(rows)} {'rad' if rows == 1 else 'rader'} har fel{listed}; inget importerades"
        )


@dataclass(frozen=True, slots=True)
class _Stored:
    """What an import needs to know of a stored employee; cheaper than 20,000 ORM objects."""

    id: int
    email: str | None
    first_name: str
    last_name: str
    department: str
    employee_number: str | None
    active: bool
    deactivated_at: datetime | None
    erased_at: datetime | None
    source: EmployeeSource


_STORED_COLUMNS = [getattr(Employee, name) for name in _Stored.__slots__]


@dataclass
class _Plan:
    creates: list[EmployeeRow] = field(default_factory=list)
    updates: list[tuple[_Stored, dict[str, Any]]] = field(default_factory=list)
    deactivations: list[_Stored] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def import_parsed(
    session: Session,
    parsed: ParsedFile,
    *,
    mode: ImportMode,
    dry_run: bool,
    now: datetime,
    actor: ApiKey | str | None,
) -> ImportResult:
    """Import a parsed file; a file with any error imports nothing. Audited, dry runs too."""
    if parsed.errors:
        return ImportResult(
            errors=parsed.errors,
            warnings=parsed.warnings,
            dry_run=dry_run,
            mode=mode,
            error_count=parsed.error_count,
            error_rows=parsed.error_rows,
        )
    result = import_employees(session, parsed.rows, mode=mode, dry_run=dry_run, now=now)
    result.warnings = parsed.warnings + result.warnings
    if not result.errors:
        # Rejected files change nothing and are not recorded (the API rolls them back anyway).
        _audit_import(session, result, len(parsed.rows), now, actor)
    return result


def _audit_import(
    session: Session, result: ImportResult, rows: int, now: datetime, actor: ApiKey | str | None
) -> None:
    record_audit(
        session,
        actor=actor,
        action="employees.import",
        now=now,
        target="employees",
        rows=rows,
        detail={
            "mode": result.mode,
            "dry_run": result.dry_run,
            "created": result.created,
            "updated": result.updated,
            "deactivated": result.deactivated,
            "unchanged": result.unchanged,
        },
    )


def import_employees(
    session: Session,
    rows: Sequence[EmployeeRow],
    *,
    mode: ImportMode,
    dry_run: bool,
    now: datetime,
) -> ImportResult:
    """Create, update and (mode 'sync') deactivate; writes nothing on errors or dry runs."""
    # One query for everyone, erased included: they still hold rows in the unique indexes.
    everyone = [_Stored(*row) for row in session.execute(select(*_STORED_COLUMNS))]
    plan = _plan(everyone, rows, mode)
    if plan.errors:
        return ImportResult(
            errors=plan.errors[:MAX_LISTED],
            dry_run=dry_run,
            mode=mode,
            error_count=len(plan.errors),
            error_rows=len({e.row for e in plan.errors}),
        )
    if not dry_run:
        try:
            _apply(session, plan, everyone, now)
        except IntegrityError:  # another import or edit changed the same people meanwhile
            raise ProblemError(
                409,
                Text("Anställda ändrades samtidigt", "Employees changed meanwhile"),
                Text(
                    "Någon annan ändrade anställda medan filen importerades; inget importerades. "
                    "Kör importen igen.",
                    "Someone else changed employees while the file was imported; nothing was "
                    "imported. Run the import again.",
                ),
            ) from None
    return ImportResult(
        created=len(plan.creates),
        updated=len(plan.updates),
        deactivated=len(plan.deactivations),
        unchanged=plan.unchanged,
        dry_run=dry_run,
        mode=mode,
        planned=_planned(plan),
    )


def _planned(plan: _Plan) -> list[PlannedChange]:
    def name(first: str, last: str) -> str:
        return f"{first} {last}".strip()

    creates = [
        PlannedChange("create", r.row, name(r.first_name, r.last_name), r.email, r.department or "")
        for r in plan.creates[:PREVIEW_ROWS]
    ]
    updates = [
        PlannedChange(
            "update",
            None,
            name(changes.get("first_name", e.first_name), changes.get("last_name", e.last_name)),
            changes.get("email", e.email),
            changes.get("department", e.department),
            tuple(LABELS.get(f, "återaktiveras") for f in sorted(changes) if f != "deactivated_at"),
        )
        for e, changes in plan.updates[:PREVIEW_ROWS]
    ]
    gone = [
        PlannedChange("deactivate", None, name(e.first_name, e.last_name), e.email, e.department)
        for e in plan.deactivations[:PREVIEW_ROWS]
    ]
    return creates + updates + gone


def _plan(everyone: list[_Stored], rows: Sequence[EmployeeRow], mode: ImportMode) -> _Plan:
    known = [e for e in everyone if e.erased_at is None]
    by_email = {e.email: e for e in known if e.email}
    by_number = {e.employee_number: e for e in known if e.employee_number}
    plan = _Plan()
    matched_row: dict[int, int] = {}  # employee id -> the row that matched it
    targets: list[tuple[EmployeeRow, _Stored | None]] = []
    for row in rows:
        employee = by_number.get(row.employee_number) if row.employee_number else None
        via = "employee_number" if employee is not None else "email"
        employee = employee or by_email.get(row.email)
        if employee is not None:
            earlier = matched_row.setdefault(employee.id, row.row)
            if earlier != row.row:
                plan.errors.append(_same_person_error(row, earlier, via))
        targets.append((row, employee))
    for row, employee in targets:
        holder = by_email.get(row.email)
        # Another employee keeps this address unless a row in the file gives them a new one.
        if holder is not None and holder is not employee and holder.id not in matched_row:
            plan.errors.append(_address_taken_error(row, holder))
        elif employee is None:
            plan.creates.append(row)
        elif changes := _changes(employee, row):
            plan.updates.append((employee, changes))
        else:
            plan.unchanged += 1
    if mode == "sync":
        # The identity provider says who works here for the people it manages (app/scim).
        plan.deactivations = [
            e
            for e in known
            if e.active and e.id not in matched_row and e.source != EmployeeSource.scim
        ]
    return plan


def _same_person_error(row: EmployeeRow, earlier: int, via: str) -> RowError:
    how = "anställningsnumret" if via == "employee_number" else "e-postadressen"
    message = (
        f"Raden gäller samma anställd som rad {earlier} (enligt {how} i registret). "
        "Kontrollera e-post och anställningsnummer på båda raderna."
    )
    return RowError(row.row, LABELS[via], message)


def _address_taken_error(row: EmployeeRow, holder: _Stored) -> RowError:
    number = holder.employee_number
    who = f"anställningsnummer {number}" if number else f"id {holder.id}"
    message = (
        f"E-postadressen används redan av en annan anställd ({who}) som inte finns i filen. "
        "Kontrollera e-postadress och anställningsnummer på raden."
    )
    return RowError(row.row, LABELS["email"], message)


def _changes(employee: _Stored, row: EmployeeRow) -> dict[str, Any]:
    wanted = {name: getattr(row, name) for name in IMPORTED_FIELDS if getattr(row, name)}
    changes = {name: value for name, value in wanted.items() if getattr(employee, name) != value}
    if not employee.active and employee.source != EmployeeSource.scim:
        changes |= {"active": True, "deactivated_at": None}
    return changes


def _apply(session: Session, plan: _Plan, everyone: list[_Stored], now: datetime) -> None:
    # Bulk statements with the same keys in every dict, so each is one executemany.
    _release_identifiers(session, plan, everyone)
    # In batches, so 100,000 rows never exist as parameter dicts all at once (memory).
    gone = {"active": False, "deactivated_at": now, "updated_at": now}
    changed = [(e, changes | {"updated_at": now}) for e, changes in plan.updates]
    changed += [(e, gone) for e in plan.deactivations]
    for start in range(0, len(changed), WRITE_BATCH):
        batch = changed[start : start + WRITE_BATCH]
        session.execute(update(Employee), [_stored_values(e) | c for e, c in batch])
    for start in range(0, len(plan.creates), WRITE_BATCH):
        batch_rows = plan.creates[start : start + WRITE_BATCH]
        session.execute(insert(Employee), [_new_employee(row, now) for row in batch_rows])
    clear_marks(session, [e.id for e, changes in plan.updates if "email" in changes])


def _stored_values(employee: _Stored) -> dict[str, Any]:
    kept = ("erased_at", "source")
    return {name: getattr(employee, name) for name in _Stored.__slots__ if name not in kept}


def _release_identifiers(session: Session, plan: _Plan, everyone: list[_Stored]) -> None:
    """Clear addresses and numbers that move to someone else, so swaps pass unique checks."""
    wanted: list[tuple[str | None, str | None]] = [
        (row.email, row.employee_number) for row in plan.creates
    ]
    wanted += [(c.get("email"), c.get("employee_number")) for _, c in plan.updates]
    wanted_emails = {email for email, _ in wanted if email}
    wanted_numbers = {number for _, number in wanted if number}
    released = [
        {
            "id": e.id,
            "email": None if e.email in wanted_emails else e.email,
            "employee_number": None if e.employee_number in wanted_numbers else e.employee_number,
        }
        for e in everyone
        if e.email in wanted_emails or e.employee_number in wanted_numbers
    ]
    if released:
        session.execute(update(Employee), released)


def _new_employee(row: EmployeeRow, now: datetime) -> dict[str, Any]:
    return {
        "email": row.email,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "department": row.department or "",
        "employee_number": row.employee_number,
        "active": True,
        "created_at": now,
        "updated_at": now,
    }
