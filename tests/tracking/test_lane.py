"""The public lane (app/tracking/lane.py) with hostile input: the same answers as the rest of
the app (problem+json with a Swedish title), nothing stored, and paths it does not serve fall
through to FastAPI."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.runtime import Runtime
from app.tracking.models import Answer, Event
from tests.flow import mail_links
from tests.tracking.campaign import ANNA, Sent


def stored(runtime: Runtime) -> tuple[int, int]:
    with runtime.session_factory() as session:
        answers = session.scalar(select(func.count()).select_from(Answer)) or 0
        events = session.scalar(select(func.count()).select_from(Event)) or 0
    return int(answers), int(events)


def test_hostile_confirm_forms_are_refused_and_store_nothing(
    runtime: Runtime, client: TestClient, sent: Sent
) -> None:
    [options] = mail_links(sent.mail[ANNA]).answers.values()
    post = options[0].removeprefix(runtime.settings.base_url).rsplit("/", 1)[0]
    before = stored(runtime)
    upload = client.post(post, files={"option": ("svar.txt", b"0")})
    assert upload.status_code == 400
    assert upload.json()["title"] == "Felaktig begäran"
    crowd = client.post(post, data={f"fält{i}": "1" for i in range(50)} | {"option": "0"})
    assert crowd.status_code == 400
    junk = client.post(
        post,
        content=b"\xff\xfe%%%=&&==",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert junk.status_code == 422  # no option chosen: the page asks for one
    assert stored(runtime) == before


def test_paths_the_lane_does_not_serve_fall_through_to_a_plain_404(client: TestClient) -> None:
    for path in ("/l/", "/a/token", "/u/a/b/c", "/l/x/y"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["title"] == "Hittades inte"
