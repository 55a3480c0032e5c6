"""The staff pages: upload with a dry run first, confirm; search and pages; deactivate, export
and erase one person. Every change through the same services as the API, audited."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import AuditEntry, Role
from app.core.runtime import Runtime
from app.employees.models import Employee
from tests.dashboard.conftest import form_token, new_key, sign_in
from tests.dashboard.played import staff_csv

BAD = staff_csv().replace(b"erik.berg@kommun.example", b"erik.berg@@kommun")


def editor(client: TestClient, runtime: Runtime, role: Role = Role.editor) -> TestClient:
    sign_in(client, new_key(runtime, f"Eva, {role}", role))
    return client


def upload(client: TestClient, data: bytes, mode: str = "upsert", name: str = "personal.csv"):  # type: ignore[no-untyped-def]
    token = form_token(client, "/dashboard/staff")
    return client.post(
        "/dashboard/staff/upload",
        data={"csrf_token": token, "mode": mode},
        files={"file": (name, data, "text/csv")},
        follow_redirects=False,
    )


def actions(runtime: Runtime) -> list[str]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def people(runtime: Runtime) -> list[Employee]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(Employee).order_by(Employee.id)))


def test_a_bad_row_is_shown_with_its_row_and_field_and_nothing_is_imported(
    client: TestClient, runtime: Runtime
) -> None:
    editor(client, runtime)
    response = upload(client, BAD)
    assert response.status_code == 422
    assert "Filen har fel" in response.text
    row = re.search(r'<th scope="row" class="num">(\d+)</th>\s*<td>([^<]+)</td>', response.text)
    assert row and row.groups() == ("3", "e-post")
    assert people(runtime) == [] and actions(runtime) == []


def test_dry_run_then_confirm_imports_and_audits_with_the_signed_in_key(
    client: TestClient, runtime: Runtime
) -> None:
    editor(client, runtime)
    response = upload(client, staff_csv())
    assert response.status_code == 303
    review = response.headers["location"]
    assert review.startswith("/dashboard/staff/import/")
    page = client.get(review)
    assert "Granska importen" in page.text and "Anna Lind" in page.text
    assert people(runtime) == []  # a dry run only
    token = form_token(client, review)
    done = client.post(review, data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/dashboard/staff?klart=import"
    assert len(people(runtime)) == 13
    assert actions(runtime) == ["employees.import", "employees.import"]  # dry run, then import
    with runtime.session_factory() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.actor.endswith("(Eva, editor)")
        assert entry.detail["created"] == 13 and entry.detail["dry_run"] is False
    # The upload is gone once imported: confirming again changes nothing.
    assert client.post(review, data={"csrf_token": token}).status_code == 404


def test_sync_says_who_is_deactivated(client: TestClient, runtime: Runtime) -> None:
    editor(client, runtime)
    review = upload(client, staff_csv()).headers["location"]
    client.post(review, data={"csrf_token": form_token(client, review)})
    fewer = b"\n".join(staff_csv().splitlines()[:-1]) + b"\n"  # Nils Dahl is not in the file
    page = client.get(upload(client, fewer, mode="sync").headers["location"])
    assert "alla som inte finns i filen avslutas" in page.text
    assert re.search(r'Nils Dahl</th>\s*<td class="num"></td>\s*<td>Avslutas', page.text)


def test_another_key_cannot_confirm_an_upload(client: TestClient, runtime: Runtime) -> None:
    editor(client, runtime)
    review = upload(client, staff_csv()).headers["location"]
    other = TestClient(client.app)
    sign_in(other, new_key(runtime, "Olle", Role.editor))
    assert other.get(review).status_code == 404
    response = other.post(review, data={"csrf_token": form_token(other, "/dashboard")})
    assert response.status_code == 404 and people(runtime) == []


def test_search_pages_deactivate_export_and_erase(client: TestClient, runtime: Runtime) -> None:
    editor(client, runtime, Role.admin)
    review = upload(client, staff_csv()).headers["location"]
    client.post(review, data={"csrf_token": form_token(client, review)})
    found = client.get("/dashboard/staff", params={"q": "åberg"})
    assert "Lena Åberg" in found.text and "Anna Lind" not in found.text
    unit = client.get("/dashboard/staff", params={"department": "Vård och omsorg"})
    assert unit.text.count('<th scope="row"><a href="/dashboard/staff/') == 4
    lena = next(p for p in people(runtime) if p.last_name == "Åberg")
    page = f"/dashboard/staff/{lena.id}"
    client.post(f"{page}/deactivate", data={"csrf_token": form_token(client, page)})
    assert not next(p for p in people(runtime) if p.id == lena.id).active
    export = client.get(f"{page}/export.json")
    assert export.json()["employee"]["email"] == "lena.aberg@kommun.example"
    confirm = client.get(f"{page}/erase")
    assert "Radera Lena Åberg?" in confirm.text and "går inte att ångra" in confirm.text
    erased = client.post(
        f"{page}/erase", data={"csrf_token": form_token(client, page)}, follow_redirects=False
    )
    assert erased.headers["location"] == "/dashboard/staff?klart=raderad"
    assert next(p for p in people(runtime) if p.id == lena.id).erased_at is not None
    assert actions(runtime)[-3:] == [
        "employees.deactivate",
        "employees.export",
        "employees.erase",
    ]


def test_a_reporter_sees_no_forms_and_is_refused(client: TestClient, runtime: Runtime) -> None:
    editor(client, runtime, Role.reporter)
    page = client.get("/dashboard/staff")
    assert page.status_code == 200 and 'type="file"' not in page.text
    assert upload(client, staff_csv()).status_code == 403
    assert people(runtime) == []
