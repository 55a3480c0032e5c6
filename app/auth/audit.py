"""The audit log: every change and every export of personal data, with who, what, when, how many."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import ApiKey, AuditEntry, Role

# The audit log's actor column is 200 characters: a name is cut to fit beside the subject.
MAX_SUBJECT = 120
MAX_DISPLAY_NAME = 60


class Person(str):
    """Someone signed in to the dashboard with the municipality's account (OpenID Connect).

    The value *is* the audit log's actor label, "person <display name> (<subject>)", so every
    service that takes `actor: ApiKey | str | None` records the person as it is; it also
    carries what the dashboard shows (`name`) and may do (`role`). Nothing of it is stored
    anywhere else: the subject and display name live in the session cookie and the audit log.
    """

    subject: str
    name: str
    role: Role

    def __new__(cls, subject: str, name: str, role: Role) -> Person:
        subject, name = subject[:MAX_SUBJECT], " ".join(name.split())[:MAX_DISPLAY_NAME]
        person = super().__new__(cls, f"person {name or '-'} ({subject})")
        person.subject, person.name, person.role = subject, name or subject, role
        return person

    def __reduce__(self) -> tuple[type[Person], tuple[str, str, Role]]:
        return (Person, (self.subject, self.name, self.role))


def actor_of(key: ApiKey | None) -> str:
    if key is None:
        try:
            return f"cli ({getpass.getuser()})"
        except (KeyError, OSError):
            return "cli"
    return f"key {key.prefix} ({key.name})"


def record_audit(
    session: Session,
    *,
    actor: ApiKey | str | None,
    action: str,
    now: datetime,
    target: str = "",
    rows: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry; the caller's unit of work commits it together with the change itself.

    `actor` is the API key that acted, a label such as "system", or None for the command line.
    Never put e-mail addresses, names or tokens in `detail`: ids and counts only.
    """
    entry = AuditEntry(
        at=now,
        api_key_id=actor.id if isinstance(actor, ApiKey) else None,
        actor=actor if isinstance(actor, str) else actor_of(actor),
        action=action,
        target=target,
        rows=rows,
        detail=detail or {},
    )
    session.add(entry)
    return entry


def list_audit(
    session: Session,
    *,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Newest first; `action` is a prefix, `since` inclusive and `until` exclusive."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return list(session.scalars(query))
