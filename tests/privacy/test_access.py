"""Right of access: GET /employees/{id}/export gives everything stored about one person."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import AuditEntry
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.employees.deliverability import mark_bounced
from tests.privacy.scenario import ADDRESS, FIRST, NUMBER, import_staff, make_footprint
from tests.smtp_server import SmtpSink

SECTIONS = (
    "enrollments",
    "deliveries",
    "events",
    "answers",
    "review_cards",
    "review_logs",
    "opt_outs",
    "audit_log",
)


def test_export_has_everything_about_the_person_and_no_link_tokens(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    admin_headers: dict[str, str],
    session: Session,
) -> None:
    footprint = make_footprint(runtime, client, clock, smtp_sink, admin_headers)
    url = f"/api/v1/employees/{footprint.employee_id}/export"

    response = client.get(url, headers=admin_headers)

    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    employee = data["employee"]
    assert (employee["email"], employee["first_name"], employee["employee_number"]) == (
        ADDRESS,
        FIRST,
        NUMBER,
    )
    assert all(data[name] for name in SECTIONS), {name: len(data[name]) for name in SECTIONS}
    assert [c["id"] for c in data["campaigns"]] == [footprint.campaign_id]
    assert {d["status"] for d in data["deliveries"]} == {"sent", "failed"}
    assert {e["classification"] for e in data["events"]} == {"human", "automated"}
    assert max(a["attempt"] for a in data["answers"]) == 2
    assert data["opt_outs"][0]["campaign_id"] == footprint.campaign_id
    assert [e["action"] for e in data["audit_log"]] == ["employees.update"]
    assert all(lesson["key"].startswith("rad-") for lesson in data["lessons"])
    # Only her own rows: Erik's answer is not in it.
    assert {a["enrollment_id"] for a in data["answers"]} == {data["enrollments"][0]["id"]}
    assert not any(token in response.text for token in footprint.tokens)

    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "employees.export"))
    assert entry is not None and entry.target == f"employee {footprint.employee_id}"
    assert entry.rows == 1 + sum(len(data[name]) for name in SECTIONS)
    assert entry.detail["answers"] == len(data["answers"])
    assert ADDRESS not in str(entry.detail) and FIRST not in str(entry.detail)


def test_a_second_export_lists_the_first_one(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    import_staff(client, admin_headers)
    person = client.get("/api/v1/employees", params={"q": NUMBER}, headers=admin_headers).json()
    url = f"/api/v1/employees/{person['items'][0]['id']}/export"

    first = client.get(url, headers=admin_headers).json()
    second = client.get(url, headers=admin_headers).json()

    assert first["audit_log"] == [] and first["deliveries"] == []
    assert [e["action"] for e in second["audit_log"]] == ["employees.export"]


def test_the_export_says_when_and_why_the_address_was_marked_undeliverable(
    runtime: Runtime, client: TestClient, clock: FakeClock, admin_headers: dict[str, str]
) -> None:
    """A hard bounce marks the person: the mark and its reason are their data too."""
    import_staff(client, admin_headers)
    person = client.get("/api/v1/employees", params={"q": NUMBER}, headers=admin_headers).json()
    employee_id = person["items"][0]["id"]
    with runtime.session_factory() as session:
        marked = mark_bounced(
            session,
            employee_id,
            hard=True,
            reason="550 5.1.1 mailbox unknown",
            now=clock.now(),
            soft_limit=3,
        )
        session.commit()
    assert marked

    employee = client.get(f"/api/v1/employees/{employee_id}/export", headers=admin_headers).json()[
        "employee"
    ]

    assert employee["undeliverable_reason"] == "550 5.1.1 mailbox unknown"
    assert employee["undeliverable_at"].startswith(clock.now().date().isoformat())
