"""Export and DELETE: unknown ids, erasing twice, erased people, the wrong keys; and DELETE
without erase=true, which only deactivates."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import AuditEntry
from app.employees.models import Employee
from tests.privacy.scenario import ADDRESS, NUMBER, employee_id, import_staff

PROBLEM = "application/problem+json"


def _calls(person: int) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("GET", f"/api/v1/employees/{person}/export", {}),
        ("DELETE", f"/api/v1/employees/{person}", {}),
        ("DELETE", f"/api/v1/employees/{person}", {"erase": "true"}),
    ]


def test_unknown_id_is_a_404_problem(client: TestClient, admin_headers: dict[str, str]) -> None:
    for method, url, params in _calls(999_999):
        response = client.request(method, url, params=params, headers=admin_headers)
        assert response.status_code == 404, (method, url, params)
        assert response.headers["content-type"] == PROBLEM
        assert "999999" in response.json()["detail"]


@pytest.mark.parametrize("role", ["editor", "reporter"])
def test_only_admins_may_export_deactivate_or_erase(
    client: TestClient,
    admin_headers: dict[str, str],
    editor_headers: dict[str, str],
    reporter_headers: dict[str, str],
    role: str,
) -> None:
    import_staff(client, admin_headers)
    person = employee_id(client, admin_headers, NUMBER)
    headers = editor_headers if role == "editor" else reporter_headers
    for method, url, params in _calls(person):
        response = client.request(method, url, params=params, headers=headers)
        assert response.status_code == 403, (method, url, params)
        assert response.headers["content-type"] == PROBLEM
        assert client.request(method, url, params=params).status_code == 401
    assert client.get(f"/api/v1/employees/{person}", headers=admin_headers).json()["active"]


def test_erasing_twice_or_exporting_an_erased_person_is_410_gone(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    import_staff(client, admin_headers)
    person = employee_id(client, admin_headers, NUMBER)
    erased = client.delete(
        f"/api/v1/employees/{person}", params={"erase": "true"}, headers=admin_headers
    )
    assert erased.status_code == 200, erased.text

    for method, url, params in _calls(person):
        response = client.request(method, url, params=params, headers=admin_headers)
        assert response.status_code == 410, (method, url, params)
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["erased_at"] == erased.json()["at"]
    assert client.get(f"/api/v1/employees/{person}", headers=admin_headers).status_code == 404
    patch = client.patch(
        f"/api/v1/employees/{person}", json={"first_name": "Ny"}, headers=admin_headers
    )
    assert patch.status_code == 404


def test_delete_without_erase_only_deactivates_once(
    client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    import_staff(client, admin_headers)
    person = employee_id(client, admin_headers, NUMBER)
    url = f"/api/v1/employees/{person}"

    first = client.delete(url, headers=admin_headers)
    second = client.delete(url, headers=admin_headers)

    assert first.status_code == second.status_code == 200, first.text
    assert first.json() | {"deleted": {}} == {
        "id": person,
        "action": "deactivated",
        "at": first.json()["at"],
        "deleted": {},
        "anonymised": {},
    }
    assert second.json()["at"] == first.json()["at"]
    employee = session.get(Employee, person)
    assert employee is not None and (employee.email, employee.active) == (ADDRESS, False)
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.target == f"employee {person}")
    )
    assert list(actions) == ["employees.deactivate"]
    # A deactivated person can still be erased.
    erase = client.delete(url, params={"erase": "true"}, headers=admin_headers)
    assert erase.status_code == 200 and erase.json()["action"] == "erased"
