"""A person signed in with the municipality's account (app/sso) holds a session like a key's:
the audit log names them (subject and display name) for what they do in the dashboard, the
cookie cannot be forged, and provisioning keys cannot sign in at all."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.audit import Person
from app.auth.models import AuditEntry, Role
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.dashboard.auth import COOKIE, sign_session
from tests.dashboard.conftest import new_key, post_login

ANNA = Person("AAAA-anna-subject", "Anna  Berg", Role.reporter)


def _as_person(client: TestClient, runtime: Runtime, person: Person) -> None:
    client.cookies.clear()
    value = sign_session(runtime.settings.secret(), person, runtime.clock.now())
    client.cookies.set(COOKIE, value, path="/dashboard")


def test_the_audit_log_names_the_person_for_an_export(
    client: TestClient, runtime: Runtime, session: Session, played: int
) -> None:
    _as_person(client, runtime, ANNA)
    page = client.get("/dashboard")
    assert page.status_code == 200 and "Anna Berg" in page.text
    download = client.get(f"/dashboard/campaigns/{played}/download/completion.csv")
    assert download.status_code == 200
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None and entry.action.startswith("export")
    assert entry.actor == "person Anna Berg (AAAA-anna-subject)"
    assert entry.api_key_id is None


def test_a_person_session_cannot_be_forged_and_ends(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    _as_person(client, runtime, ANNA)
    value = client.cookies[COOKIE]
    kind, _who, expires, mac = value.split(".")
    admin = sign_session(
        b"another secret key, not ours.....", Person("x", "y", Role.admin), clock.now()
    )
    for forged in (f"{kind}.{admin.split('.')[1]}.{expires}.{mac}", value[:-2] + "AA", admin):
        client.cookies.clear()
        client.cookies.set(COOKIE, forged, path="/dashboard")
        assert client.get("/dashboard", follow_redirects=False).status_code == 303
    _as_person(client, runtime, ANNA)
    clock.advance(timedelta(hours=8))
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_provisioning_key_cannot_sign_in(client: TestClient, runtime: Runtime) -> None:
    response = post_login(client, new_key(runtime, "Entra ID", Role.provisioning))
    assert response.status_code == 403
    assert "går inte att" in response.text and COOKIE not in response.headers.get("set-cookie", "")
