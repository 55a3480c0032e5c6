"""A sign-in's state, nonce and PKCE verifier between the button and the callback: a cookie
signed with the secret key, good for FLOW_LIFETIME. A callback without it, with another state,
or after it expired (a forged or replayed callback) gets no session."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from app.sso.client import Flow

FLOW_LIFETIME = timedelta(minutes=10)
_PURPOSE = b"nanolearn-oidc-flow:"


def _mac(secret: bytes, data: str) -> str:
    digest = hmac.new(secret, _PURPOSE + data.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def seal(secret: bytes, flow: Flow, now: datetime) -> str:
    expires = int((now + FLOW_LIFETIME).timestamp())
    raw = json.dumps([flow.state, flow.nonce, flow.code_verifier, expires]).encode()
    data = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{data}.{_mac(secret, data)}"


def unseal(secret: bytes, value: str | None, state: str, now: datetime) -> Flow | None:
    """The flow of this browser's sign-in if the callback's state is its own and in time."""
    if not value or len(value) > 1000 or value.count(".") != 1:
        return None
    data, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(secret, data)):
        return None
    flow_state, nonce, verifier, expires = json.loads(
        base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    )
    if expires <= now.timestamp() or not hmac.compare_digest(str(flow_state), state):
        return None
    return Flow(str(flow_state), str(nonce), str(verifier))
