"""Sending accounts: which mailboxes send, through what, with what login and limits.

One account is made from the plain settings (SMTP_URL, MAIL_TRANSPORT, SMTP_AUTH, OAUTH_*,
SMTP_RATE_*). SENDING_ACCOUNTS lists several instead, as JSON (in the variable itself, or in a
.json file it names) or as a TOML file of [[account]] tables. Each account may set:

    name                 required, letters, digits, - and _ (shown in logs and forecasts)
    transport            smtp | graph                     (default MAIL_TRANSPORT)
    smtp_url             smtp only                         (default SMTP_URL)
    smtp_auth            password | xoauth2                (default SMTP_AUTH)
    mailbox              the sending mailbox: Graph's /users/{mailbox}, the XOAUTH2 user
                         (default: the SMTP_URL user, else the From address)
    mail_from            From header, "Name <address>"     (default MAIL_FROM)
    oauth_tenant, oauth_token_url, oauth_client_id, oauth_client_secret, oauth_scope
                         (default the OAUTH_* settings: one Entra app for every mailbox)
    graph_url            (default GRAPH_URL)
    concurrency          messages in flight               (default SMTP_CONCURRENCY; Graph ≤ 4)
    rate_per_minute, rate_per_hour, rate_per_day
                         (default SMTP_RATE_PER_MINUTE, _PER_HOUR, _PER_DAY)

A mistake is reported naming the account and the field, before anything is sent.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
SMTP_SCOPE = "https://outlook.office365.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_MAX_CONCURRENCY = 4  # Graph allows 4 concurrent requests per mailbox

Transport = Literal["smtp", "graph"]
SmtpAuth = Literal["password", "xoauth2"]


class AccountsError(ValueError):
    """SENDING_ACCOUNTS (or the settings behind the one account) cannot be used."""


@dataclass(frozen=True)
class OAuthClient:
    token_url: str
    client_id: str
    client_secret: SecretStr
    scope: str

    @property
    def key(self) -> tuple[str, str, str]:
        """Accounts with the same key share one cached token."""
        return (self.token_url, self.client_id, self.scope)


@dataclass(frozen=True)
class SendingAccount:
    name: str
    transport: Transport
    mailbox: str  # the sending mailbox: Graph's /users/{mailbox}, the XOAUTH2 user
    mail_from: str  # the From header
    smtp_url: str  # smtp only
    smtp_auth: SmtpAuth
    oauth: OAuthClient | None  # XOAUTH2 and Graph
    graph_url: str
    concurrency: int
    rate_per_minute: int | None
    rate_per_hour: int | None
    rate_per_day: int | None

    @property
    def label(self) -> str:
        """Whose limits these are, never credentials: names the shared rate-limit buckets.
        Microsoft counts per mailbox, so two accounts naming one mailbox share its limits."""
        if self.transport == "graph":
            return f"graph:{self.mailbox}"[:255]
        host_port = _smtp_host_port(self.smtp_url)
        user = self.mailbox if self.smtp_auth == "xoauth2" else urlsplit(self.smtp_url).username
        return f"{host_port}/{unquote(user)}"[:255] if user else host_port


class Defaults(Protocol):
    """The plain settings an account falls back on (app.core.config.Settings)."""

    smtp_url: str
    mail_from: str
    mail_transport: str
    smtp_auth: str
    oauth_tenant: str
    oauth_token_url: str
    oauth_client_id: str
    oauth_client_secret: SecretStr | None
    oauth_scope: str
    graph_url: str
    smtp_concurrency: int
    smtp_rate_per_minute: int | None
    smtp_rate_per_hour: int | None
    smtp_rate_per_day: int | None


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    transport: Transport | None = None
    smtp_url: str | None = None
    smtp_auth: SmtpAuth | None = None
    mailbox: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    mail_from: str | None = None
    oauth_tenant: str | None = None
    oauth_token_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = None
    oauth_scope: str | None = None
    graph_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    concurrency: int | None = Field(default=None, ge=1, le=64)
    rate_per_minute: int | None = Field(default=None, ge=1)
    rate_per_hour: int | None = Field(default=None, ge=1)
    rate_per_day: int | None = Field(default=None, ge=1)


def _smtp_host_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    return f"{parts.hostname}:{port}"


def _token_url(tenant: str, token_url: str) -> str:
    if token_url:
        return token_url
    if tenant:
        return MICROSOFT_TOKEN_URL.format(tenant=tenant)
    return ""


class HasUser(Protocol):
    @property
    def username(self) -> str | None: ...

    @property
    def password(self) -> str | None: ...


# app.core.config.parse_smtp_url, passed in: the settings module builds the accounts.
SmtpUrlParser = Callable[[str], HasUser]


def resolve(
    raw: AccountIn, d: Defaults, where: str, parse_smtp_url: SmtpUrlParser
) -> SendingAccount:
    """One account with the plain settings filled in; AccountsError names what is missing."""

    def fail(field: str, problem: str) -> AccountsError:
        return AccountsError(f"{where}: {field}: {problem}")

    transport = raw.transport or d.mail_transport
    if transport not in ("smtp", "graph"):
        raise fail("transport", f"must be smtp or graph, not {transport!r}")
    smtp_url = raw.smtp_url or d.smtp_url
    auth = raw.smtp_auth or d.smtp_auth
    if auth not in ("password", "xoauth2"):
        raise fail("smtp_auth", f"must be password or xoauth2, not {auth!r}")
    mail_from = raw.mail_from or d.mail_from
    from_name, from_addr = parseaddr(mail_from)
    if "@" not in from_addr:
        raise fail("mail_from", f"{mail_from!r} has no e-mail address")
    user = ""
    if transport == "smtp":
        try:
            target = parse_smtp_url(smtp_url)
        except ValueError as exc:
            raise fail("smtp_url", str(exc)) from None
        user = target.username or ""
        if auth == "xoauth2" and target.password:
            raise fail("smtp_url", "has a password; with smtp_auth xoauth2 name only the mailbox")
    mailbox = raw.mailbox or user or from_addr
    oauth: OAuthClient | None = None
    if transport == "graph" or auth == "xoauth2":
        # The account's own token URL or tenant first, then the plain settings' (URL first).
        url = _token_url(raw.oauth_tenant or "", raw.oauth_token_url or "")
        url = url or _token_url(d.oauth_tenant, d.oauth_token_url)
        if not url:
            raise fail("oauth_tenant", "set OAUTH_TENANT (the Entra tenant id) or OAUTH_TOKEN_URL")
        client_id = raw.oauth_client_id or d.oauth_client_id
        if not client_id:
            raise fail("oauth_client_id", "missing (the application (client) id in Entra ID)")
        secret = raw.oauth_client_secret or d.oauth_client_secret
        if secret is None or not secret.get_secret_value():
            raise fail("oauth_client_secret", "missing (a client secret of the Entra app)")
        default_scope = GRAPH_SCOPE if transport == "graph" else SMTP_SCOPE
        # The plain OAUTH_SCOPE is for the plain transport; another transport keeps its own.
        scope = raw.oauth_scope or (d.oauth_scope if transport == d.mail_transport else "")
        oauth = OAuthClient(url, client_id, secret, scope or default_scope)
    concurrency = raw.concurrency or d.smtp_concurrency
    if transport == "graph":
        concurrency = min(concurrency, GRAPH_MAX_CONCURRENCY)
    return SendingAccount(
        name=raw.name,
        transport=transport,  # type: ignore[arg-type]
        mailbox=mailbox,
        mail_from=formataddr((from_name, from_addr)),
        smtp_url=smtp_url if transport == "smtp" else "",
        smtp_auth=auth,  # type: ignore[arg-type]
        oauth=oauth,
        graph_url=(raw.graph_url or d.graph_url).rstrip("/"),
        concurrency=concurrency,
        rate_per_minute=raw.rate_per_minute or d.smtp_rate_per_minute,
        rate_per_hour=raw.rate_per_hour or d.smtp_rate_per_hour,
        rate_per_day=raw.rate_per_day or d.smtp_rate_per_day,
    )


def _load(value: str) -> tuple[list[Any], str]:
    """The raw list of accounts and where it came from (for messages)."""
    text = value.strip()
    if text.startswith(("[", "{")):
        source = "SENDING_ACCOUNTS"
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AccountsError(f"{source} is not valid JSON: {exc}") from None
    else:
        path = Path(text)
        source = f"SENDING_ACCOUNTS file {path}"
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise AccountsError(
                f"{source} cannot be read ({exc.strerror}); give JSON or a .json/.toml file"
            ) from None
        try:
            if path.suffix.lower() == ".toml":
                data = tomllib.loads(content).get("account", [])
            else:
                data = json.loads(content)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise AccountsError(f"{source} cannot be parsed: {exc}") from None
    if isinstance(data, dict):
        data = data.get("accounts", data.get("account"))
    if not isinstance(data, list) or not data:
        raise AccountsError(
            f"{source} must list at least one account "
            '(JSON: [{"name": …}, …]; TOML: [[account]] tables)'
        )
    return data, source


def parse_accounts(
    value: str, defaults: Defaults, parse_smtp_url: SmtpUrlParser
) -> list[SendingAccount]:
    """The accounts SENDING_ACCOUNTS lists, or the one account of the plain settings."""
    if not value.strip():
        return [resolve(AccountIn(name="default"), defaults, "settings", parse_smtp_url)]
    data, source = _load(value)
    accounts: list[SendingAccount] = []
    for number, item in enumerate(data, start=1):
        name = item.get("name") if isinstance(item, dict) else None
        where = f"{source}, account {number}" + (f" ({name!r})" if name else "")
        if not isinstance(item, dict):
            raise AccountsError(f"{where}: must be a table of settings, not {type(item).__name__}")
        try:
            raw = AccountIn.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'account'}: {e['msg']}"
                for e in exc.errors()
            )
            raise AccountsError(f"{where}: {problems}") from None
        if any(a.name == raw.name for a in accounts):
            raise AccountsError(f"{where}: name: {raw.name!r} is used by another account")
        accounts.append(resolve(raw, defaults, where, parse_smtp_url))
    return accounts
