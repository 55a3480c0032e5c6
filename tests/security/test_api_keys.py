"""API keys through the admin API and the command line: shown once, stored hashed, revocable,
audited, and never in a log or the audit detail."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.auth.models import ApiKey, AuditEntry
from app.cli import cli
from app.core.clock import FakeClock
from app.core.config import get_settings
from tests.conftest import TEST_SECRET

KEYS = "/api/v1/api-keys"


def create(client: TestClient, headers: dict[str, str], **body: object) -> dict:
    response = client.post(
        KEYS, json={"name": "Lena, HR", "role": "reporter", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def audit(session: Session) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_a_created_key_is_shown_once_and_works_for_its_role(
    client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    response = client.post(
        KEYS, json={"name": " Lena, HR ", "role": "reporter"}, headers=admin_headers
    )
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["name"] == "Lena, HR"
    assert created["role"] == "reporter"
    assert created["key"].startswith(f"nl_{created['prefix']}_")
    assert created["revoked_at"] is None and created["last_used_at"] is None
    reporter = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/campaigns", headers=reporter).status_code == 200
    assert client.post("/api/v1/campaigns", json={}, headers=reporter).status_code == 403

    stored = session.scalar(select(ApiKey).where(ApiKey.prefix == created["prefix"]))
    assert stored is not None
    assert stored.key_hash == hashlib.sha256(created["key"].encode()).hexdigest()
    assert created["key"] not in {stored.key_hash, stored.name, stored.prefix}


def test_the_list_shows_prefix_name_role_and_times_never_a_key(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    created = create(client, admin_headers)
    clock.advance(minutes=5)
    client.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {created['key']}"})
    listing = client.get(KEYS, headers=admin_headers)
    assert listing.status_code == 200
    assert created["key"] not in listing.text and "hash" not in listing.text
    row = next(k for k in listing.json() if k["prefix"] == created["prefix"])
    assert row == {
        "prefix": created["prefix"],
        "name": "Lena, HR",
        "role": "reporter",
        "created_at": created["created_at"],
        "last_used_at": row["last_used_at"],
        "revoked_at": None,
    }
    assert row["last_used_at"] is not None and row["last_used_at"] > created["created_at"]
    assert len(listing.json()) == 2  # the admin's own key is listed too


def test_revoking_stops_the_key_at_once_and_is_idempotent(
    client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    created = create(client, admin_headers, role="editor")
    editor = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/campaigns", headers=editor).status_code == 200
    revoked = client.delete(f"{KEYS}/{created['prefix']}", headers=admin_headers)
    assert revoked.status_code == 204 and revoked.content == b""
    assert client.get("/api/v1/campaigns", headers=editor).status_code == 401
    assert client.delete(f"{KEYS}/{created['prefix']}", headers=admin_headers).status_code == 204
    listed = {k["prefix"]: k for k in client.get(KEYS, headers=admin_headers).json()}
    assert listed[created["prefix"]]["revoked_at"] is not None
    actions = [(e.action, e.target) for e in audit(session)]
    target = f"api key {created['prefix']}"
    assert actions == [("api_keys.create", target), ("api_keys.revoke", target)]  # revoked once


def test_unknown_and_malformed_prefixes(client: TestClient, admin_headers: dict[str, str]) -> None:
    missing = client.delete(f"{KEYS}/0000abcd", headers=admin_headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.delete(f"{KEYS}/not-a-prefix", headers=admin_headers).status_code == 422


BAD_BODIES = [
    {},
    {"name": "Lena"},
    {"role": "admin"},
    {"name": "", "role": "admin"},
    {"name": "   ", "role": "admin"},
    {"name": "x" * 101, "role": "admin"},
    {"name": "Lena\x00", "role": "admin"},
    {"name": "Lena", "role": "superuser"},
    {"name": "Lena", "role": "admin", "key": "nl_chosen_by_me"},
    ["Lena", "admin"],
]


def test_bad_create_bodies_are_rejected(
    client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    for body in BAD_BODIES:
        response = client.post(KEYS, json=body, headers=admin_headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert audit(session) == []
    assert len(client.get(KEYS, headers=admin_headers).json()) == 1


def test_only_admins_manage_keys(
    client: TestClient, editor_headers: dict[str, str], reporter_headers: dict[str, str]
) -> None:
    for headers in (editor_headers, reporter_headers):
        assert client.get(KEYS, headers=headers).status_code == 403
        assert (
            client.post(KEYS, json={"name": "x", "role": "admin"}, headers=headers).status_code
            == 403
        )
        assert client.delete(f"{KEYS}/0000abcd", headers=headers).status_code == 403


def test_create_and_revoke_are_audited_without_the_key(
    client: TestClient, admin_headers: dict[str, str], session: Session
) -> None:
    admin_prefix = admin_headers["Authorization"].split("_")[1]
    created = create(client, admin_headers, role="admin")
    client.delete(f"{KEYS}/{created['prefix']}", headers=admin_headers)
    entries = audit(session)
    assert [e.action for e in entries] == ["api_keys.create", "api_keys.revoke"]
    for entry in entries:
        assert entry.actor == f"key {admin_prefix} (test admin)"
        assert entry.detail == {"role": "admin"}
        assert created["key"] not in f"{entry.actor} {entry.target} {entry.detail}"
    via_api = client.get("/api/v1/audit?action=api_keys.", headers=admin_headers)
    assert [e["action"] for e in via_api.json()["items"]] == ["api_keys.revoke", "api_keys.create"]
    assert created["key"] not in via_api.text


def test_keys_never_reach_the_log(
    client: TestClient, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        created = create(client, admin_headers)
        client.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {created['key']}"})
        client.get("/api/v1/nope", headers={"Authorization": f"Bearer {created['key']}"})
        client.delete(f"{KEYS}/{created['prefix']}", headers=admin_headers)
    # nl_<prefix>_<secret>: the secret may itself contain "_".
    secret = created["key"].split("_", 2)[2]
    assert len(secret) >= 40 and secret not in caplog.text
    assert admin_headers["Authorization"].split("_", 2)[2] not in caplog.text


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, session: Session
) -> Iterator[None]:
    # `session` makes sure the engine fixture cleans the PostgreSQL tables afterwards.
    monkeypatch.setenv("NANOLEARN_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
def test_the_command_line_audits_create_and_revoke(session: Session) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["apikey", "create", "--name", "Nattjobb", "--role", "reporter"])
    assert made.exit_code == 0, made.output
    plain = made.stdout.strip().splitlines()[-1]
    assert plain.startswith("nl_")
    prefix = plain.split("_")[1]
    assert runner.invoke(cli, ["apikey", "revoke", prefix]).exit_code == 0
    assert runner.invoke(cli, ["apikey", "revoke", prefix]).exit_code == 0  # no second entry
    assert runner.invoke(cli, ["apikey", "revoke", "0000abcd"]).exit_code == 1
    entries = audit(session)
    assert [(e.action, e.target) for e in entries] == [
        ("api_keys.create", f"api key {prefix}"),
        ("api_keys.revoke", f"api key {prefix}"),
    ]
    for entry in entries:
        assert entry.actor.startswith("cli") and entry.api_key_id is None
        assert plain not in f"{entry.actor} {entry.target} {entry.detail}"
