"""Read one message from the bounce mailbox: a bounce (hard, soft or a policy refusal, with its
enhanced status code and reason), an auto-reply, a delivery notice, or something else.

RFC 3464 delivery status notifications are read with the standard library; the common
non-standard formats (qmail, old Exim, Exchange 5.5, …) with flufl.bounce's detectors. The
enhanced status code (RFC 3463) decides how much a bounce says about the address:

- hard: 5.1.x (no such mailbox or domain), 5.2.1 (mailbox disabled), and Exchange Online's
  5.4.1 "Recipient address rejected" (no such recipient in the tenant);
- policy: 5.7.x, the receiver refused our mail (spam filter, not authorised): the e-mail
  bounced, but the address may be fine, so it does not count against the person;
- soft: everything else: 4.x.x, 5.2.2 mailbox full, a failure without a code.

A message over the size limit, or one the parser cannot read, raises `Refused`.
"""

from __future__ import annotations

import email
import email.header
import logging
import re
from dataclasses import dataclass, replace
from email.message import Message
from email.utils import getaddresses
from enum import StrEnum

from flufl.bounce import all_failures

log = logging.getLogger(__name__)
# flufl.bounce logs every detector it runs (INFO) and a detector's crash with its traceback
# (ERROR); neither helps an operator, and the crash is handled below.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

MAX_TEXT = 64 * 1024  # characters of a text part searched for a status code
MAX_PARTS = 200
REASON_CHARS = 300

ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
OUR_MESSAGE_ID = re.compile(rb"<nl\.\d{1,19}\.[A-Za-z0-9_-]{12}@[A-Za-z0-9.-]{1,253}>")
ADDRESSED_TO = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")
AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|automatiskt svar|autosvar|auto-?reply|out of (the )?office|"
    r"frånvaro|automatische antwort|abwesenheit|réponse automatique|autoresponder)",
    re.IGNORECASE,
)


class Refused(Exception):
    """Too large or unreadable: the message is left where it is."""


class Kind(StrEnum):
    bounce = "bounce"
    auto_reply = "auto_reply"  # out of office and other automatic answers: ignored
    notice = "notice"  # a DSN saying delivered, relayed or delayed: nothing failed (yet)
    unknown = "unknown"  # not a bounce: left for a person to read


class Severity(StrEnum):
    hard = "hard"
    soft = "soft"
    policy = "policy"


@dataclass(frozen=True)
class Report:
    kind: Kind
    severity: Severity = Severity.soft
    status: str | None = None  # enhanced status code, e.g. 5.1.1
    reason: str = ""
    recipients: frozenset[str] = frozenset()  # the addresses that failed, lower-case
    addressed_to: tuple[str, ...] = ()  # where the report itself was sent (VERP)
    message_ids: tuple[str, ...] = ()  # Message-IDs of ours that it quotes


def severity(status: str | None, reason: str) -> Severity:
    if status is None or not status.startswith("5."):
        return Severity.soft
    if status.startswith("5.1.") or status == "5.2.1":
        return Severity.hard
    if status == "5.4.1" and "recipient address rejected" in reason.lower():
        return Severity.hard
    if status.startswith("5.7."):
        return Severity.policy
    return Severity.soft


def read_report(data: bytes, *, max_bytes: int) -> Report:
    if len(data) > max_bytes:
        raise Refused(f"larger than {max_bytes} bytes")
    try:
        msg = email.message_from_bytes(data)
        parts = _parts(msg)
        found = _dsn(parts) or _non_standard(msg, parts) or _auto_reply(msg)
    except Refused:
        raise
    except Exception as exc:  # the parsers are lenient; anything else is a broken message
        raise Refused(f"unreadable: {type(exc).__name__}") from None
    return replace(
        found or Report(Kind.unknown),
        addressed_to=_addressed_to(msg),
        message_ids=tuple(dict.fromkeys(m.decode() for m in OUR_MESSAGE_ID.findall(data))),
    )


def _parts(msg: Message) -> list[Message]:
    """The message's parts, outside any attached original (message/rfc822)."""
    found: list[Message] = []
    pending = [msg]
    while pending:
        part = pending.pop(0)
        found.append(part)
        if len(found) > MAX_PARTS:
            raise Refused(f"more than {MAX_PARTS} MIME parts")
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            children = part.get_payload()
            if isinstance(children, list):
                pending.extend(c for c in children if isinstance(c, Message))
    return found


def _dsn(parts: list[Message]) -> Report | None:
    """RFC 3464: the per-recipient fields of a message/delivery-status part."""
    blocks: list[Message] = []
    for part in parts:
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                blocks += [b for b in payload if isinstance(b, Message)]
    if not blocks:
        return None
    failed = [b for b in blocks if _field(b, "Action").lower() == "failed"]
    if not failed:
        return Report(Kind.notice)
    first = failed[0]
    diagnostic = re.sub(r"^\s*smtp\s*;\s*", "", _field(first, "Diagnostic-Code"), flags=re.I)
    status = _enhanced(_field(first, "Status")) or _enhanced(diagnostic)
    reason = _clip(diagnostic or f"Status {status or 'okänd'}")
    recipients = {
        _address(_field(b, "Final-Recipient") or _field(b, "Original-Recipient")) for b in failed
    }
    return Report(
        Kind.bounce,
        severity=severity(status, reason),
        status=status,
        reason=reason,
        recipients=frozenset(r for r in recipients if r),
    )


def _non_standard(msg: Message, parts: list[Message]) -> Report | None:
    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # a heuristic tripped over an odd message (e.g. no From)
        log.debug("flufl.bounce could not read a message: %s", type(exc).__name__)
        return None
    if not temporary and not permanent:
        return None
    status, line = None, ""
    for part in parts:
        if part.get_content_maintype() != "text" or part.is_multipart():
            continue
        text = _text(part)
        match = ENHANCED.search(text)
        if match is not None:
            status = match.group(0)
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            line = text[start : end if end >= 0 else len(text)]
            break
    recipients = {a.decode("utf-8", "replace").lower() for a in temporary | permanent}
    reason = _clip(line or "Studsade (ingen statuskod angiven)")
    found = severity(status, reason) if permanent else Severity.soft
    return Report(
        Kind.bounce, severity=found, status=status, reason=reason, recipients=frozenset(recipients)
    )


def _auto_reply(msg: Message) -> Report | None:
    """RFC 3834 Auto-Submitted, the usual X- headers, or an auto-reply subject."""
    auto = _field(msg, "Auto-Submitted").lower()
    if (auto and auto != "no") or msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return Report(Kind.auto_reply)
    if _field(msg, "Precedence").lower() == "auto_reply":
        return Report(Kind.auto_reply)
    subject = str(email.header.make_header(email.header.decode_header(_field(msg, "Subject"))))
    return Report(Kind.auto_reply) if AUTO_SUBJECT.match(subject) else None


def _addressed_to(msg: Message) -> tuple[str, ...]:
    values = [str(v) for name in ADDRESSED_TO for v in (msg.get_all(name) or [])[:10]]
    return tuple(dict.fromkeys(a.lower() for _, a in getaddresses(values) if a))[:20]


def _field(msg: Message, name: str) -> str:
    value = msg.get(name)
    return " ".join(str(value).split())[:1000] if value is not None else ""


def _address(value: str) -> str:
    """'rfc822; anna@kommun.se' -> 'anna@kommun.se'."""
    return value.partition(";")[2].strip().strip("<>").lower() if ";" in value else ""


def _enhanced(text: str) -> str | None:
    match = ENHANCED.search(text)
    return match.group(0) if match is not None else None


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[: MAX_TEXT * 4].decode(charset, "replace")[:MAX_TEXT]
    except LookupError:  # an unknown charset name
        return payload[: MAX_TEXT * 4].decode("utf-8", "replace")[:MAX_TEXT]


def _clip(text: str) -> str:
    return " ".join(text.split())[:REASON_CHARS]
