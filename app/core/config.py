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
# The roles OIDC_ROLE_MAP may give (app.auth.models.Role, less provisioning: that is for keys).
DASHBOARD_ROLE_NAMES = ("admin", "editor", "reporter")


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
        env_prefix="NANOLEARN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
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
    # Public pages (/l, /a, /u): requests per minute from one client address, and for one
    # e-mail's links. A workplace behind one NAT address needs people × 3 ÷ minutes in which
    # they open the e-mail (README, "Rate limits"): 2,000 people in 10 minutes ≈ 600 a minute.
    public_rate_per_address: int = Field(default=3000, ge=10)
    public_rate_per_token: int = Field(default=30, ge=5)

    # Delivery
    smtp_concurrency: int = Field(default=4, ge=1, le=64)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_rate_per_minute: int | None = Field(default=None, ge=1)
    smtp_rate_per_hour: int | None = Field(default=None, ge=1)
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

    # Failed sign-ins (wrong API keys, in the API or the dashboard's form) per client address:
    # after this many within the window the address gets 429 until enough of them have aged out.
    auth_failure_limit: int = Field(default=20, ge=1, le=100_000)
    auth_failure_window_seconds: int = Field(default=300, ge=1, le=86_400)

    # Sign-in with the municipality's accounts (OpenID Connect, e.g. Entra ID); off while
    # OIDC_ISSUER is empty. The role comes from the ID token's OIDC_ROLES_CLAIM, mapped by
    # OIDC_ROLE_MAP (JSON: claim value -> admin, editor or reporter) at every sign-in.
    oidc_issuer: str = Field(default="", pattern=r"^(https?://\S+)?$")
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = None
    oidc_roles_claim: str = "roles"
    oidc_role_map: dict[str, str] = Field(default_factory=dict)
    # Whom someone without a role should ask, shown on the refusal page, e.g. "IT-servicedesk".
    oidc_contact: str = ""

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

    @field_validator("oidc_role_map")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted({role for role in value.values() if role not in DASHBOARD_ROLE_NAMES})
        if wrong:
            raise ValueError(
                f"OIDC_ROLE_MAP maps to unknown roles {wrong}; use admin, editor or reporter"
            )
        return value

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET as well")
        return self

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
        """The sender's domain in ASCII (punycode) form: it goes into Message-IDs."""
        domain = self.mail_from.rsplit("@", 1)[-1].strip(" >")
        try:
            return domain.encode("idna").decode("ascii")
        except UnicodeError:
            return domain

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
