"""Which dashboard role a signed-in person gets: their ID token's roles claim, mapped."""

from __future__ import annotations

from typing import Any

from app.auth.models import Role

# The strongest wins when someone is in several mapped groups.
_ORDER = (Role.admin, Role.editor, Role.reporter)


def claim_values(claims: dict[str, Any], claim: str) -> list[str]:
    """The claim's values: Entra ID sends a list ("roles", "groups"); others may send a string."""
    value = claims.get(claim)
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def role_for(claims: dict[str, Any], claim: str, role_map: dict[str, str]) -> Role | None:
    """The strongest role any of the claim's values maps to; None: no role, no session."""
    mapped = {role_map[value] for value in claim_values(claims, claim) if value in role_map}
    return next((role for role in _ORDER if role.value in mapped), None)


def display_name(claims: dict[str, Any]) -> str:
    for key in ("name", "preferred_username", "email"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""
