"""The envelope sender of each e-mail (VERP): BOUNCE_ADDRESS with the delivery's signed tag, so
a bounce names its e-mail even when it quotes nothing of it.

    bounces@utskick.kommun.se  ->  bounces+1234-5f0c…@utskick.kommun.se
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.tokens import bounce_tag, verify_bounce_tag


def envelope_sender(bounce_address: str, secret: bytes, delivery_id: int) -> str:
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{bounce_tag(secret, delivery_id)}@{domain}"


@dataclass(frozen=True)
class Tagged:
    """An address of the form local+tag@domain of our BOUNCE_ADDRESS: `delivery_id` is None
    when its tag does not verify (a forgery, or a tag from another secret)."""

    delivery_id: int | None


def read_tag(bounce_address: str, secret: bytes, address: str) -> Tagged | None:
    """None when `address` is not one of our tagged bounce addresses at all."""
    local, _, domain = bounce_address.lower().rpartition("@")
    their_local, _, their_domain = address.strip().strip("<>").lower().rpartition("@")
    if their_domain != domain or not their_local.startswith(local + "+"):
        return None
    return Tagged(verify_bounce_tag(secret, their_local[len(local) + 1 :]))
