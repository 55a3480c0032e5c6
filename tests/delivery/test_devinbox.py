"""The built-in mail catcher and /dev/inbox: what `scripts/run` gives a newcomer."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.core.clock import FakeClock
from app.core.config import Settings
from app.core.db import make_session_factory
from app.core.runtime import Runtime
from app.delivery.mailcatcher import MailCatcher
from app.main import create_app
from tests.conftest import REPO, TEST_SECRET
from tests.flow import run_slots, sync_lessons
from tests.smtp_server import free_port

LOCAL = ("127.0.0.1", 50000)  # the address the dev inbox sees the browser at


def test_mail_catcher_keeps_messages_and_inbox_shows_them(
    tmp_path: Path, engine: Engine, clock: FakeClock, database_url: str
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=database_url,
        dev_mail_port=free_port(),
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        base_url="http://testserver",
        lessons_dir=REPO / "lessons",
    )
    assert settings.dev_mail_enabled
    runtime = Runtime(settings, engine, make_session_factory(engine), clock)
    catcher = MailCatcher(settings.mail_dir, "127.0.0.1", settings.dev_mail_port)
    catcher.start()
    try:
        sync_lessons(runtime)
        client = TestClient(create_app(runtime), client=LOCAL)
        from app.auth.models import Role
        from app.auth.service import create_api_key

        with runtime.session_factory() as session:
            _, key = create_api_key(session, "t", Role.editor, clock.now())
            session.commit()
        headers = {"Authorization": f"Bearer {key}"}
        csv = "namn;e-post\nAnna Lind;anna@kommun.example\nErik Berg;erik@kommun.example\n"
        imported = client.post(
            "/api/v1/employees/import", files={"file": ("p.csv", csv.encode())}, headers=headers
        )
        assert imported.status_code == 200, imported.text
        body = {
            "name": "Demo",
            "course": "radikalisering",
            "schedule": {"start_date": "2026-01-05", "weekdays": ["mon"], "time": "09:00"},
        }
        campaign_id = client.post("/api/v1/campaigns", json=body, headers=headers).json()["id"]
        client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=headers)
        assert run_slots(runtime, clock, campaign_id, 1) == 2
    finally:
        catcher.stop()

    inbox = client.get("/dev/inbox")
    assert inbox.status_code == 200 and "2 mejl fångade här" in inbox.text
    assert '<html lang="sv">' in inbox.text and "<h1>Testinkorg</h1>" in inbox.text
    key = inbox.text.split('href="/dev/inbox/')[1].split('"')[0]
    shown = client.get(f"/dev/inbox/{key}")
    assert shown.status_code == 200 and 'lang="sv"' in shown.text
    assert "Message-ID:" in client.get(f"/dev/inbox/{key}/raw").text
    gone = client.get("/dev/inbox/nope")
    assert gone.status_code == 404 and "inget sådant mejl" in gone.json()["detail"]
    english = client.get("/dev/inbox/nope", headers={"Accept-Language": "en"})
    assert english.json()["detail"].startswith("No such message in the dev inbox")

    # The messages hold working answer links and there is no sign-in: only this machine may look.
    app = create_app(runtime)
    for other in (("192.0.2.7", 50000), ("::ffff:192.0.2.7", 50000), ("testclient", 50000)):
        outsider = TestClient(app, client=other)
        for path in ("/dev/inbox", f"/dev/inbox/{key}", f"/dev/inbox/{key}/raw"):
            refused = outsider.get(path)
            assert refused.status_code == 403, (other, path)
            assert "visas bara på den här datorn" in refused.json()["detail"]
            assert "anna" not in refused.text.lower()
    for local in (("::1", 50000), ("::ffff:127.0.0.1", 50000)):
        assert TestClient(app, client=local).get("/dev/inbox").status_code == 200


def test_inbox_does_not_exist_with_a_real_relay(client: TestClient) -> None:
    assert client.get("/dev/inbox").status_code == 404
