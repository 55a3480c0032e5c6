"""SCIM as Entra ID's provisioning service speaks it, and how it meets the staff-list file.

The recorded sequence is what Entra ID sends for one new person and two changes: look the person
up by userName, create them, PATCH `Replace` of the department, PATCH `active: "False"`, and look
them up again. Bad input gets SCIM errors naming the problem, and nothing is half-written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import AuditEntry, Role
from app.core.runtime import Runtime
from app.employees.models import Employee, EmployeeSource
from tests.conftest import _key_headers
from tests.employees.files import HEADER_SV, make_csv
from tests.employees.test_api import upload

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM = "application/scim+json"

# As Entra ID's provisioning logs show the requests (values made up).
ENTRA_CREATE = {
    "schemas": [USER, ENTERPRISE],
    "externalId": "anna.berg",
    "userName": "anna.berg@kommun.example",
    "active": True,
    "displayName": "Anna Berg",
    "title": "Socialsekreterare",
    "emails": [{"primary": True, "type": "work", "value": "Anna.Berg@kommun.example"}],
    "name": {"formatted": "Anna Berg", "familyName": "Berg", "givenName": "Anna"},
    "phoneNumbers": [{"type": "work", "value": "+46 8 123 45"}],
    ENTERPRISE: {"department": "Socialförvaltningen", "employeeNumber": "1001"},
}
ENTRA_DEPARTMENT = {
    "schemas": [PATCH_OP],
    "Operations": [
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Utbildningsförvaltningen"}
    ],
}
ENTRA_DISABLE = {
    "schemas": [PATCH_OP],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
}


@pytest.fixture
def scim(runtime: Runtime) -> dict[str, str]:
    return {**_key_headers(runtime, Role.provisioning), "Content-Type": SCIM}


def send(client: TestClient, method: str, path: str, headers: dict[str, str], body: Any = None):  # type: ignore[no-untyped-def]
    content = None if body is None else (body if isinstance(body, bytes) else json.dumps(body))
    return client.request(method, f"/scim/v2{path}", headers=headers, content=content)


def by_user_name(client: TestClient, headers: dict[str, str], user_name: str) -> dict[str, Any]:
    response = send(client, "GET", f'/Users?filter=userName eq "{user_name}"', headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(SCIM)
    body: dict[str, Any] = response.json()
    return body


def test_the_recorded_entra_sequence_gives_the_expected_rows(
    client: TestClient, session: Session, scim: dict[str, str]
) -> None:
    assert by_user_name(client, scim, "anna.berg@kommun.example")["totalResults"] == 0
    created = send(client, "POST", "/Users", scim, ENTRA_CREATE)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert created.headers["location"].endswith(f"/scim/v2/Users/{user_id}")
    assert send(client, "PATCH", f"/Users/{user_id}", scim, ENTRA_DEPARTMENT).status_code == 200
    disabled = send(client, "PATCH", f"/Users/{user_id}", scim, ENTRA_DISABLE)
    assert disabled.status_code == 200 and disabled.json()["active"] is False

    found = by_user_name(client, scim, "ANNA.BERG@kommun.example")  # userName: any case
    assert found["totalResults"] == 1
    assert found["Resources"][0][ENTERPRISE]["department"] == "Utbildningsförvaltningen"
    external = send(client, "GET", '/Users?filter=externalId eq "anna.berg"', scim).json()
    assert [r["id"] for r in external["Resources"]] == [user_id]

    row = session.scalars(select(Employee)).one()
    assert row.id == int(user_id)
    assert (row.email, row.first_name, row.last_name) == (
        "anna.berg@kommun.example",
        "Anna",
        "Berg",
    )
    assert (row.department, row.employee_number) == ("Utbildningsförvaltningen", "1001")
    assert row.source == EmployeeSource.scim
    assert row.active is False and row.deactivated_at is not None  # as a file sync deactivates
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["employees.create", "employees.update", "employees.deactivate"]
    actors = set(session.scalars(select(AuditEntry.actor)))
    assert len(actors) == 1 and actors.pop().startswith("key ")


def test_a_person_from_the_file_is_adopted_not_duplicated(
    client: TestClient, session: Session, scim: dict[str, str], editor_headers: dict[str, str]
) -> None:
    rows = [HEADER_SV, ["anna.berg@kommun.example", "Anna", "Berg", "Socialförvaltningen", "1001"]]
    assert upload(client, editor_headers, make_csv(rows)).status_code == 200
    before = session.scalars(select(Employee)).one()
    created = send(client, "POST", "/Users", scim, ENTRA_CREATE)
    assert created.status_code == 201, created.text
    assert created.json()["id"] == str(before.id)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Employee)) == 1
    assert session.scalars(select(Employee)).one().source == EmployeeSource.scim
    listed = client.get(f"/api/v1/employees/{before.id}", headers=editor_headers).json()
    assert listed["source"] == "scim"


def test_a_file_sync_never_deactivates_or_reactivates_a_scim_person(
    client: TestClient, session: Session, scim: dict[str, str], editor_headers: dict[str, str]
) -> None:
    user_id = send(client, "POST", "/Users", scim, ENTRA_CREATE).json()["id"]
    file_only = [HEADER_SV, ["erik@kommun.example", "Erik", "Ek", "IT", "2002"]]
    result = upload(client, editor_headers, make_csv(file_only), mode="sync").json()
    assert result["deactivated"] == 0
    assert send(client, "GET", f"/Users/{user_id}", scim).json()["active"] is True
    # Entra ID deactivates her; a file that still lists her does not bring her back.
    send(client, "PATCH", f"/Users/{user_id}", scim, ENTRA_DISABLE)
    both = [*file_only, ["anna.berg@kommun.example", "Anna", "Berg", "Socialförvaltningen", "1001"]]
    upload(client, editor_headers, make_csv(both), mode="sync")
    session.expire_all()
    assert session.get(Employee, int(user_id)).active is False  # type: ignore[union-attr]


def test_delete_deactivates_keeps_the_record_and_a_new_create_adopts_it(
    client: TestClient, session: Session, scim: dict[str, str]
) -> None:
    user_id = send(client, "POST", "/Users", scim, ENTRA_CREATE).json()["id"]
    assert send(client, "DELETE", f"/Users/{user_id}", scim).status_code == 204
    assert send(client, "GET", f"/Users/{user_id}", scim).status_code == 404
    row = session.get(Employee, int(user_id))
    assert row is not None and row.active is False and row.email == "anna.berg@kommun.example"
    again = send(client, "POST", "/Users", scim, ENTRA_CREATE)
    assert again.status_code == 201 and again.json()["id"] == user_id
    assert again.json()["active"] is True


def test_paging(client: TestClient, scim: dict[str, str]) -> None:
    for n in range(5):
        body = {**ENTRA_CREATE, "userName": f"p{n}@kommun.example", "externalId": f"p{n}"}
        body["emails"] = [{"type": "work", "value": f"p{n}@kommun.example"}]
        body[ENTERPRISE] = {"department": "IT"}
        assert send(client, "POST", "/Users", scim, body).status_code == 201
    page = send(client, "GET", "/Users?startIndex=3&count=2", scim).json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 3, 2)
    assert [r["userName"] for r in page["Resources"]] == ["p2@kommun.example", "p3@kommun.example"]


BAD = [
    (b"{not json", 400, "invalidSyntax", "not JSON"),
    ({**ENTRA_CREATE, "favouriteColour": "blå"}, 400, "invalidSyntax", "favouriteColour"),
    ({**ENTRA_CREATE, "emails": [{"value": "inte-en-adress"}]}, 400, "invalidValue", "@"),
    (b'{"a": "' + b"x" * 300_000 + b'"}', 413, None, "larger than"),
]


@pytest.mark.parametrize(("body", "status", "scim_type", "named"), BAD)
def test_bad_bodies_get_scim_errors_and_write_nothing(
    client: TestClient,
    session: Session,
    scim: dict[str, str],
    body: Any,
    status: int,
    scim_type: str | None,
    named: str,
) -> None:
    response = send(client, "POST", "/Users", scim, body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM)
    error = response.json()
    assert error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert error["status"] == str(status) and error.get("scimType") == scim_type
    assert named in error["detail"]
    assert session.scalar(select(func.count()).select_from(Employee)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.parametrize(
    "query",
    [
        'userName sw "anna"',
        'displayName eq "Anna"',
        'userName eq "a" or userName eq "b"',
        "userName",
    ],
)
def test_unsupported_filters_are_invalid_filter(
    client: TestClient, scim: dict[str, str], query: str
) -> None:
    response = send(client, "GET", f"/Users?filter={query}", scim)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_a_second_person_with_the_same_user_name_is_a_uniqueness_error(
    client: TestClient, session: Session, scim: dict[str, str]
) -> None:
    assert send(client, "POST", "/Users", scim, ENTRA_CREATE).status_code == 201
    other = {**ENTRA_CREATE, "externalId": "other", "emails": [{"value": "x@kommun.example"}]}
    other[ENTERPRISE] = {"department": "IT"}
    response = send(client, "POST", "/Users", scim, other)
    assert response.status_code == 409 and response.json()["scimType"] == "uniqueness"
    assert session.scalar(select(func.count()).select_from(Employee)) == 1


def test_a_patch_with_one_bad_operation_changes_nothing(
    client: TestClient, session: Session, scim: dict[str, str]
) -> None:
    user_id = send(client, "POST", "/Users", scim, ENTRA_CREATE).json()["id"]
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "IT"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "trasig"},
        ],
    }
    response = send(client, "PATCH", f"/Users/{user_id}", scim, patch)
    assert response.status_code == 400, response.text
    session.expire_all()
    assert session.get(Employee, int(user_id)).department == "Socialförvaltningen"  # type: ignore[union-attr]


def test_only_a_provisioning_key_may_call_scim(
    client: TestClient, editor_headers: dict[str, str]
) -> None:
    response = send(client, "GET", "/Users", editor_headers)
    assert response.status_code == 403 and response.headers["content-type"].startswith(SCIM)
    assert send(client, "GET", "/Users", {}).status_code == 401
