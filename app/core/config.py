"""Settings from the environment (prefix NANOLEARN_) and an optional .env file."""

from __future__ import annotations

import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.accounts import GRAPH_URL, SendingAccount, parse_accounts
from app.core.mail_urls import ImapTarget, SmtpTarget, parse_imap_url, parse_smtp_url
from app.core.uploads import MB, UploadLimits

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
    base_url: str = ""  # empty: http://HOST:PORT as served, right for a local run
    # Allow a BASE_URL that only this machine can open (localhost, 0.0.0.0) while listening
    # beyond it: `serve` and `worker` refuse to start with one otherwise (see base_url_problem).
    allow_local_base_url: bool = False
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
    # CSV column separator when a request names none: "auto" (the reader's language decides:
    # semicolon for Swedish, Danish, German …, comma for English; semicolon with none known),
    # or always comma, or always semicolon.
    report_csv_separator: str = Field(default="auto", pattern=r"^(auto|comma|semicolon)$")
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

    # Bounces (README, "Bounces"). BOUNCE_ADDRESS (e.g. bounces@utskick.kommun.se) turns on a
    # signed envelope sender per e-mail, bounces+<delivery tag>@…; without it bounces are matched
    # by the Message-ID they quote. They are read from an IMAP mailbox (imaps://user:pass@host
    # /folder) polled every BOUNCE_IMAP_INTERVAL_SECONDS, or received by an SMTP listener on
    # BOUNCE_SMTP_LISTEN (host:port) for deployments that point an MX at Nanolearn.
    bounce_address: str = Field(default="", pattern=r"^([^@\s+]+@[^@\s]+)?$")
    bounce_imap_url: str = ""
    bounce_imap_done_folder: str = Field(default="Nanolearn", min_length=1, max_length=200)
    bounce_imap_interval_seconds: float = Field(default=300.0, gt=0)
    bounce_imap_ca_file: Path | None = None  # CA bundle for a mailbox with an internal certificate
    bounce_smtp_listen: str = Field(default="", pattern=r"^(\S+:\d{1,5})?$")
    # A person is marked undeliverable after one hard bounce or this many soft ones.
    bounce_soft_limit: int = Field(default=3, ge=1, le=100)
    bounce_max_kb: int = Field(default=1024, ge=16, le=50_000)  # larger messages are refused

    # DKIM signing, for a relay that does not sign: all three, or none.
    dkim_selector: str = ""
    dkim_domain: str = ""
    dkim_key_file: Path | None = None

    _base_url_is_default: bool = PrivateAttr(default=False)
    # Uploads (staff lists): at most this many rows under the header, and at most this many MB
    # unpacked from an .xlsx (a ZIP) — the 20 MB upload limit counts packed bytes only.
    import_max_rows: int = Field(default=100_000, ge=1, le=1_000_000)
    import_max_unpacked_mb: int = Field(default=200, ge=1, le=2_000)

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

    @field_validator("bounce_imap_url")
    @classmethod
    def _valid_imap_url(cls, value: str) -> str:
        if value:
            parse_imap_url(value)
        return value

    @model_validator(mode="after")
    def _dkim_complete(self) -> Settings:
        given = [bool(self.dkim_selector), bool(self.dkim_domain), self.dkim_key_file is not None]
        if any(given) and not all(given):
            raise ValueError("DKIM needs all of DKIM_SELECTOR, DKIM_DOMAIN and DKIM_KEY_FILE")
        return self

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
            self.base_url = listen_url(self.host, self.port)
            self._base_url_is_default = True
        return self

    def serving(self, host: str | None = None, port: int | None = None) -> Settings:
        """These settings for a server on HOST:PORT (`serve --host --port`): a BASE_URL that
        was not set follows the address actually served."""
        changes: dict[str, object] = {"host": host or self.host, "port": port or self.port}
        if self._base_url_is_default:
            changes["base_url"] = listen_url(str(changes["host"]), int(str(changes["port"])))
        return self.model_copy(update=changes)

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
    def bounce_imap(self) -> ImapTarget | None:
        return parse_imap_url(self.bounce_imap_url) if self.bounce_imap_url else None

    @property
    def dev_mail_url(self) -> str:
        return f"smtp://{DEV_SMTP_HOST}:{self.dev_mail_port}"

    @property
    def dev_mail_enabled(self) -> bool:
        """The built-in mail catcher runs only while SMTP_URL points at it."""
        return self.smtp_url == self.dev_mail_url

    @property
    def upload_limits(self) -> UploadLimits:
        return UploadLimits(
            max_rows=self.import_max_rows, max_unpacked_bytes=self.import_max_unpacked_mb * MB
        )

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


def listen_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """localhost, 127.x.x.x or ::1: this machine only."""
    ip = _ip(host)
    if ip is None:
        return host.lower() == "localhost"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack socket
    return ip.is_loopback


def base_url_problem(settings: Settings) -> str | None:
    """Why the links in the e-mails could not be opened by their recipients, or None.

    0.0.0.0 and :: mean "every interface" and are no address to visit; localhost and 127.x are
    the reader's own computer, which is wrong once the service listens beyond this machine.
    NANOLEARN_ALLOW_LOCAL_BASE_URL=true accepts either, for a test on one machine."""
    if settings.allow_local_base_url:
        return None
    host = urlsplit(settings.base_url).hostname or ""
    ip = _ip(host)
    if ip is not None and ip.is_unspecified:
        sv = f"{host} betyder ”alla nätverkskort” och är ingen adress som går att besöka"
        en = f"{host} means 'every network interface' and is no address anyone can visit"
    elif is_loopback(host) and not is_loopback(settings.host):
        sv = (
            f"{host} är mottagarens egen dator, men Nanolearn lyssnar på {settings.host} "
            "för andra datorer"
        )
        en = (
            f"{host} is the reader's own computer, but Nanolearn listens on {settings.host} "
            "for other machines"
        )
    else:
        return None
    return (
        f"Länkarna i e-posten skulle gå till {settings.base_url}, som ingen mottagare kan öppna: "
        f"{sv}. Sätt NANOLEARN_BASE_URL till adressen personalen når Nanolearn på (t.ex. "
        "https://nanolearn.kommun.se), eller NANOLEARN_ALLOW_LOCAL_BASE_URL=true om bara den "
        "här datorn ska öppna länkarna.\n"
        f"The links in the e-mails would point at {settings.base_url}, which no recipient can "
        f"open: {en}. Set NANOLEARN_BASE_URL to the address staff reach Nanolearn at (e.g. "
        "https://nanolearn.kommun.se), or NANOLEARN_ALLOW_LOCAL_BASE_URL=true if only this "
        "machine will open the links."
    )


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
