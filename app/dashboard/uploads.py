"""A staff file between its dry run and the confirmation: kept on disk for an hour, for the
key that uploaded it only. Nobody re-uploads to confirm, and what is imported is exactly the
file whose dry run was shown.

Files live in DATA_DIR/dashboard-uploads (one file and its JSON note per upload), are removed
when imported, and anything older than an hour is removed at the next upload. With several
app servers behind a balancer, DATA_DIR must be shared (or sessions sticky)."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from app.core.config import Settings

LIFETIME = timedelta(hours=1)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class Upload:
    token: str
    filename: str
    mode: str
    data: bytes


def _folder(settings: Settings) -> Path:
    return settings.data_dir / "dashboard-uploads"


def save(
    settings: Settings, key_id: str, data: bytes, filename: str, mode: str, now: datetime
) -> str:
    folder = _folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    _prune(folder, now)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.bin").write_bytes(data)
    note = {"key": key_id, "filename": filename[:200], "mode": mode, "at": now.isoformat()}
    (folder / f"{token}.json").write_text(json.dumps(note), encoding="utf-8")
    return token


def load(settings: Settings, key_id: str, token: str, now: datetime) -> Upload | None:
    """The upload, if it exists, belongs to this key and is not older than an hour."""
    if not _TOKEN.match(token):
        return None
    folder = _folder(settings)
    try:
        note = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        data = (folder / f"{token}.bin").read_bytes()
    except (OSError, ValueError):
        return None
    if note.get("key") != key_id or now - datetime.fromisoformat(note["at"]) > LIFETIME:
        return None
    return Upload(token, str(note["filename"]), str(note["mode"]), data)


def discard(settings: Settings, token: str) -> None:
    if _TOKEN.match(token):
        for suffix in (".bin", ".json"):
            (_folder(settings) / f"{token}{suffix}").unlink(missing_ok=True)


def _prune(folder: Path, now: datetime) -> None:
    for note in folder.glob("*.json"):
        try:
            at = datetime.fromisoformat(json.loads(note.read_text(encoding="utf-8"))["at"])
        except (OSError, ValueError, KeyError):
            continue
        if now - at > LIFETIME:
            discard_path = note.with_suffix("")
            for suffix in (".bin", ".json"):
                discard_path.with_suffix(suffix).unlink(missing_ok=True)
