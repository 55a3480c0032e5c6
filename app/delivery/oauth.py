"""Access tokens for sending: OAuth 2.0 client credentials (Entra ID or any OAuth 2.0 server).

A `TokenSource` asks the token endpoint through Authlib's httpx client, keeps the token, and asks
again shortly before it expires (by the runtime's clock) or when the relay or Graph says the
token it was given is no longer good (`invalidate`). Concurrent senders wait for one request.

A token endpoint that refuses our client (wrong secret, unknown app or tenant, no permission)
raises `TokenRefused` with advice for a project leader; a missing answer raises
`TokenUnavailable` (a ConnectionError: try again later). Tokens and secrets are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from app.core.accounts import OAuthClient
from app.core.clock import Clock

with warnings.catch_warnings():
    # Authlib would rather use httpx2; the httpx it falls back on is the one this project uses.
    # Its own module sets an "always" filter on import, so ours goes in after it.
    from authlib.deprecate import AuthlibDeprecationWarning

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

log = logging.getLogger(__name__)

# Ask for a new token this long before the old one expires (at most half its lifetime).
REFRESH_BEFORE = timedelta(minutes=5)
DEFAULT_LIFETIME = timedelta(minutes=60)  # when the endpoint does not say (expires_in)


class TokenRefused(Exception):
    """The token endpoint refuses our client: nothing is sent until the settings are fixed."""

    def __init__(self, message: str, advice: str) -> None:
        super().__init__(message)
        self.advice = advice


class TokenUnavailable(ConnectionError):
    """No token now (endpoint down, timeout, 5xx): try again later."""


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: datetime


def who(account: str) -> str:
    """The sending account as a pause reason names it."""
    return "Avsändarkontot" if account == "default" else f"Kontot {account!r}"


def advice_for(error: str, description: str, account: str) -> str:
    """What a project leader does about a refusal from the token endpoint (Entra ID's words)."""
    text = f"{error} {description}"
    who_ = who(account)
    if "AADSTS90002" in text or "AADSTS900023" in text:
        return (
            f"{who_}: Microsoft känner inte igen organisationen (OAUTH_TENANT). Be IT-avdelningen "
            "om rätt klient-id för organisationen (tenant), rätta inställningen och återuppta "
            "kampanjen."
        )
    if error == "invalid_client" or "AADSTS7000215" in text or "AADSTS7000222" in text:
        return (
            f"{who_}: Microsoft 365 godtar inte appens inloggning. Klienthemligheten "
            "(OAUTH_CLIENT_SECRET) är fel eller har gått ut, eller så stämmer inte app-id:t "
            "(OAUTH_CLIENT_ID). Be IT-avdelningen skapa en ny klienthemlighet för appen i "
            "Entra ID, lägg in den och återuppta kampanjen."
        )
    if error in ("unauthorized_client", "invalid_scope", "invalid_grant") or "AADSTS700016" in text:
        return (
            f"{who_}: appen får inte hämta en nyckel för att skicka e-post ({error}). Be "
            "IT-avdelningen kontrollera appregistreringen i Entra ID (app-id, behörigheten och "
            "administratörens godkännande), rätta inställningarna och återuppta kampanjen."
        )
    return (
        f"{who_}: inloggningstjänsten vägrar ({error}). Be IT-avdelningen kontrollera "
        "OAUTH-inställningarna och appregistreringen, och återuppta sedan kampanjen."
    )


class TokenSource:
    """One OAuth client's current token, shared by every connection that needs it."""

    def __init__(
        self,
        client: OAuthClient,
        clock: Clock,
        *,
        account: str,
        timeout: float = 30.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.account = account
        self.timeout = timeout
        self.tls = tls
        self.fetches = 0  # how many tokens were asked for (tests, metrics)
        self._token: _Token | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def _get_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _fresh(self) -> str | None:
        token = self._token
        if token is not None and self.clock.now() < token.refresh_at:
            return token.value
        return None

    async def token(self) -> str:
        """A token good for a while yet; asks the endpoint when none is."""
        value = self._fresh()
        if value is not None:
            return value
        async with self._get_lock():
            value = self._fresh()  # another sender may have fetched it meanwhile
            if value is None:
                value = await self._fetch()
            return value

    def invalidate(self, value: str) -> None:
        """The relay or Graph rejected `value` (expired, revoked): the next call asks again."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch(self) -> str:
        c = self.client
        asked_at = self.clock.now()
        verify: ssl.SSLContext | bool = self.tls if self.tls is not None else True
        try:
            async with AsyncOAuth2Client(
                client_id=c.client_id,
                client_secret=c.client_secret.get_secret_value(),
                token_endpoint_auth_method="client_secret_post",  # as Entra ID documents it
                scope=c.scope,
                timeout=self.timeout,
                verify=verify,
            ) as oauth:
                answer = await oauth.fetch_token(c.token_url, grant_type="client_credentials")
        except OAuthError as exc:
            error, description = str(exc.error), str(exc.description or "")
            log.warning(
                "account %s: the token endpoint refused the client: %s", self.account, error
            )
            raise TokenRefused(
                f"token endpoint refused the client: {error} {description}"[:500],
                advice_for(error, description, self.account),
            ) from None
        except (httpx.HTTPError, ValueError) as exc:
            # 5xx, timeouts, a gateway's HTML page: Authlib raises httpx's errors or ValueError.
            raise TokenUnavailable(f"token endpoint unavailable: {type(exc).__name__}") from None
        value = answer.get("access_token")
        if not isinstance(value, str) or not value:
            raise TokenUnavailable("token endpoint answered without an access_token")
        try:
            lifetime = timedelta(seconds=int(answer.get("expires_in") or 0)) or DEFAULT_LIFETIME
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        margin = min(REFRESH_BEFORE, lifetime / 2)
        self._token = _Token(value, asked_at + lifetime - margin)
        self.fetches += 1
        log.info(
            "account %s: new access token, valid %d s", self.account, int(lifetime.total_seconds())
        )
        return value
