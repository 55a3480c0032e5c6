"""A stand-in OpenID provider on loopback: a real HTTP server with discovery, JWKS, an
authorization page (one button) and a token endpoint that checks the client secret and PKCE,
and signs real RS256 ID tokens with a key made here. `misbehave` makes the next ID token wrong
in one way: signed by another key, for another audience, with another nonce, or expired."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "nanolearn-test"
CLIENT_SECRET = "provider-test-secret"


class Provider:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now
        self.key = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig"})
        self.issuer = ""
        self.claims: dict[str, Any] = {}  # the person who signs in next
        self.misbehave: str | None = None  # signature, audience, nonce, expired
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests = 0
        self.last_redirect = ""

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def id_token(self, nonce: str) -> str:
        now = self.now()
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
            "nonce": nonce,
            **self.claims,
        }
        key = self.key
        if self.misbehave == "signature":  # same kid, another key: the signature cannot verify
            key = RSAKey.generate_key(2048, parameters={"kid": "key-1"})
        elif self.misbehave == "audience":
            claims["aud"] = "another-app"
        elif self.misbehave == "nonce":
            claims["nonce"] = "not-the-nonce-we-sent"
        elif self.misbehave == "expired":
            claims["iat"] = int((now - timedelta(hours=2)).timestamp())
            claims["exp"] = int((now - timedelta(hours=1)).timestamp())
        return jwt.encode({"alg": "RS256", "kid": "key-1"}, claims, key)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/authorize":
                assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
                assert query["code_challenge_method"] == "S256" and query.get("nonce")
                hidden = "".join(
                    f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                    for k, v in query.items()
                )
                page = (
                    '<!DOCTYPE html><html lang="sv"><title>Kommunens inloggning</title>'
                    '<h1>Kommunens inloggning</h1><form method="post" action="/authorize">'
                    f'{hidden}<button type="submit">Godkänn</button></form></html>'
                )
                self._send(200, page.encode(), "text/html; charset=utf-8")
            else:
                self._json(404, {"error": "not_found"})

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(length).decode()
            return {k: v[-1] for k, v in parse_qs(data).items()}

        def do_POST(self) -> None:
            form = self._form()
            if self.path == "/authorize":
                code = secrets.token_urlsafe(16)
                provider.codes[code] = form
                target = (
                    f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form['state']})}"
                )
                provider.last_redirect = target
                self._send(302, b"", "text/plain", {"Location": target})
            elif self.path == "/token":
                provider.token_requests += 1
                self._token(form)
            else:
                self._json(404, {"error": "not_found"})

        def _token(self, form: dict[str, str]) -> None:
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            sent_secret = form.get("client_secret") == CLIENT_SECRET
            if self.headers.get("Authorization") != f"Basic {basic}" and not sent_secret:
                self._json(401, {"error": "invalid_client"})
                return
            asked = provider.codes.pop(form.get("code", ""), None)  # a code works once
            if (
                asked is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != asked["redirect_uri"]
                or _s256(form.get("code_verifier", "")) != asked["code_challenge"]
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            token = provider.id_token(asked["nonce"])
            self._json(200, {"access_token": "at", "token_type": "Bearer", "id_token": token})

    return Handler


@contextmanager
def running_provider(now: Callable[[], datetime]) -> Iterator[Provider]:
    provider = Provider(now)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
