"""A test-send says it is one: in the subject, at the top of the e-mail, and behind every link."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.campaigns.models import Enrollment, EnrollmentStatus
from app.core.runtime import Runtime
from app.tracking.models import Answer, Event
from tests.campaigns.test_campaign_api import BODY
from tests.flow import sync_lessons
from tests.smtp_server import SmtpSink

TEST_PAGE = "Det här är ett testutskick: länkarna fungerar inte som för en anställd"


def _counts(runtime: Runtime) -> tuple[int, int, int]:
    with runtime.session_factory() as session:
        opted_out = Enrollment.status == EnrollmentStatus.opted_out
        return (
            session.scalar(select(func.count(Event.id))) or 0,
            session.scalar(select(func.count(Answer.id))) or 0,
            session.scalar(select(func.count(Enrollment.id)).where(opted_out)) or 0,
        )


def test_test_send_is_marked_and_its_links_open_a_test_page(
    client: TestClient, runtime: Runtime, editor_headers: dict[str, str], smtp_sink: SmtpSink
) -> None:
    sync_lessons(runtime)
    campaign = client.post("/api/v1/campaigns", json=BODY, headers=editor_headers).json()
    response = client.post(
        f"/api/v1/campaigns/{campaign['id']}/test-send",
        json={"email": "projekt@kommun.example"},
        headers=editor_headers,
    )
    assert response.status_code == 200, response.text
    (message,) = smtp_sink.messages()
    assert str(message["Subject"]).startswith("[Test] ")
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert text.lstrip().startswith("TESTUTSKICK"), text[:200]
    banner = re.search(r'<p class="test-banner"[^>]*>(.*?)</p>', html, re.S)
    assert banner is not None and "testutskick" in banner.group(1).lower()
    assert html.index("test-banner") < html.index("<h1")

    links = sorted(set(re.findall(r"http://testserver(/[alu]/\S+)", text)))
    assert {urlsplit(link).path[:3] for link in links} == {"/l/", "/a/", "/u/"}
    for link in links:
        page = client.get(link)
        assert page.status_code == 200, link
        assert TEST_PAGE in page.text and "Länken fungerar inte" not in page.text
    answer_path = next(link for link in links if link.startswith("/a/"))
    token, lesson = answer_path.split("/")[2:4]
    posted = client.post(f"/a/{token}/{lesson}", data={"option": "0"})
    assert posted.status_code == 200 and TEST_PAGE in posted.text
    unsubscribed = client.post(f"/u/{token}")
    assert unsubscribed.status_code == 200 and TEST_PAGE in unsubscribed.text
    assert _counts(runtime) == (0, 0, 0)  # a test-send records nothing


def test_a_tampered_test_link_is_still_a_plain_404(client: TestClient) -> None:
    page = client.get("/l/test.AQ.AAAAAAAAAAAAAAAA")
    assert page.status_code == 404 and "Länken fungerar inte" in page.text
