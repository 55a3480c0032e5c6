"""An employee as a SCIM User with the enterprise extension, and back (scim2-models).

We keep of a provisioned person only what Nanolearn needs: userName, externalId, the name, the
work address, department and employee number (enterprise extension) and active. Other standard
attributes the provider sends (title, phone numbers, addresses…) are accepted and not stored.
"""

from __future__ import annotations

from scim2_models import EnterpriseUser, Meta, User
from scim2_models.resources.user import Email, Name

from app.employees.importer import split_full_name
from app.employees.models import Employee
from app.employees.provisioned import Provisioned

ScimUser = User[EnterpriseUser]


def to_scim(employee: Employee, base_url: str) -> ScimUser:
    user = ScimUser(
        id=str(employee.id),
        user_name=employee.scim_user_name,
        external_id=employee.scim_external_id,
        name=Name(
            given_name=employee.first_name or None,
            family_name=employee.last_name or None,
        ),
        emails=[Email(value=employee.email, type="work")] if employee.email else None,
        active=employee.active,
        meta=Meta(
            resource_type="User",
            created=employee.created_at,
            last_modified=employee.updated_at,
            location=f"{base_url}/scim/v2/Users/{employee.id}",
        ),
    )
    user[EnterpriseUser] = EnterpriseUser(
        department=employee.department or None, employee_number=employee.employee_number
    )
    return user


def _email(user: ScimUser) -> str:
    """The primary address, else the work one, else the first; else userName (Entra's UPN)."""
    emails = [e for e in user.emails or [] if e.value]
    for wanted in (
        [e for e in emails if e.primary],
        [e for e in emails if (e.type or "").lower() == "work"],
        emails,
    ):
        if wanted:
            return str(wanted[0].value)
    return user.user_name or ""


def from_scim(user: ScimUser) -> Provisioned:
    name = user.name or Name()
    first, last = name.given_name or "", name.family_name or ""
    if not first and not last:
        first, last = split_full_name(name.formatted or user.display_name or "")
    extension = user[EnterpriseUser] or EnterpriseUser()
    return Provisioned(
        user_name=user.user_name or "",
        external_id=user.external_id or None,
        email=_email(user),
        first_name=first,
        last_name=last,
        department=extension.department or "",
        employee_number=extension.employee_number or None,
        active=True if user.active is None else user.active,
    )
