"""Structured logs: one JSON object per line, with personal data taken out.

Every message (and traceback, and extra field) goes through `redact`: an e-mail address becomes
a short keyed hash, so the lines about one person can be followed without naming them; link
tokens and API keys are replaced. Redaction happens here, at the last step, so a careless log
call elsewhere cannot leak an address.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import sys
from datetime import UTC, datetime
from typing import Any

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Tokens in lesson, answer and unsubscribe links: /l/<token>, /a/<token>/…, /u/<token>.
LINK_TOKEN = re.compile(r"(/[lau]/)[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
API_KEY = re.compile(r"\bnl_[A-Za-z0-9_-]{16,}")

# Attributes every LogRecord has; anything else was passed with extra= and is logged as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# uvicorn's copy of each message with terminal colour codes: noise in a JSON line.
_DROPPED = {"color_message"}


class Redactor:
    def __init__(self, key: bytes | None = None) -> None:
        # Keyed, so a list of staff addresses cannot be hashed to look people up in the logs.
        self.key = key or secrets.token_bytes(32)

    def email_tag(self, address: str) -> str:
        digest = hmac.new(self.key, address.lower().encode(), hashlib.sha256).hexdigest()
        return f"<email:{digest[:10]}>"

    def __call__(self, text: str) -> str:
        if "@" in text:
            text = EMAIL.sub(lambda m: self.email_tag(m.group(0)), text)
        if "/" in text:
            text = LINK_TOKEN.sub(r"\1<token>", text)
        text = BEARER.sub(r"\1<redacted>", text)
        return API_KEY.sub("<api-key>", text)


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", …extra fields, "exc"}` on one line."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self.redact(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in _DROPPED and not name.startswith("_"):
                out[name] = self._field(value)
        if record.exc_info:
            out["exc"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exc"] = self.redact(record.exc_text)
        return json.dumps(out, ensure_ascii=False, default=str)

    def _field(self, value: Any) -> Any:
        if isinstance(value, bool | int | float) or value is None:
            return value
        return self.redact(str(value))


def configure_logging(level: int = logging.INFO, key: bytes | None = None) -> None:
    """JSON lines on stderr for `serve` and `worker` (uvicorn's own loggers included)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(Redactor(key)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []  # propagate to the JSON handler instead
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every tick
    # aiosmtpd (the dev mail catcher) logs every connection and SMTP command, and each client
    # that hangs up without QUIT; its warnings and errors are what a person needs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
