"""Stand-ins for Microsoft 365 on loopback: an OAuth 2.0 token endpoint, an SMTP relay that only
takes XOAUTH2 with a currently valid token (after STARTTLS), and a Graph sendMail endpoint.

Real servers in threads (http.server, aiosmtpd), so the product talks to them exactly as to
Entra ID and Exchange Online. Tokens are judged by the clock the test hands in (a FakeClock, or
the system clock for a worker in another process).
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import secrets
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.delivery.faulty_smtp import message_id_of
from tests.smtp_server import free_port

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "hemlig~klient.nyckel"
OUTLOOK = "https://outlook.office365.com/.default"
GRAPH = "https://graph.microsoft.com/.default"


class Clock(Protocol):
    def now(self) -> datetime: ...


def _serve(handler: type[BaseHTTPRequestHandler], owner: Any) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.owner = owner  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _TokenHandler(_Quiet):
    def do_POST(self) -> None:
        owner: TokenServer = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        status, body = owner.grant(form)
        self._json(status, body)


@dataclass
class TokenServer:
    """POST /{tenant}/oauth2/v2.0/token with client credentials, as Entra ID answers it."""

    clock: Clock
    lifetime: timedelta = timedelta(hours=1)
    secret: str = CLIENT_SECRET
    tokens: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    scopes_asked: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> TokenServer:
        self.server, self.port = _serve(_TokenHandler, self)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/kommun.example/oauth2/v2.0/token"

    @property
    def fetches(self) -> int:
        with self.lock:
            return len(self.scopes_asked)

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != self.secret:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.scopes_asked.append(form.get("scope", ""))
            self.tokens[token] = (self.clock.now() + self.lifetime, form.get("scope", ""))
        seconds = int(self.lifetime.total_seconds())
        return 200, {"token_type": "Bearer", "expires_in": seconds, "access_token": token}

    def valid(self, token: str, scope: str) -> bool:
        with self.lock:
            expires, granted = self.tokens.get(token, (None, ""))
        return expires is not None and self.clock.now() < expires and granted == scope

    def expire_all(self) -> None:
        """Every token issued so far stops working now (revoked, or the server's clock ran
        ahead): the client still believes in its own."""
        with self.lock:
            self.tokens = {t: (self.clock.now(), s) for t, (_, s) in self.tokens.items()}

    def revoke_client(self) -> None:
        """The client secret was deleted in Entra ID: no more tokens, the old ones stop."""
        self.secret = "rotated-" + secrets.token_hex(4)
        self.expire_all()


# --- SMTP: XOAUTH2 only, after STARTTLS ---------------------------------------------------


@dataclass
class XoauthHandler:
    tokens: TokenServer
    mailboxes: set[str]  # mailboxes the app may send as
    received: list[tuple[str, str, bytes]] = field(default_factory=list)  # (login, rcpt, raw)
    rejected: int = 0  # AUTH attempts refused
    on_message: Any = None  # called after each accepted message (to move a fake clock)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        blob = base64.b64decode(args[1]) if len(args) > 1 else b""
        parts = dict(p.split("=", 1) for p in blob.decode().split("\x01") if "=" in p)
        user, bearer = parts.get("user", ""), parts.get("auth", "")
        token = bearer.removeprefix("Bearer ")
        if self.tokens.valid(token, OUTLOOK) and user in self.mailboxes:
            return AuthResult(success=True, auth_data=user)
        with self.lock:
            self.rejected += 1
        # Exchange Online's answer to an expired token and to a missing permission alike.
        return AuthResult(
            success=False, handled=False, message="535 5.7.3 Authentication unsuccessful"
        )

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        assert server.transport.get_extra_info("cipher") is not None, "AUTH without TLS"
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((str(session.auth_data), rcpt, bytes(envelope.content)))
        if self.on_message is not None:
            self.on_message()
        return "250 2.6.0 Queued mail for delivery"


class XoauthRelay:
    """Like smtp.office365.com:587: EHLO, STARTTLS, EHLO, AUTH XOAUTH2, nothing else."""

    def __init__(self, cert: Path, key: Path, handler: XoauthHandler) -> None:
        self.handler, self.port = handler, free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            auth_exclude_mechanism=["LOGIN", "PLAIN"],
        )

    def url(self, mailbox: str) -> str:
        return f"smtp://{quote(mailbox, safe='')}@127.0.0.1:{self.port}?starttls=true"

    def start(self) -> XoauthRelay:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


# --- Graph sendMail -----------------------------------------------------------------------


def _message_id(body: bytes) -> str:
    try:
        return message_id_of(base64.b64decode(body, validate=True))
    except (ValueError, AssertionError):
        return ""


class _GraphHandler(_Quiet):
    def do_POST(self) -> None:
        owner: GraphServer = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if len(body) < length:
            # The sender died mid-request (the crash test's SIGKILL): as a real server would,
            # drop the half-sent request instead of judging it.
            self.close_connection = True
            return
        status, answer, headers = owner.handle(self.path, dict(self.headers), body)
        self._json(status, answer, headers)


@dataclass
class GraphServer:
    """POST /v1.0/users/{mailbox}/sendMail with base64 MIME; 429 with Retry-After now and then."""

    tokens: TokenServer
    mailboxes: set[str]
    throttle_every: int = 0  # answer every Nth request with 429 (0: never)
    retry_after: str = "1"
    work_seconds: float = 0.01  # each request takes this long, so requests overlap
    ids: list[tuple[str, str]] = field(default_factory=list)  # (mailbox, Message-ID)
    recipients: list[str] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    most_in_flight: int = 0
    requests: int = 0
    throttled: int = 0
    # Requests that came before a Retry-After had passed: the throttled e-mail itself, or any
    # other more than 100 ms after the 429 left (earlier ones may have been on their way).
    too_early: int = 0
    _retry_not_before: dict[str, float] = field(default_factory=dict)  # Message-ID -> time
    unauthorized: int = 0
    problems: list[str] = field(default_factory=list)
    _resume_at: dict[str, tuple[float, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> GraphServer:
        self.server, self.port = _serve(_GraphHandler, self)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1.0"

    def count(self) -> int:
        with self.lock:
            return len(self.ids)

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(mid for _, mid in self.ids)

    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        prefix, suffix = "/v1.0/users/", "/sendMail"
        if not (path.startswith(prefix) and path.endswith(suffix)):
            return 404, {"error": {"code": "ResourceNotFound", "message": "no such path"}}, {}
        mailbox = unquote(path[len(prefix) : -len(suffix)])
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        if not self.tokens.valid(token, GRAPH):
            with self.lock:
                self.unauthorized += 1
            error = {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}
            return 401, {"error": error}, {}
        if mailbox not in self.mailboxes:
            error = {"code": "ErrorAccessDenied", "message": "Access is denied."}
            return 403, {"error": error}, {}
        with self.lock:
            self.requests += 1
            now = time.monotonic()
            told_at, resume_at = self._resume_at.get(mailbox, (0.0, 0.0))
            mid = _message_id(body)
            if told_at + 0.1 < now < resume_at or now < self._retry_not_before.get(mid, 0.0):
                self.too_early += 1
            self.in_flight[mailbox] += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight[mailbox])
            throttle = self.throttle_every and self.requests % self.throttle_every == 0
        try:
            time.sleep(self.work_seconds)
            if throttle:
                with self.lock:
                    self.throttled += 1
                    told = time.monotonic()
                    self._resume_at[mailbox] = (told, told + float(self.retry_after))
                    self._retry_not_before[mid] = told + float(self.retry_after)
                error = {"code": "ApplicationThrottled", "message": "Too many requests."}
                return 429, {"error": error}, {"Retry-After": self.retry_after}
            if headers.get("Content-Type") != "text/plain":
                self.problems.append(f"Content-Type {headers.get('Content-Type')}")
                return 400, {"error": {"code": "ErrorMimeContentInvalid", "message": "?"}}, {}
            raw = base64.b64decode(body, validate=True)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            if not message["To"] or not message["From"]:
                self.problems.append("MIME without To or From")
            with self.lock:
                self.ids.append((mailbox, message_id_of(raw)))
                self.recipients.append(str(message["To"]))
            return 202, None, {}
        finally:
            with self.lock:
                self.in_flight[mailbox] -= 1
