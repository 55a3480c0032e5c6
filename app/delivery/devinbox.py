"""/dev/inbox: the messages the built-in mail catcher received. Exists only while the
SMTP URL points at the catcher, i.e. never in production, and answers only requests from this
machine (loopback): the messages hold working answer links, and there is no sign-in.

The page is in Swedish, like everything a project leader sees; its errors answer in the caller's
language, as every API error does."""

from __future__ import annotations

import email
import email.policy
import mailbox
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from app.core.config import Settings, is_loopback
from app.core.deps import SettingsDep
from app.core.errors import ProblemError
from app.core.i18n import Text, local_time

router = APIRouter(prefix="/dev/inbox", include_in_schema=False)


LOOPBACK_ONLY = Text(
    "Testinkorgen visas bara på den här datorn (127.0.0.1 eller ::1).",
    "The dev inbox answers only on this machine (127.0.0.1 or ::1).",
)
NO_MESSAGE = Text(
    "Det finns inget sådant mejl i testinkorgen. Gå tillbaka till /dev/inbox.",
    "No such message in the dev inbox. Go back to /dev/inbox.",
)


def _maildir(request: Request, settings: Settings) -> mailbox.Maildir | None:
    if not settings.dev_mail_enabled:
        return None
    if request.client is None or not is_loopback(request.client.host):
        raise ProblemError(
            403,
            Text("Bara på den här datorn", "Only on this machine"),
            Text(
                f"{LOOPBACK_ONLY} Öppna den i en webbläsare där, eller läs filerna i DATA_DIR/mail.",
                f"{LOOPBACK_ONLY.en} Open it in a browser there, or read the files in "
                "DATA_DIR/mail.",
            ),
        )
    if not settings.mail_dir.exists():
        return None
    return mailbox.Maildir(settings.mail_dir, factory=None, create=False)


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="sv"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f'<link rel="stylesheet" href="/static/site.css"></head><body><main class="page">{body}</main></body></html>'
    )


@router.get("")
def inbox(request: Request, settings: SettingsDep) -> Response:
    """The development inbox: newest message first."""
    box = _maildir(request, settings)
    if box is None:
        raise ProblemError(
            404,
            "Not Found",
            Text(
                "Testinkorgen finns bara med den inbyggda e-postfångaren (när SMTP_URL pekar på "
                "den).",
                "The dev inbox exists only with the built-in mail catcher.",
            ),
        )
    rows = []
    for key in box.iterkeys():
        msg = _parse(box.get_bytes(key))
        try:
            when = parsedate_to_datetime(str(msg["Date"]))
        except (TypeError, ValueError):
            continue
        rows.append((when, key, msg))
    rows.sort(key=lambda r: r[0], reverse=True)
    items = "".join(
        f'<li><a href="/dev/inbox/{escape(key)}">{escape(str(msg["Subject"]))}</a><br>'
        f"<small>{escape(str(msg['To']))} · {escape(local_time(when, settings.timezone))}</small></li>"
        for when, key, msg in rows[:500]
    )
    caught = (
        f"{len(rows)} mejl {'fångat' if len(rows) == 1 else 'fångade'} här (inget lämnar den "
        "här datorn). Det nyaste står först."
        if rows
        else "Inga mejl än. Starta en kampanj, eller kör: nanolearn campaigns demo"
    )
    return _page(
        "Testinkorg",
        f"<h1>Testinkorg</h1><p>{caught}</p>"
        f"<p>{escape(LOOPBACK_ONLY)} Andra datorer får 403 (ingen åtkomst).</p><ul>{items}</ul>",
    )


@router.get("/{key}")
def message(key: str, request: Request, settings: SettingsDep) -> Response:
    """One caught message's HTML part, as a mail client would show it."""
    box = _maildir(request, settings)
    if box is None or key not in box:
        raise ProblemError(404, "Not Found", NO_MESSAGE)
    msg = _parse(box.get_bytes(key))
    part = msg.get_body(preferencelist=("html",))
    if part is None:
        return PlainTextResponse(msg.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    return HTMLResponse(part.get_content())


@router.get("/{key}/raw")
def raw(key: str, request: Request, settings: SettingsDep) -> Response:
    """The message source, headers included."""
    box = _maildir(request, settings)
    if box is None or key not in box:
        raise ProblemError(404, "Not Found", NO_MESSAGE)
    return PlainTextResponse(box.get_bytes(key).decode("utf-8", "replace"))
