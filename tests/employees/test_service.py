"""Applying an import to the database: matching, upsert vs sync, dry runs, all-or-nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.core.clock import FakeClock
from app.core.errors import ProblemError
from app.employees.importer import EmployeeRow, parse_file
from app.employees.models import Employee
from app.employees.schemas import EmployeePatch, ImportMode
from app.employees.service import get_employee, list_employees, update_employee
from app.employees.staff_import import ImportResult, import_employees, import_parsed
from tests.employees.files import HEADER_SV, make_csv, staff


def add(
    session: Session,
    clock: FakeClock,
    email: str | None,
    number: str | None = None,
    **fields: object,
) -> Employee:
    employee = Employee(
        email=email,
        employee_number=number,
        first_name=str(fields.pop("first_name", "Förnamn")),
        last_name=str(fields.pop("last_name", "Efternamn")),
        department=str(fields.pop("department", "Skola")),
        created_at=clock.now(),
        updated_at=clock.now(),
        **fields,
    )
    session.add(employee)
    session.flush()
    return employee


def run(
    session: Session,
    clock: FakeClock,
    rows: list[list[object]],
    mode: ImportMode = "upsert",
    dry_run: bool = False,
) -> ImportResult:
    parsed = parse_file(make_csv(rows), "personal.csv")
    result = import_parsed(
        session, parsed, mode=mode, dry_run=dry_run, now=clock.now(), actor="test"
    )
    session.commit()
    return result


def counts(result: ImportResult) -> tuple[int, int, int, int]:
    return (result.created, result.updated, result.deactivated, result.unchanged)


def all_employees(session: Session) -> dict[str, Employee]:
    session.expire_all()
    return {e.email or f"id{e.id}": e for e in session.scalars(select(Employee))}


def test_first_import_creates_everyone(session: Session, clock: FakeClock) -> None:
    result = run(session, clock, staff(3))
    assert counts(result) == (3, 0, 0, 0)
    assert result.errors == []
    person = all_employees(session)["person1@kommun.se"]
    assert (person.first_name, person.last_name, person.department) == (
        "Förnamn1",
        "Efternamn1",
        "Socialförvaltningen",
    )
    assert (person.employee_number, person.active, person.created_at) == ("1001", True, clock.now())


def test_upsert_updates_changed_keeps_missing_and_counts_unchanged(
    session: Session, clock: FakeClock
) -> None:
    run(session, clock, staff(3))
    clock.advance(days=1)
    rows = staff(2)
    rows[2][3] = "Kulturförvaltningen"  # person1 moved
    rows.append(["ny@kommun.se", "Ny", "Person", "Skola", ""])
    result = run(session, clock, rows)
    assert counts(result) == (1, 1, 0, 1)
    people = all_employees(session)
    assert people["person1@kommun.se"].department == "Kulturförvaltningen"
    assert people["person1@kommun.se"].updated_at == clock.now()
    assert people["person0@kommun.se"].updated_at == clock.now() - timedelta(days=1)
    assert people["person2@kommun.se"].active is True  # upsert never deactivates


def test_sync_deactivates_missing_and_reactivates_returning(
    session: Session, clock: FakeClock
) -> None:
    run(session, clock, staff(3))
    clock.advance(days=1)
    result = run(session, clock, staff(2), mode="sync")
    assert counts(result) == (0, 0, 1, 2)
    gone = all_employees(session)["person2@kommun.se"]
    assert (gone.active, gone.deactivated_at) == (False, clock.now())

    clock.advance(days=1)
    result = run(session, clock, staff(3), mode="sync")
    assert counts(result) == (0, 1, 0, 2)  # coming back counts as updated
    back = all_employees(session)["person2@kommun.se"]
    assert (back.active, back.deactivated_at) == (True, None)


def test_dry_run_counts_the_same_and_writes_nothing(session: Session, clock: FakeClock) -> None:
    run(session, clock, staff(2))
    rows = staff(1)
    rows[1][1] = "Nytt"
    rows.append(["ny@kommun.se", "Ny", "Person", "", ""])
    before = {k: (e.first_name, e.active) for k, e in all_employees(session).items()}
    result = run(session, clock, rows, mode="sync", dry_run=True)
    assert counts(result) == (1, 1, 1, 0)
    assert result.dry_run is True
    after = {k: (e.first_name, e.active) for k, e in all_employees(session).items()}
    assert after == before


def test_email_matches_case_insensitively(session: Session, clock: FakeClock) -> None:
    add(session, clock, "anna@x.se", first_name="Anna", last_name="Berg")
    session.commit()
    result = run(session, clock, [["E-post", "Namn"], ["Anna@X.se", "Anna Berg"]])
    assert counts(result) == (0, 0, 0, 1)
    assert session.scalar(select(func.count()).select_from(Employee)) == 1


def test_employee_number_wins_over_email_so_an_address_can_change(
    session: Session, clock: FakeClock
) -> None:
    add(session, clock, "anna.berg@kommun.se", "0012", first_name="Anna", last_name="Berg")
    session.commit()
    rows = [HEADER_SV, ["anna.ek@kommun.se", "Anna", "Ek", "Skola", "0012"]]
    assert counts(run(session, clock, rows)) == (0, 1, 0, 0)
    (anna,) = all_employees(session).values()
    assert (anna.email, anna.last_name, anna.employee_number) == ("anna.ek@kommun.se", "Ek", "0012")


def test_two_employees_can_swap_addresses(session: Session, clock: FakeClock) -> None:
    add(session, clock, "a@kommun.se", "1")
    add(session, clock, "b@kommun.se", "2")
    session.commit()
    rows = [HEADER_SV, ["b@kommun.se", "A", "A", "", "1"], ["a@kommun.se", "B", "B", "", "2"]]
    assert counts(run(session, clock, rows)) == (0, 2, 0, 0)
    people = all_employees(session)
    assert (people["b@kommun.se"].employee_number, people["a@kommun.se"].employee_number) == (
        "1",
        "2",
    )


def test_empty_cells_do_not_overwrite(session: Session, clock: FakeClock) -> None:
    add(session, clock, "a@kommun.se", "1", department="Skola")
    session.commit()
    result = run(session, clock, [HEADER_SV, ["a@kommun.se", "Förnamn", "Efternamn", "", ""]])
    assert counts(result) == (0, 0, 0, 1)
    (person,) = all_employees(session).values()
    assert (person.department, person.employee_number) == ("Skola", "1")


def test_address_of_someone_not_in_file_is_an_error_and_nothing_is_written(
    session: Session, clock: FakeClock
) -> None:
    add(session, clock, "a@kommun.se", "1")
    add(session, clock, "b@kommun.se", "2")
    session.commit()
    rows = [HEADER_SV, ["new@kommun.se", "N", "N", "", "9"], ["b@kommun.se", "A", "A", "", "1"]]
    result = run(session, clock, rows)
    assert counts(result) == (0, 0, 0, 0)
    assert [(e.row, e.field) for e in result.errors] == [(3, "e-post")]
    assert "anställningsnummer 2" in result.errors[0].message
    assert set(all_employees(session)) == {"a@kommun.se", "b@kommun.se"}


def test_two_rows_matching_one_employee_is_an_error(session: Session, clock: FakeClock) -> None:
    add(session, clock, "a@kommun.se", "1")
    session.commit()
    rows = [HEADER_SV, ["other@kommun.se", "A", "A", "", "1"], ["a@kommun.se", "A", "A", "", "7"]]
    result = run(session, clock, rows)
    assert [(e.row, e.field) for e in result.errors] == [(3, "e-post")]
    assert "samma anställd som rad 2" in result.errors[0].message
    assert set(all_employees(session)) == {"a@kommun.se"}


def test_any_row_error_imports_nothing(session: Session, clock: FakeClock) -> None:
    rows = staff(5)
    rows[4][0] = "trasig-adress"
    result = run(session, clock, rows, mode="sync")
    assert counts(result) == (0, 0, 0, 0)
    assert result.error_summary() == "1 rad har fel; inget importerades"
    assert session.scalar(select(func.count()).select_from(Employee)) == 0


def test_erased_employees_are_never_matched_or_listed(session: Session, clock: FakeClock) -> None:
    # An erased person whose identifiers were (wrongly) left behind must not block or match.
    add(session, clock, "old@kommun.se", "5", erased_at=clock.now(), active=False)
    session.commit()
    result = run(
        session, clock, [HEADER_SV, ["old@kommun.se", "Ny", "Person", "", "5"]], mode="sync"
    )
    assert counts(result) == (1, 0, 0, 0)
    items, total = list_employees(session)
    assert total == 1
    assert items[0].first_name == "Ny"


def test_large_import_uses_a_fixed_number_of_queries(session: Session, clock: FakeClock) -> None:
    statements: list[str] = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    rows = [
        EmployeeRow(i + 2, f"p{i}@kommun.se", "F", f"E{i}", "Skola", str(i)) for i in range(3000)
    ]
    event.listen(engine, "before_cursor_execute", listener)
    try:
        result = import_employees(session, rows, mode="sync", dry_run=False, now=clock.now())
        session.commit()
        changed = [*rows[:1000], *(r for r in rows[1000:2000] if r.row % 2)]
        changed = [
            EmployeeRow(r.row, r.email, "G", r.last_name, r.department, r.employee_number)
            for r in changed
        ]
        second = import_employees(session, changed, mode="sync", dry_run=False, now=clock.now())
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert counts(result) == (3000, 0, 0, 0)
    assert counts(second) == (0, 1500, 1500, 0)
    # executemany batches: a handful of statements, not one per row.
    assert len(statements) < 40, len(statements)


def test_list_filters_search_and_paging(session: Session, clock: FakeClock) -> None:
    add(
        session,
        clock,
        "asa@kommun.se",
        "1",
        first_name="Åsa",
        last_name="Öberg",
        department="Skola",
    )
    add(session, clock, "bo@kommun.se", "2", first_name="Bo", last_name="Ek", department="Kultur")
    add(
        session,
        clock,
        "cia@kommun.se",
        "3",
        first_name="Cia",
        last_name="Berg",
        department="Skola",
        active=False,
    )
    session.commit()
    assert [e.first_name for e in list_employees(session)[0]] == ["Cia", "Bo", "Åsa"]
    assert list_employees(session, department="Skola")[1] == 2
    assert [e.first_name for e in list_employees(session, department="Skola", active=True)[0]] == [
        "Åsa"
    ]
    assert [e.first_name for e in list_employees(session, q="åsa")[0]] == ["Åsa"]
    assert [e.first_name for e in list_employees(session, q="ÖBERG")[0]] == ["Åsa"]
    assert [e.first_name for e in list_employees(session, q="cia berg")[0]] == ["Cia"]
    assert list_employees(session, q="%")[1] == 0  # LIKE wildcards are plain characters
    page, total = list_employees(session, limit=1, offset=1)
    assert ([e.first_name for e in page], total) == (["Bo"], 3)


def test_update_checks_uniqueness_and_sets_deactivation_time(
    session: Session, clock: FakeClock
) -> None:
    anna = add(session, clock, "anna@kommun.se", "1")
    add(session, clock, "bo@kommun.se", "2")
    session.commit()
    with pytest.raises(ProblemError) as taken:
        update_employee(
            session, anna.id, EmployeePatch(email="Bo@Kommun.se"), clock.now(), actor="test"
        )
    assert taken.value.status == 409
    with pytest.raises(ProblemError) as number_taken:
        update_employee(
            session, anna.id, EmployeePatch(employee_number="2"), clock.now(), actor="test"
        )
    assert number_taken.value.status == 409
    clock.advance(hours=1)
    updated = update_employee(
        session,
        anna.id,
        EmployeePatch(active=False, department="Kultur"),
        clock.now(),
        actor="test",
    )
    assert (updated.active, updated.deactivated_at, updated.department) == (
        False,
        clock.now(),
        "Kultur",
    )
    assert (
        update_employee(
            session, anna.id, EmployeePatch(active=True), clock.now(), actor="test"
        ).deactivated_at
        is None
    )
    with pytest.raises(ProblemError) as missing:
        get_employee(session, 999_999)
    assert missing.value.status == 404
