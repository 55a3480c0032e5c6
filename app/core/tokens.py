"""Signed link tokens: each e-mail's links carry its delivery id and an HMAC of it."""

from __future__ import annotations

import base64
import hashlib
import hmac

_PURPOSE = b"nanolearn-delivery:"
_MAC_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, delivery_id: int) -> bytes:
    message = _PURPOSE + str(delivery_id).encode()
    return hmac.digest(secret, message, hashlib.sha256)[:_MAC_BYTES]  # one call into OpenSSL


def _id_bytes(delivery_id: int) -> bytes:
    return delivery_id.to_bytes((delivery_id.bit_length() + 7) // 8 or 1, "big")


def sign_delivery(secret: bytes, delivery_id: int) -> str:
    return f"{_b64(_id_bytes(delivery_id))}.{_b64(_mac(secret, delivery_id))}"


def verify_delivery(secret: bytes, token: str) -> int | None:
    """The delivery id when the token is genuine, else None (no detail: it is all a 404)."""
    if len(token) > 64 or token.count(".") != 1:
        return None
    id_part, mac_part = token.split(".")
    try:
        id_bytes, mac = _unb64(id_part), _unb64(mac_part)
    except (ValueError, TypeError):
        return None
    if not id_bytes or len(id_bytes) > 8:
        return None
    delivery_id = int.from_bytes(id_bytes, "big")
    if not hmac.compare_digest(mac, _mac(secret, delivery_id)):
        return None
    # Reject non-canonical encodings so one delivery has exactly one token (the MAC is the
    # one just checked: the canonical token is the same two parts, encoded afresh).
    if f"{_b64(_id_bytes(delivery_id))}.{_b64(mac)}" != token:
        return None
    return delivery_id


# A test-send's links: a distinct kind, so the public pages can say "this was a test" instead
# of "this link does not work", and never mistake one for an employee's e-mail.
_TEST_PURPOSE = b"nanolearn-test-send:"
TEST_PREFIX = "test."


def _test_mac(secret: bytes, campaign_id: int) -> bytes:
    message = _TEST_PURPOSE + str(campaign_id).encode()
    return hmac.digest(secret, message, hashlib.sha256)[:_MAC_BYTES]


def sign_test(secret: bytes, campaign_id: int) -> str:
    """The token in a test-send's links: `test.<campaign id>.<mac>`."""
    id_bytes = campaign_id.to_bytes((campaign_id.bit_length() + 7) // 8 or 1, "big")
    return f"{TEST_PREFIX}{_b64(id_bytes)}.{_b64(_test_mac(secret, campaign_id))}"


def verify_test(secret: bytes, token: str) -> int | None:
    """The campaign id of a genuine test-send token, else None."""
    if len(token) > 64 or not token.startswith(TEST_PREFIX) or token.count(".") != 2:
        return None
    id_part = token[len(TEST_PREFIX) :].split(".")[0]
    try:
        id_bytes = _unb64(id_part)
    except (ValueError, TypeError):
        return None
    if not id_bytes or len(id_bytes) > 8:
        return None
    campaign_id = int.from_bytes(id_bytes, "big")
    if not hmac.compare_digest(token, sign_test(secret, campaign_id)):
        return None
    return campaign_id


def message_id(secret: bytes, delivery_id: int, domain: str) -> str:
    """Deterministic Message-ID: a re-send after a crash carries the same one."""
    tag = _b64(hmac.new(secret, b"message-id:%d" % delivery_id, hashlib.sha256).digest()[:9])
    return f"<nl.{delivery_id}.{tag}@{domain}>"


def bounce_tag(secret: bytes, delivery_id: int) -> str:
    """The delivery in an envelope sender (VERP): digits and lower-case hex only, so a relay
    that changes the case of the local part cannot spoil it."""
    mac = hmac.new(secret, b"bounce:%d" % delivery_id, hashlib.sha256).hexdigest()[:20]
    return f"{delivery_id}-{mac}"


def verify_bounce_tag(secret: bytes, tag: str) -> int | None:
    """The delivery id when the tag is genuine, else None."""
    tag = tag.lower()
    number, _, _mac = tag.partition("-")
    if len(tag) > 48 or not number.isdigit() or len(number) > 19 or number != str(int(number)):
        return None
    delivery_id = int(number)
    return delivery_id if hmac.compare_digest(bounce_tag(secret, delivery_id), tag) else None


def verify_message_id(secret: bytes, value: str) -> int | None:
    """The delivery id of one of our Message-IDs (<nl.ID.TAG@domain>), else None."""
    value = value.strip()
    if len(value) > 300 or not value.startswith("<nl.") or "@" not in value:
        return None
    number, _, rest = value[4:].partition(".")
    if not number.isdigit() or len(number) > 19:
        return None
    delivery_id = int(number)
    domain = rest.partition("@")[2].rstrip(">")
    expected = message_id(secret, delivery_id, domain)
    return delivery_id if hmac.compare_digest(expected.encode(), value.encode()) else None
