"""API keys: random, shown once, stored as a SHA-256 hash, found by their visible prefix."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.audit import record_audit
from app.auth.models import ApiKey, Role

KEY_PREFIX = "nl_"
# Writing last_used_at on every request would make each API call a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# nl_<prefix>_<secret>: the prefix is public (lists, the audit log); the secret part is not.
_VISIBLE_PREFIX = re.compile(rf"{KEY_PREFIX}([0-9a-f]{{8}})_")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, role: Role, now: datetime) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plain key, which is never stored."""
    prefix = secrets.token_hex(4)
    plain = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, prefix=prefix, key_hash=_hash(plain), role=role, created_at=now)
    session.add(key)
    session.flush()
    return key, plain


def visible_prefix(presented: str) -> str | None:
    """The public prefix of something shaped like one of our keys (for logs); else None."""
    found = _VISIBLE_PREFIX.match(presented)
    return found.group(1) if found else None


def authenticate(session: Session, plain: str, now: datetime) -> ApiKey | None:
    if not plain.startswith(KEY_PREFIX) or plain.count("_") < 2:
        return None
    prefix = plain[len(KEY_PREFIX) :].split("_", 1)[0]
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, _hash(plain)):
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def find_api_key(session: Session, prefix: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))


def revoke_api_key(session: Session, prefix: str, now: datetime) -> ApiKey | None:
    """Revoke the key (once: a second call keeps the first time); None when there is none."""
    key = find_api_key(session, prefix)
    if key is not None and key.revoked_at is None:
        key.revoked_at = now
    return key


def audit_key_change(
    session: Session, actor: ApiKey | str | None, key: ApiKey, action: str, now: datetime
) -> None:
    """Audit a create or revoke: the prefix and role, never the key."""
    record_audit(
        session,
        actor=actor,
        action=f"api_keys.{action}",
        now=now,
        target=f"api key {key.prefix}",
        detail={"role": str(key.role)},
    )
