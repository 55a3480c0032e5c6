"""SCIM 2.0 under /scim/v2, as Entra ID's provisioning service speaks it (RFC 7643, 7644).

Users only: create (or adopt the staff-list record with the same address), read by id, list
with `filter=userName eq "…"` or `externalId eq "…"` and paging, replace (PUT), PATCH (add,
replace, remove; Entra's `Replace` and `"False"` are understood by scim2-models), and DELETE,
which deactivates. Every write goes through app.employees (the same checks and audit log as the
admin API); the caller is an API key of the role `provisioning`, which may call nothing else.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from scim2_models import (
    Context,
    InvalidFilterException,
    InvalidSyntaxException,
    ListResponse,
    PatchOp,
    PayloadTooLargeException,
    ResourceType,
    ResponseParameters,
    Schema,
    SearchRequest,
)
from sqlalchemy.orm import Session

from app.auth.deps import ProvisioningKey
from app.core.deps import ClockDep, SessionDep, SettingsDep
from app.employees.provisioned import (
    list_managed,
    managed_person,
    provision,
    replace_person,
    unprovision,
)
from app.scim import discovery
from app.scim.errors import SCIM_JSON, ScimResponse, ScimRoute, scim_error
from app.scim.mapping import ScimUser, from_scim, to_scim

MAX_BODY = 256 * 1024  # one person, or a PATCH of a few attributes: far less than this
JSON_TYPES = ("application/scim+json", "application/json")
# The filters Entra ID sends; anything else is answered 400 invalidFilter.
_FILTER = re.compile(r'^\s*(userName|externalId)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$', re.IGNORECASE)

# Not in /openapi.json: SCIM describes itself (/ServiceProviderConfig, /Schemas), and the admin
# API's schema and its fuzz test are for admin keys, which may not call SCIM.
router = APIRouter(prefix="/scim/v2", route_class=ScimRoute, include_in_schema=False)
UserId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The SCIM id: the employee id.")]


async def scim_body(request: Request, _: ProvisioningKey) -> dict[str, Any]:
    """The JSON object of the request, read up to MAX_BODY; anything else is 400 or 413. The
    key is checked first: nobody without one makes us read a body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind not in JSON_TYPES:
        raise _syntax(f"Send the body as {SCIM_JSON}, not {kind[:60]}.")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise _too_large()
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _syntax(f"The body is not JSON: {type(exc).__name__}.") from None
    if not isinstance(body, dict):
        raise _syntax("The body must be a JSON object.")
    return body


def _syntax(detail: str) -> Exception:
    return InvalidSyntaxException(detail=detail)


def _too_large() -> Exception:
    return PayloadTooLargeException(detail=f"The body is larger than {MAX_BODY // 1024} KiB.")


Body = Annotated[dict[str, Any], Depends(scim_body)]


Shown = ResponseParameters[ScimUser]


def response_parameters(
    attributes: Annotated[str | None, Query(max_length=1000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=1000)] = None,
) -> Shown:
    """`attributes` and `excludedAttributes`: which attributes an answer carries."""
    return Shown.model_validate({"attributes": attributes, "excludedAttributes": excluded})


Params = Annotated[Shown, Depends(response_parameters)]


def _user(
    employee: Any, base_url: str, status: int = 200, shown: Shown | None = None
) -> ScimResponse:
    user = to_scim(employee, base_url)
    context = (
        Context.RESOURCE_CREATION_RESPONSE if status == 201 else Context.RESOURCE_QUERY_RESPONSE
    )
    body = user.model_dump(scim_ctx=context, response_parameters=shown)
    response = ScimResponse(body, status_code=status)
    if status == 201 and user.meta is not None and user.meta.location:
        response.headers["Location"] = str(user.meta.location)
    return response


def _not_found(user_id: int) -> ScimResponse:
    return scim_error(404, f"No User with id {user_id}.")


@router.get("/ServiceProviderConfig")
def service_provider_config(_: ProvisioningKey, settings: SettingsDep) -> ScimResponse:
    return ScimResponse(discovery.service_provider_config(settings.base_url))


@router.get("/ResourceTypes")
def resource_types(_: ProvisioningKey, settings: SettingsDep) -> ScimResponse:
    return ScimResponse(
        discovery.listing(ResourceType, list(discovery.resource_types(settings.base_url).values()))
    )


@router.get("/ResourceTypes/{name}")
def resource_type(name: str, _: ProvisioningKey, settings: SettingsDep) -> ScimResponse:
    found = discovery.resource_types(settings.base_url).get(name)
    if found is None:
        return scim_error(404, f"No resource type {name[:60]!r}; this service has User.")
    return ScimResponse(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/Schemas")
def schemas(_: ProvisioningKey, settings: SettingsDep) -> ScimResponse:
    return ScimResponse(
        discovery.listing(Schema, list(discovery.schemas(settings.base_url).values()))
    )


@router.get("/Schemas/{schema_id}")
def schema(schema_id: str, _: ProvisioningKey, settings: SettingsDep) -> ScimResponse:
    found = discovery.schemas(settings.base_url).get(schema_id)
    if found is None:
        return scim_error(404, f"No schema {schema_id[:120]!r}.")
    return ScimResponse(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.post("/Users", status_code=201)
def create_user(
    body: Body, key: ProvisioningKey, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> ScimResponse:
    user = ScimUser.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    employee = provision(session, from_scim(user), clock.now(), actor=key)
    return _user(employee, settings.base_url, status=201)


def _parse_filter(value: str) -> tuple[str, str]:
    found = _FILTER.match(value) if len(value) <= 1000 else None
    if found is None:
        raise InvalidFilterException(
            detail='Only filter=userName eq "…" and filter=externalId eq "…" are supported.'
        )
    return found.group(1).lower(), json.loads(found.group(2))


def _search(
    session: Session,
    base_url: str,
    filter: str | None,
    start_index: int | None,
    count: int | None,
    shown: Shown | None,
) -> ScimResponse:
    start = max(start_index or 1, 1)
    count = discovery.MAX_RESULTS if count is None else min(max(count, 0), discovery.MAX_RESULTS)
    wanted: dict[str, str] = {}
    if filter is not None:
        attribute, value = _parse_filter(filter)
        wanted = {"user_name" if attribute == "username" else "external_id": value}
    people, total = list_managed(session, offset=start - 1, limit=count, **wanted)
    page = ListResponse[ScimUser](
        total_results=total,
        start_index=start,
        items_per_page=len(people),
        resources=[to_scim(person, base_url) for person in people],
    )
    body = page.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=shown)
    return ScimResponse(body)


@router.get("/Users")
def list_users(
    _: ProvisioningKey,
    session: SessionDep,
    settings: SettingsDep,
    shown: Params,
    filter: Annotated[str | None, Query(max_length=1000)] = None,
    start_index: Annotated[int, Query(alias="startIndex", ge=-(2**31), le=2**31)] = 1,
    count: Annotated[int, Query(ge=-(2**31), le=2**31)] = discovery.MAX_RESULTS,
) -> ScimResponse:
    return _search(session, settings.base_url, filter, start_index, count, shown)


@router.post("/.search")
@router.post("/Users/.search")
def search_users(
    body: Body, _: ProvisioningKey, session: SessionDep, settings: SettingsDep
) -> ScimResponse:
    """The same query as GET /Users, sent as a SearchRequest body (RFC 7644 §3.4.3); at the root
    it searches every resource type, which is Users here."""
    request = SearchRequest[ScimUser].model_validate(body, scim_ctx=Context.SEARCH_REQUEST)
    filter = body.get("filter")
    if filter is not None and not isinstance(filter, str):
        raise InvalidFilterException(detail="filter must be a string.")
    shown = Shown(attributes=request.attributes, excluded_attributes=request.excluded_attributes)
    return _search(session, settings.base_url, filter, request.start_index, request.count, shown)


@router.get("/Users/{user_id}")
def read_user(
    user_id: UserId, _: ProvisioningKey, session: SessionDep, settings: SettingsDep, shown: Params
) -> ScimResponse:
    employee = managed_person(session, user_id)
    if employee is None:
        return _not_found(user_id)
    return _user(employee, settings.base_url, shown=shown)


@router.put("/Users/{user_id}")
def replace_user(
    user_id: UserId,
    body: Body,
    key: ProvisioningKey,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> ScimResponse:
    user = ScimUser.model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    employee = managed_person(session, user_id)
    if employee is None:
        return _not_found(user_id)
    replace_person(session, employee, from_scim(user), clock.now(), actor=key)
    return _user(employee, settings.base_url)


@router.patch("/Users/{user_id}")
def patch_user(
    user_id: UserId,
    body: Body,
    key: ProvisioningKey,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> ScimResponse:
    patch = PatchOp[ScimUser].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    employee = managed_person(session, user_id)
    if employee is None:
        return _not_found(user_id)
    user = to_scim(employee, settings.base_url)
    patch.patch(user)  # all operations or none (scim2-models works on a copy)
    replace_person(session, employee, from_scim(user), clock.now(), actor=key)
    return _user(employee, settings.base_url)


@router.delete("/Users/{user_id}", status_code=204)
def delete_user(
    user_id: UserId, key: ProvisioningKey, session: SessionDep, clock: ClockDep
) -> Response:
    employee = managed_person(session, user_id)
    if employee is None:
        return _not_found(user_id)
    unprovision(session, employee, clock.now(), actor=key)
    return Response(status_code=204)


_ENDPOINTS = re.compile(r"^(ServiceProviderConfig|(ResourceTypes|Schemas|Users)(/[^/]+)?)$")


@router.api_route(
    "/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
def unknown(rest: str, _: ProvisioningKey) -> ScimResponse:
    """Errors in SCIM's shape for paths we do not have (404), or methods they do not take (405)."""
    if _ENDPOINTS.match(rest):
        return scim_error(405, "This endpoint does not take this method.")
    return scim_error(404, "No such endpoint; this service has /Users and the discovery endpoints.")
