"""What the service provider says about itself: ServiceProviderConfig, ResourceTypes, Schemas."""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    ListResponse,
    Meta,
    Patch,
    Required,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    User,
)

from app.scim.mapping import ScimUser

MAX_RESULTS = 100  # one page of Users at most; Entra asks for one person at a time


def service_provider_config(base_url: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="An API key of the role provisioning: nanolearn apikey create",
                primary=True,
            )
        ],
        meta=Meta(
            resource_type="ServiceProviderConfig",
            location=f"{base_url}/scim/v2/ServiceProviderConfig",
        ),
    )
    return config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def resource_types(base_url: str) -> dict[str, ResourceType]:
    user = ResourceType.from_resource(ScimUser)
    user.meta = Meta(
        resource_type="ResourceType", location=f"{base_url}/scim/v2/ResourceTypes/User"
    )
    return {"User": user}


# What Nanolearn keeps of a person, and so what it publishes: a client may send every standard
# User attribute (Entra ID sends title, phone numbers…), and those not listed here are not kept.
KEPT = {
    "userName": set(),
    "name": {"givenName", "familyName"},
    "emails": {"value", "type"},
    "active": set(),
    "department": set(),
    "employeeNumber": set(),
}
# Lessons go by e-mail and greet people by name: a person needs both (Entra ID always sends them;
# a userName that is an address stands in for a missing work address, displayName for a name).
REQUIRED = {"emails": {"value"}, "name": {"givenName", "familyName"}, "active": set()}


def schemas(base_url: str) -> dict[str, Schema]:
    found = {}
    for model in (User, EnterpriseUser):
        schema = model.to_schema()
        schema.attributes = [a for a in schema.attributes or [] if a.name in KEPT]
        for attribute in schema.attributes:
            name = str(attribute.name)
            kept = [sub for sub in attribute.sub_attributes or [] if sub.name in KEPT[name]]
            attribute.sub_attributes = kept or None
            if name in REQUIRED:
                attribute.required = Required.true
            for sub in kept:
                if sub.name in REQUIRED.get(name, set()):
                    sub.required = Required.true
                if name == "emails" and sub.name == "type":
                    sub.canonical_values = ["work"]  # the one address kept is the work address
        schema.meta = Meta(
            resource_type="Schema", location=f"{base_url}/scim/v2/Schemas/{schema.id}"
        )
        found[str(schema.id)] = schema
    return found


def listing(kind: type[Any], items: list[Any]) -> dict[str, Any]:
    response = ListResponse[kind](  # type: ignore[valid-type]
        total_results=len(items), start_index=1, items_per_page=len(items), resources=items
    )
    return response.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
