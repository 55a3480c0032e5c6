"""The OpenID Connect client: authorization code with PKCE, state and nonce (Authlib), and the
ID token checked against the provider's keys (joserfc): signature, issuer, audience, expiry,
nonce. The provider's metadata comes from OIDC_ISSUER/.well-known/openid-configuration and its
keys from jwks_uri; both are cached, and the keys are fetched again once for an unknown key id
(the provider rotated them)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from app.core.config import Settings

# Clocks drift a little between the provider and us; an ID token is good for minutes anyway.
LEEWAY_SECONDS = 60
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256"]
TIMEOUT_SECONDS = 10.0
MAX_DOCUMENT_BYTES = 512 * 1024


class SignInError(Exception):
    """The sign-in could not be completed; `reason` is for the log, never shown or with secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Flow:
    """What one sign-in must bring back: kept in a signed cookie until the callback."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def new(cls) -> Flow:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))


class OidcClient:
    def __init__(self, issuer: str, client_id: str, client_secret: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcClient | None:
        if not settings.oidc_issuer or settings.oidc_client_secret is None:
            return None
        secret = settings.oidc_client_secret.get_secret_value()
        return cls(settings.oidc_issuer, settings.oidc_client_id, secret)

    def _oauth(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._secret,
            scope="openid profile email",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT_SECONDS,
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
                response = await http.get(url)
        except httpx2.HTTPError as exc:
            raise SignInError(f"provider unreachable: {type(exc).__name__}") from None
        if response.status_code != 200 or len(response.content) > MAX_DOCUMENT_BYTES:
            raise SignInError(f"provider answered {response.status_code} for its metadata or keys")
        try:
            body = response.json()
        except ValueError:
            raise SignInError("provider metadata or keys are not JSON") from None
        if not isinstance(body, dict):
            raise SignInError("provider metadata or keys are not a JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            found = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise SignInError("the discovery document names another issuer")
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(name), str):
                    raise SignInError(f"the discovery document has no {name}")
            self._metadata = found
        return self._metadata

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            document = await self._get_json((await self.metadata())["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError):
                raise SignInError("the provider's keys cannot be read") from None
        return self._keys

    async def authorization_url(self, redirect_uri: str, flow: Flow) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        async with self._oauth(redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                endpoint, state=flow.state, code_verifier=flow.code_verifier, nonce=flow.nonce
            )
        return str(url)

    async def sign_in(
        self, code: str, redirect_uri: str, flow: Flow, now: datetime
    ) -> dict[str, Any]:
        """Trade the code for tokens and return the ID token's checked claims."""
        endpoint = (await self.metadata())["token_endpoint"]
        try:
            async with self._oauth(redirect_uri) as oauth:
                token = await oauth.fetch_token(
                    endpoint, code=code, code_verifier=flow.code_verifier, state=flow.state
                )
        except Exception as exc:  # the provider refused the code, or answered nonsense
            raise SignInError(f"token request failed: {type(exc).__name__}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInError("the token answer has no ID token")
        return await self.check_id_token(id_token, flow.nonce, now)

    async def check_id_token(self, id_token: str, nonce: str, now: datetime) -> dict[str, Any]:
        try:
            decoded = await self._decode(id_token)
            registry = jwt.JWTClaimsRegistry(
                now=int(now.timestamp()),
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise SignInError(f"ID token refused: {exc.error}") from None
        audience = decoded.claims["aud"]
        several = isinstance(audience, list) and len(audience) > 1
        if several and decoded.claims.get("azp") != self.client_id:
            raise SignInError("ID token refused: azp is not this client")
        return dict(decoded.claims)

    async def _decode(self, id_token: str) -> jwt.Token:
        try:
            return jwt.decode(id_token, await self._key_set(), algorithms=ALGORITHMS)
        except InvalidKeyIdError:  # no key with the token's kid: the provider may have rotated
            return jwt.decode(id_token, await self._key_set(refresh=True), algorithms=ALGORITHMS)
