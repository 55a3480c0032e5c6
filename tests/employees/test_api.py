"""The employees API: import upload, list, view and edit, with keys and problem details."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.employees.importer import MAX_FILE_BYTES
from app.employees.models import Employee
from tests.employees.files import HEADER_EN, make_csv, make_xlsx, staff

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    filename: str = "personal.csv",
    **params: Any,
) -> Any:
    files = {"file": (filename, data, XLSX if filename.endswith(".xlsx") else CSV)}
    return client.post("/api/v1/employees/import", headers=headers, files=files, params=params)


def employee_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Employee)) or 0


def test_import_xlsx_then_sync_with_csv(client: TestClient, editor_headers: dict[str, str]) -> None:
    response = upload(client, editor_headers, make_xlsx(staff(3)), "Personal.xlsx")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in ("created", "updated", "deactivated", "unchanged")} == {
        "created": 3,
        "updated": 0,
        "deactivated": 0,
        "unchanged": 0,
    }
    assert (body["errors"], body["dry_run"], body["mode"]) == ([], False, "upsert")

    response = upload(client, editor_headers, make_csv(staff(2)), mode="sync")
    assert response.status_code == 200, response.text
    assert (response.json()["deactivated"], response.json()["unchanged"]) == (1, 2)


def test_dry_run_returns_counts_and_writes_nothing(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    response = upload(client, editor_headers, make_csv(staff(4)), dry_run="true")
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["dry_run"]) == (4, True)
    assert employee_count(session) == 0


def test_rows_with_errors_give_422_problem_and_import_nothing(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    rows = staff(5)
    rows[2][0] = "inte-en-adress"
    rows[4][1] = rows[4][2] = ""
    rows[5][0] = rows[1][0]
    response = upload(client, editor_headers, make_csv(rows, delimiter=","))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Filen har fel"
    assert problem["detail"] == "3 rader har fel; inget importerades"
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [
        (3, "e-post"),
        (5, "namn"),
        (6, "e-post"),
    ]
    assert "rad 2" in problem["errors"][2]["message"]
    assert (problem["created"], problem["updated"], problem["deactivated"]) == (0, 0, 0)
    assert employee_count(session) == 0


def test_missing_email_column_is_explained(
    client: TestClient, editor_headers: dict[str, str]
) -> None:
    data = make_csv([["Name", "Department"], ["Anna Berg", "Skola"]])
    problem = upload(client, editor_headers, data).json()
    assert problem["status"] == 422
    assert problem["errors"][0]["row"] == 1
    assert "'Name', 'Department'" in problem["detail"]
    assert problem["detail"].endswith("Inget importerades.")


def test_utf16_file_is_a_422_with_advice(
    client: TestClient, editor_headers: dict[str, str]
) -> None:
    response = upload(
        client,
        editor_headers,
        make_csv([HEADER_EN, ["a@kommun.se", "A", "B", "", ""]], encoding="utf-16"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["row"] is None
    assert "CSV UTF-8" in response.json()["errors"][0]["message"]


def test_unknown_file_type_is_415(client: TestClient, editor_headers: dict[str, str]) -> None:
    response = upload(client, editor_headers, b"%PDF-1.7 ...", "personal.pdf")
    assert response.status_code == 415
    assert "(.pdf) stöds inte" in response.json()["detail"]
    disguised = upload(client, editor_headers, b"E-post;Namn\r\n", "personal.xlsx")
    assert disguised.status_code == 415
    assert "ingen Excel-arbetsbok" in disguised.json()["detail"]


def test_oversize_file_is_413(
    client: TestClient, editor_headers: dict[str, str], session: Session
) -> None:
    header = make_csv(staff(1))
    data = header + b"x" * (MAX_FILE_BYTES + 1 - len(header))
    response = upload(client, editor_headers, data)
    assert response.status_code == 413
    assert "högst 20 MB" in response.json()["detail"]
    assert employee_count(session) == 0


def test_import_needs_a_key_and_an_editor_role(
    client: TestClient, reporter_headers: dict[str, str]
) -> None:
    data = make_csv(staff(1))
    assert upload(client, {}, data).status_code == 401
    assert upload(client, reporter_headers, data).status_code == 403
    assert client.get("/api/v1/employees").status_code == 401
    assert client.get("/api/v1/employees", headers=reporter_headers).status_code == 200
    assert client.patch("/api/v1/employees/1", headers=reporter_headers, json={}).status_code == 403


def test_bad_query_values_are_rejected(client: TestClient, editor_headers: dict[str, str]) -> None:
    assert upload(client, editor_headers, make_csv(staff(1)), mode="replace").status_code == 422
    assert client.get("/api/v1/employees?limit=100000", headers=editor_headers).status_code == 422
    assert client.post("/api/v1/employees/import", headers=editor_headers).status_code == 422


def test_list_get_and_patch(client: TestClient, editor_headers: dict[str, str]) -> None:
    rows = staff(3)
    rows[3][3] = "Kulturförvaltningen"
    assert upload(client, editor_headers, make_csv(rows)).status_code == 200

    listed = client.get(
        "/api/v1/employees", headers=editor_headers, params={"department": "Socialförvaltningen"}
    ).json()
    assert listed["total"] == 2
    assert [e["email"] for e in listed["items"]] == ["person0@kommun.se", "person1@kommun.se"]
    found = client.get(
        "/api/v1/employees", headers=editor_headers, params={"q": "efternamn2"}
    ).json()
    (person,) = found["items"]
    assert person["full_name"] == "Förnamn2 Efternamn2"

    url = f"/api/v1/employees/{person['id']}"
    assert client.get(url, headers=editor_headers).json()["employee_number"] == "1002"
    patched = client.patch(
        url, headers=editor_headers, json={"email": " Ny.Adress@Kommun.se ", "active": False}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["email"], patched.json()["active"]) == ("ny.adress@kommun.se", False)
    assert patched.json()["deactivated_at"] is not None
    inactive = client.get(
        "/api/v1/employees", headers=editor_headers, params={"active": "false"}
    ).json()
    assert [e["id"] for e in inactive["items"]] == [person["id"]]


def test_patch_errors(client: TestClient, editor_headers: dict[str, str]) -> None:
    assert upload(client, editor_headers, make_csv(staff(2))).status_code == 200
    first, second = client.get("/api/v1/employees", headers=editor_headers).json()["items"]
    url = f"/api/v1/employees/{first['id']}"

    taken = client.patch(url, headers=editor_headers, json={"email": second["email"].upper()})
    assert taken.status_code == 409
    assert taken.json()["title"] == "E-postadressen används redan"
    bad = client.patch(url, headers=editor_headers, json={"email": "anna@"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "email"
    unknown_field = client.patch(url, headers=editor_headers, json={"role": "admin"})
    assert unknown_field.status_code == 422
    null_name = client.patch(url, headers=editor_headers, json={"first_name": None})
    assert null_name.status_code == 422
    no_name = client.patch(url, headers=editor_headers, json={"first_name": "", "last_name": " "})
    assert no_name.status_code == 422
    assert no_name.json()["title"] == "Namn saknas"
    missing = client.get("/api/v1/employees/999999", headers=editor_headers)
    assert (missing.status_code, missing.headers["content-type"]) == (
        404,
        "application/problem+json",
    )
    assert client.get(url, headers=editor_headers).json()["email"] == first["email"]
