"""Settings from the environment (prefix NANOLEARN_) and an optional .env file."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.accounts import GRAPH_URL, SendingAccount, parse_accounts

DEV_SMTP_HOST = "127.0.0.1"
DEV_SMTP_PORT = 8025

# Values people copy from examples; a deployment must never run with them.
PLACEHOLDER_SECRETS = {
    "changeme",
    "change-me",
    "secret",
    "secret-key",
    "your-secret-key",
    "please-change",
    "development",
    "dev",
    "test",
    "xxx",
}
MIN_SECRET_LENGTH = 32


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NANOLEARN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,  # an error must not echo a password or client secret
    )

    data_dir: Path = Path("data")
    database_url: str = ""
    smtp_url: str = ""  # empty: the built-in dev mail catcher
    dev_mail_port: int = Field(default=DEV_SMTP_PORT, ge=1, le=65535)
    base_url: str = ""  # empty: http://HOST:PORT, right for a local run
    secret_key: SecretStr | None = None
    mail_from: str = "Nanolearn <nanolearn@example.org>"
    timezone: str = "Europe/Stockholm"
    lessons_dir: Path = Path("lessons")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # Delivery
    smtp_concurrency: int = Field(default=4, ge=1, le=64)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_rate_per_minute: int | None = Field(default=None, ge=1)
    smtp_rate_per_hour: int | None = Field(default=None, ge=1)
    smtp_rate_per_day: int | None = Field(default=None, ge=1)  # rolling 24 hours
    # How mail leaves: SMTP (SMTP_URL) or Microsoft Graph sendMail (GRAPH_URL, OAUTH_*).
    mail_transport: str = Field(default="smtp", pattern=r"^(smtp|graph)$")
    # SMTP AUTH with the password in SMTP_URL, or XOAUTH2 with a token from OAUTH_* (the
    # SMTP_URL user is the sending mailbox; Microsoft 365 ends Basic auth for SMTP in 2026).
    smtp_auth: str = Field(default="password", pattern=r"^(password|xoauth2)$")
    oauth_tenant: str = ""  # Entra ID tenant id or domain
    oauth_token_url: str = Field(default="", pattern=r"^(https?://\S+)?$")  # any OAuth 2.0 server
    oauth_client_id: str = ""
    oauth_client_secret: SecretStr | None = None
    oauth_scope: str = ""  # empty: Outlook's (SMTP) or Graph's .default scope
    graph_url: str = Field(default=GRAPH_URL, pattern=r"^https?://\S+$")
    # Several sending mailboxes: JSON, or a .json/.toml file path (app/core/accounts.py).
    sending_accounts: str = ""
    dispatch_batch_size: int = Field(default=200, ge=1, le=5000)
    lease_seconds: int = Field(default=120, ge=5)
    plan_interval_seconds: float = Field(default=30.0, gt=0)
    dispatch_interval_seconds: float = Field(default=2.0, gt=0)
    # Results are written in flushes of at most this many: after a crash at most
    # smtp_concurrency + dispatch_flush_size e-mails can go out a second time.
    dispatch_flush_size: int = Field(default=32, ge=1, le=1000)
    smtp_ca_file: Path | None = None  # CA bundle for a relay with an internal certificate
    # A campaign pauses itself when more than this share of its last N finished e-mails failed.
    failure_pause_percent: float = Field(default=20.0, gt=0, le=100)
    failure_pause_window: int = Field(default=100, ge=1)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)  # `worker` /metrics
    # Render e-mails in this many helper processes (0: in the worker itself). Rendering is the
    # costliest step; with spare cores this lets one worker keep several SMTP connections busy.
    render_processes: int = Field(default=0, ge=0, le=32)

    # Privacy: no open-tracking pixel unless switched on; department figures for fewer people
    # than this are withheld, so no one can be singled out.
    open_tracking: bool = False
    report_min_group_size: int = Field(default=5, ge=1)

    # Privacy: retention (docs/privacy.md). Per-person data of a campaign is deleted this many
    # months after the campaign ends, keeping its totals; people deactivated this long ago are
    # erased (anonymised). Both run in the nightly purge.
    event_retention_months: int = Field(default=24, ge=1, le=600)
    employee_retention_months: int = Field(default=24, ge=1, le=600)

    # Reports and xAPI
    # CSV column separator when a request names none: comma, or semicolon (with a `sep=;` line)
    # for Excel set to Swedish, where the list separator is a semicolon.
    report_csv_separator: str = Field(default="comma", pattern=r"^(comma|semicolon)$")
    # A learning record store to forward xAPI statements to; forwarding is off while empty.
    lrs_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    lrs_username: str = ""
    lrs_password: SecretStr | None = None
    lrs_batch_size: int = Field(default=200, ge=1, le=2000)
    lrs_timeout_seconds: float = Field(default=30.0, gt=0)
    lrs_max_attempts: int = Field(default=5, ge=1, le=20)  # per batch, on 5xx and lost connections
    lrs_retry_seconds: float = Field(default=2.0, ge=0)  # first backoff; doubles each attempt
    xapi_interval_seconds: float = Field(default=300.0, gt=0)
    # The account homePage of every xAPI actor, and the base of activity ids; empty: BASE_URL.
    xapi_home_page: str = Field(default="", pattern=r"^(https?://\S+)?$")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use e.g. Europe/Stockholm)") from None
        return value

    @field_validator("smtp_url")
    @classmethod
    def _valid_smtp_url(cls, value: str) -> str:
        if value:
            parse_smtp_url(value)
        return value

    @field_validator("base_url")
    @classmethod
    def _valid_base_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "BASE_URL must be an absolute http(s) URL, e.g. https://nanolearn.kommun.se"
            )
        return value.rstrip("/")

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_secret(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'nanolearn.db'}"
        if not self.smtp_url:
            self.smtp_url = self.dev_mail_url
        if not self.base_url:
            self.base_url = f"http://{self.host}:{self.port}"
        return self

    @model_validator(mode="after")
    def _valid_accounts(self) -> Settings:
        parse_accounts(self.sending_accounts, self, parse_smtp_url)  # fail at start, not later
        return self

    @property
    def accounts(self) -> list[SendingAccount]:
        """The sending accounts (read again each time: tests change settings after loading)."""
        return parse_accounts(self.sending_accounts, self, parse_smtp_url)

    @property
    def smtp(self) -> SmtpTarget:
        return parse_smtp_url(self.smtp_url)

    @property
    def dev_mail_url(self) -> str:
        return f"smtp://{DEV_SMTP_HOST}:{self.dev_mail_port}"

    @property
    def dev_mail_enabled(self) -> bool:
        """The built-in mail catcher runs only while SMTP_URL points at it."""
        return self.smtp_url == self.dev_mail_url

    @property
    def timezone_info(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def mail_domain(self) -> str:
        return self.mail_from.rsplit("@", 1)[-1].strip(" >")

    def secret(self) -> bytes:
        """The signing key: from the setting, else from data/secret_key (made on first use)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        return load_or_create_secret(self.data_dir / "secret_key")


def check_secret(value: str) -> None:
    if value.strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError(
            "SECRET_KEY is a known placeholder; generate one with: openssl rand -hex 32"
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters; "
            "generate one with: openssl rand -hex 32"
        )


def load_or_create_secret(path: Path) -> bytes:
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        check_secret(value)
        return value.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return value.encode()


@lru_cache
def get_settings() -> Settings:
    return Settings()
