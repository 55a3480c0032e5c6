"""Bearer API keys and roles as dependencies: `AdminKey`, `EditorKey`, `ReaderKey`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.models import ApiKey, Role
from app.auth.service import authenticate
from app.auth.throttle import auth_throttle
from app.core.deps import ClockDep, SessionDep, client_address
from app.core.i18n import Text

_bearer = HTTPBearer(auto_error=False, description="An API key: nanolearn apikey create")


def current_key(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None:
        raise HTTPException(
            401,
            Text(
                "Skicka en API-nyckel som 'Authorization: Bearer <nyckel>' "
                "(skapa en med: nanolearn apikey create).",
                "Send an API key as 'Authorization: Bearer <key>' "
                "(create one: nanolearn apikey create)",
            ),
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle, address, now = auth_throttle(request), client_address(request), clock.now()
    wait = throttle.retry_after("api", address, now)
    if wait is not None:
        raise HTTPException(
            429,
            Text(
                f"För många felaktiga API-nycklar från din adress. Försök igen om {wait} sekunder.",
                f"Too many wrong API keys from your address; try again in {wait} seconds",
            ),
            headers={"Retry-After": str(wait)},
        )
    key = authenticate(session, credentials.credentials, now)
    if key is None:
        throttle.failed("api", address, credentials.credentials, now)
        raise HTTPException(
            401,
            Text(
                "Nyckeln är okänd eller återkallad. Be en administratör om en ny: "
                "nanolearn apikey create",
                "Unknown or revoked API key",
            ),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key


def require_role(*roles: Role) -> Callable[[ApiKey], ApiKey]:
    allowed = set(roles)

    def check(key: Annotated[ApiKey, Depends(current_key)]) -> ApiKey:
        if key.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise HTTPException(
                403,
                Text(
                    f"Det här kräver någon av rollerna {names}; din nyckel har rollen {key.role}.",
                    f"This needs one of the roles: {names}; your key is {key.role}",
                ),
            )
        return key

    check.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the route-role test
    return check


AdminKey = Annotated[ApiKey, Depends(require_role(Role.admin))]
EditorKey = Annotated[ApiKey, Depends(require_role(Role.admin, Role.editor))]
ReaderKey = Annotated[ApiKey, Depends(require_role(Role.admin, Role.editor, Role.reporter))]
# The identity provider's provisioning service: /scim/v2 and nothing else, and only it there.
ProvisioningKey = Annotated[ApiKey, Depends(require_role(Role.provisioning))]
