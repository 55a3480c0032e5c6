"""An uploaded course changing while a campaign sends it, and a campaign's local help text."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.flow import answer, inbox, mail_links, run_slots
from tests.lessons.conftest import COURSE, lesson_text
from tests.lessons.courses import make_zip
from tests.smtp_server import SmtpSink

STAFF = "namn,e-post,avdelning\nAnna Ek,anna@kommun.example,Avd\nBo Ek,bo@kommun.example,Avd\n"
BODY = {
    "name": "Egen kurs",
    "course": "egen",
    "schedule": {"start_date": "2026-01-05", "weekdays": ["mon", "wed", "fri"], "time": "09:00"},
    "max_reviews_per_email": 0,
}


def course_zip(lessons: dict[str, str]) -> bytes:
    listing = "\n".join(f"  - {key}" for key in lessons)
    files = {"egen/course.yaml": COURSE.format(lessons=listing).encode()}
    files.update({f"egen/{key}.md": text.encode() for key, text in lessons.items()})
    return make_zip(files)


def lesson(key: str, title: str = "Rubrik", right_first: bool = True) -> str:
    text = lesson_text(key, {"title: Rubrik": f"title: {title}"})
    if not right_first:  # the second option becomes the right one
        text = text.replace("      correct: true\n", "").replace(
            "    - text: Fel svar här\n", "    - text: Fel svar här\n      correct: true\n"
        )
    return text


def publish(client: TestClient, headers: dict[str, str], lessons: dict[str, str]) -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/api/v1/courses/import",
        files={"file": ("egen.zip", course_zip(lessons), "application/zip")},
        headers=headers,
    )
    return {"status": response.status_code, **response.json()}


def start(client: TestClient, headers: dict[str, str], body: dict | None = None) -> int:  # type: ignore[type-arg]
    staff = {"file": ("s.csv", STAFF.encode(), "text/csv")}
    assert client.post("/api/v1/employees/import", files=staff, headers=headers).status_code == 200
    created = client.post("/api/v1/campaigns", json=body or BODY, headers=headers)
    assert created.status_code == 201, created.text
    campaign_id: int = created.json()["id"]
    assert client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=headers).status_code == 200
    return campaign_id


def subjects(sink: SmtpSink, address: str) -> list[str]:
    return [str(m["Subject"]) for m in inbox(sink, address)]


def test_sent_mails_keep_their_version_later_mails_carry_the_new_one(
    runtime: Runtime, client: TestClient, clock: FakeClock, smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:  # fmt: skip
    three = {k: lesson(k, f"Lektion {k}") for k in ("e-01", "e-02", "e-03")}
    assert publish(client, editor_headers, three)["status"] == 200
    campaign_id = start(client, editor_headers)
    run_slots(runtime, clock, campaign_id, 1)
    first = inbox(smtp_sink, "anna@kommun.example")[0]
    # New text for e-01 (already sent: the right answer moves) and e-02 (not yet sent).
    changed = {**three, "e-01": lesson("e-01", "Ny text", False), "e-02": lesson("e-02", "Ny 2")}
    result = publish(client, editor_headers, changed)
    assert (result["changed"], result["unchanged"]) == (["e-01", "e-02"], ["e-03"])
    graded = answer(client, first, "e-01", 0)  # right in the version that was sent
    assert graded.status_code == 200 and "Rätt svar!" in graded.text
    page = client.get(mail_links(first).view or "")
    assert "Lektion e-01" in page.text and "Ny text" not in page.text
    run_slots(runtime, clock, campaign_id, 1)
    assert subjects(smtp_sink, "anna@kommun.example") == ["Lektion e-01", "Ny 2"]


def test_removing_a_lesson_still_to_send_is_refused(
    runtime: Runtime, client: TestClient, clock: FakeClock, smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:  # fmt: skip
    three = {k: lesson(k, f"Lektion {k}") for k in ("e-01", "e-02", "e-03")}
    publish(client, editor_headers, three)
    campaign_id = start(client, editor_headers)
    run_slots(runtime, clock, campaign_id, 1)
    refused = publish(client, editor_headers, {k: three[k] for k in ("e-01", "e-03")})
    assert refused["status"] == 422
    assert refused["errors"][0]["message"].startswith(
        "lektionen 'e-02' finns inte längre med, men kampanjen 'Egen kurs' (nr 1) pågår"
    )
    # A lesson everyone already has may go; one added in its place comes next, nothing skipped.
    replaced = publish(client, editor_headers, {"e-02": three["e-02"], "e-new": lesson("e-new", "Ny"), "e-03": three["e-03"]})  # fmt: skip
    assert (replaced["status"], replaced["removed"], replaced["created"]) == (200, ["e-01"], ["e-new"])  # fmt: skip
    run_slots(runtime, clock, campaign_id, 4)
    assert subjects(smtp_sink, "anna@kommun.example") == ["Lektion e-01", "Lektion e-02", "Ny", "Lektion e-03"]  # fmt: skip


def test_a_lesson_inserted_before_sent_ones_is_sent_next(
    runtime: Runtime, client: TestClient, clock: FakeClock, smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:  # fmt: skip
    two = {k: lesson(k, f"Lektion {k}") for k in ("e-01", "e-02", "e-03")}
    publish(client, editor_headers, two)
    campaign_id = start(client, editor_headers)
    run_slots(runtime, clock, campaign_id, 2)
    inserted = {"e-01": two["e-01"], "e-00": lesson("e-00", "Infogad"), **two}
    assert publish(client, editor_headers, inserted)["status"] == 200
    run_slots(runtime, clock, campaign_id, 3)
    assert subjects(smtp_sink, "bo@kommun.example") == ["Lektion e-01", "Lektion e-02", "Infogad", "Lektion e-03"]  # fmt: skip


LOCAL_HELP = "**Socialtjänsten i Exempelby:** 0123-45 67 89\n\nKvinnojouren Linnea: 070-123 45 67"


def test_local_help_after_the_course_help_in_mail_and_page(
    runtime: Runtime, client: TestClient, clock: FakeClock, smtp_sink: SmtpSink,
    editor_headers: dict[str, str],
) -> None:  # fmt: skip
    publish(client, editor_headers, {"e-01": lesson("e-01")})
    bad = client.post("/api/v1/campaigns", json={**BODY, "local_help": "<b>ring</b>"}, headers=editor_headers)  # fmt: skip
    assert bad.status_code == 422 and "HTML är inte tillåtet" in bad.text
    campaign_id = start(client, editor_headers, {**BODY, "local_help": LOCAL_HELP})
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=editor_headers).json()["local_help"] == LOCAL_HELP  # fmt: skip
    run_slots(runtime, clock, campaign_id, 1)
    message = inbox(smtp_sink, "anna@kommun.example")[0]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert '<a href="tel:0123456789"' in html and "tel:0701234567" in html
    assert "Socialtjänsten i Exempelby: 0123-45 67 89" in text
    page = client.get(mail_links(message).view or "").text
    assert 'href="tel:0123456789"' in page and "Kvinnojouren Linnea" in page
    patched = client.patch(f"/api/v1/campaigns/{campaign_id}", json={"local_help": ""}, headers=editor_headers)  # fmt: skip
    assert patched.status_code == 200 and patched.json()["local_help"] == ""
