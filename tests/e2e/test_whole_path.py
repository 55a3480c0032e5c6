"""The whole path a real user takes, in-process: CSV import → campaign → e-mails on a real SMTP
server → clicking the links in them → the HR report, with the clock played forward."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta

from fastapi.testclient import TestClient

from app.core.clock import FakeClock
from app.core.runtime import Runtime
from tests.flow import BROWSER_UA, form_action, mail_links, run_slots, sync_lessons, tick
from tests.smtp_server import SmtpSink

STAFF_CSV = (
    "Förnamn;Efternamn;E-post;Förvaltning;Anställningsnummer\n"
    "Anna;Lind;Anna.Lind@Kommun.example;Socialförvaltningen;1001\n"
    "Erik;Berg;erik.berg@kommun.example;Socialförvaltningen;1002\n"
    "Maria;Holm;maria.holm@kommun.example;Utbildningsförvaltningen;1003\n"
    "Johan;Ek;johan.ek@kommun.example;Utbildningsförvaltningen;1004\n"
    "Sara;Nyström;sara.nystrom@kommun.example;Kultur;1005\n"
)

CAMPAIGN = {
    "name": "Radikalisering vt 2026",
    "course": "radikalisering",
    "audience": {"departments": ["Socialförvaltningen", "Utbildningsförvaltningen"]},
    "schedule": {
        "start_date": "2026-01-05",
        "weekdays": ["tue", "thu"],
        "time": "08:00",
        "timezone": "Europe/Stockholm",
    },
}


def _by_recipient(sink: SmtpSink) -> dict[str, list]:
    out: dict[str, list] = {}
    for received in sink.received:
        for rcpt in received.rcpt_tos:
            out.setdefault(rcpt, []).append(received.message)
    return out


def test_csv_to_campaign_to_clicks_to_report(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    sync_lessons(runtime)
    browser = {"User-Agent": BROWSER_UA}

    imported = client.post(
        "/api/v1/employees/import",
        files={"file": ("personal.csv", STAFF_CSV.encode("utf-8-sig"), "text/csv")},
        headers=editor_headers,
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 5

    created = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=editor_headers)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    started = client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=editor_headers)
    assert started.json()["status"] == "running"
    assert started.json()["counts"]["enrolled"] == 4  # Kultur is not in the audience

    # First slot: Tuesday 6 January 08:00 in Stockholm.
    assert run_slots(runtime, clock, campaign_id, 1) == 4
    first = _by_recipient(smtp_sink)
    assert sorted(first) == [
        "anna.lind@kommun.example",
        "erik.berg@kommun.example",
        "johan.ek@kommun.example",
        "maria.holm@kommun.example",
    ]
    anna_mail = first["anna.lind@kommun.example"][0]
    assert anna_mail["Date"].datetime.astimezone().hour is not None
    assert anna_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert anna_mail["Message-ID"].endswith("@kommun.example>")
    assert "Anna Lind" in str(anna_mail["To"])
    assert anna_mail.get_body(preferencelist=("plain",)) is not None

    clock.advance(minutes=20)  # people read later than scanners
    anna = mail_links(anna_mail)
    (lesson_key,) = anna.answers
    assert anna.view is not None
    view = client.get(anna.view, headers=browser)
    assert view.status_code == 200 and "Content-Security-Policy" in view.headers

    options = anna.answers[lesson_key]
    with runtime.session_factory() as session:
        from app.lessons.service import get_course

        course = get_course(session, "radikalisering")
        assert course is not None
        correct = course.lessons[0].version.correct_index
    wrong = (correct + 1) % len(options)

    # Anna first picks a wrong answer: the GET only shows a confirm page and records no answer.
    confirm_page = client.get(options[wrong], headers=browser)
    assert confirm_page.status_code == 200
    post_url = form_action(confirm_page.text)
    result = client.post(post_url, data={"option": str(wrong)}, headers=browser)
    assert result.status_code == 200
    clock.advance(seconds=30)
    again = client.post(post_url, data={"option": str(correct)}, headers=browser)
    assert again.status_code == 200

    # Erik answers right at once; Maria opts out with the one-click POST; Johan does nothing.
    erik = mail_links(first["erik.berg@kommun.example"][0])
    erik_confirm = client.get(erik.answers[lesson_key][correct], headers=browser)
    client.post(form_action(erik_confirm.text), data={"option": str(correct)}, headers=browser)
    maria = mail_links(first["maria.holm@kommun.example"][0])
    assert client.post(maria.unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200

    # Five more weeks (ten slots); Sara moves into the audience half-way and starts from lesson 1.
    run_slots(runtime, clock, campaign_id, 5)
    moved = STAFF_CSV.replace("Kultur;1005", "Socialförvaltningen;1005")
    assert (
        client.post(
            "/api/v1/employees/import",
            files={"file": ("personal.csv", moved.encode(), "text/csv")},
            headers=editor_headers,
        ).json()["updated"]
        == 1
    )
    run_slots(runtime, clock, campaign_id, 5)

    mail = _by_recipient(smtp_sink)
    assert len(mail["anna.lind@kommun.example"]) == 11
    assert len(mail["johan.ek@kommun.example"]) == 11
    assert len(mail["maria.holm@kommun.example"]) == 1  # opted out after the first
    assert len(mail["sara.nystrom@kommun.example"]) == 5
    for address, messages in mail.items():
        subjects = Counter(str(m["Subject"]) for m in messages)
        assert max(subjects.values()) == 1, f"{address} got a lesson twice"
        assert len({m["Message-ID"] for m in messages}) == len(messages)
    sara_first = str(mail["sara.nystrom@kommun.example"][0]["Subject"])
    assert sara_first == str(anna_mail["Subject"])  # a late joiner starts from lesson 1

    report = client.get(
        f"/api/v1/reports/completion?campaign={campaign_id}&format=json", headers=editor_headers
    )
    assert report.status_code == 200, report.text
    rows = {r["email"]: r for r in report.json()["rows"]}
    assert rows["anna.lind@kommun.example"]["lessons_sent"] == 11
    assert rows["anna.lind@kommun.example"]["questions_answered"] == 1
    assert rows["anna.lind@kommun.example"]["correct_first_attempt"] == 0
    assert rows["anna.lind@kommun.example"]["lessons_viewed"] == 1
    assert rows["erik.berg@kommun.example"]["correct_first_attempt"] == 1
    assert rows["maria.holm@kommun.example"]["opted_out"] is True
    assert rows["johan.ek@kommun.example"]["questions_answered"] == 0
    assert rows["anna.lind@kommun.example"]["completion_pct"] == round(100 / 12)

    csv_report = client.get(
        f"/api/v1/reports/completion?campaign={campaign_id}&format=csv", headers=editor_headers
    )
    assert csv_report.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(csv_report.content.decode("utf-8-sig"))))
    assert len(table) == 1 + 5  # header + everyone ever enrolled


def test_links_in_tampered_or_foreign_tokens_get_404_and_record_nothing(
    runtime: Runtime,
    client: TestClient,
    clock: FakeClock,
    smtp_sink: SmtpSink,
    editor_headers: dict,
) -> None:
    sync_lessons(runtime)
    client.post(
        "/api/v1/employees/import",
        files={"file": ("p.csv", STAFF_CSV.encode(), "text/csv")},
        headers=editor_headers,
    )
    campaign_id = client.post("/api/v1/campaigns", json=CAMPAIGN, headers=editor_headers).json()[
        "id"
    ]
    client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=editor_headers)
    run_slots(runtime, clock, campaign_id, 1)
    clock.advance(timedelta(minutes=10))
    links = mail_links(smtp_sink.messages()[0])
    assert links.view is not None
    token = links.view.rsplit("/", 1)[1]
    id_part, mac = token.split(".")
    forged = [
        links.view.replace(token, f"{id_part}.{mac[:-2]}AA"),
        links.view.replace(token, f"{'AQ' if id_part != 'AQ' else 'Ag'}.{mac}"),  # another id
        links.view.replace(token, "not-a-token"),
        links.view.replace(token, token + "="),
    ]
    for url in forged:
        assert client.get(url).status_code == 404
    _key, urls = next(iter(links.answers.items()))
    bad_post = urls[0].replace(token, f"{id_part}.{mac[:-2]}AA").rsplit("/", 1)[0]
    assert client.post(bad_post, data={"option": "0"}).status_code == 404
    assert client.get(urls[0].rsplit("/", 1)[0] + "/9").status_code == 404  # option out of range
    assert client.get(links.view.replace(token, token) + "?lesson=rad-99").status_code == 404

    report = client.get(
        f"/api/v1/reports/completion?campaign={campaign_id}&format=json", headers=editor_headers
    ).json()
    assert all(r["lessons_viewed"] == 0 and r["questions_answered"] == 0 for r in report["rows"])
    assert tick(runtime).sent == 0
