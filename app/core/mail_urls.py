"""The relay and mailbox addresses of the settings (SMTP_URL, BOUNCE_IMAP_URL), parsed and checked:
a bad one stops the start with a message that says what is expected."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # implicit TLS (smtps://)
    start_tls: bool

    @property
    def label(self) -> str:
        """Host and port, never the credentials: safe for logs and metrics."""
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, got {parts.scheme!r}://")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host (expected smtp://user:pass@host:port)")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"SMTP_URL has an invalid port: {exc}") from None
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"SMTP_URL has unknown options: {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", "false")
    if starttls not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError("SMTP_URL option starttls must be true or false")
    use_tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if use_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=use_tls,
        start_tls=starttls in ("true", "1", "yes"),
    )


@dataclass(frozen=True)
class ImapTarget:
    host: str
    port: int
    username: str
    password: str | None  # None with auth=xoauth2: an access token is asked for at each login
    folder: str
    xoauth2: bool

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def parse_imap_url(url: str) -> ImapTarget:
    """imaps://user:password@host:993/INBOX, or imaps://user@host/INBOX?auth=xoauth2."""
    parts = urlsplit(url)
    if parts.scheme != "imaps":
        raise ValueError("BOUNCE_IMAP_URL must start with imaps:// (IMAP over TLS)")
    if not parts.hostname or not parts.username:
        raise ValueError("BOUNCE_IMAP_URL needs a user and a host (imaps://user:pass@host/INBOX)")
    try:
        port = parts.port or 993
    except ValueError as exc:
        raise ValueError(f"BOUNCE_IMAP_URL has an invalid port: {exc}") from None
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    if set(query) - {"auth"} or query.get("auth", "password") not in ("password", "xoauth2"):
        raise ValueError("BOUNCE_IMAP_URL knows one option: auth=password or auth=xoauth2")
    xoauth2 = query.get("auth") == "xoauth2"
    if not xoauth2 and not parts.password:
        raise ValueError("BOUNCE_IMAP_URL has no password (or add ?auth=xoauth2)")
    return ImapTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username),
        password=unquote(parts.password) if parts.password else None,
        folder=unquote(parts.path.strip("/")) or "INBOX",
        xoauth2=xoauth2,
    )
