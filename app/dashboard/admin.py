"""Dashboard for admins: API keys (create — shown once —, list, revoke) and the audit log
(filter by action and date, page through). The services of app.auth, audited like the API."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.audit import list_audit
from app.auth.models import ApiKey, Role
from app.auth.schemas import ApiKeyCreate
from app.auth.service import (
    audit_key_change,
    create_api_key,
    find_api_key,
    list_api_keys,
    revoke_api_key,
)
from app.core.deps import ClockDep, SessionDep
from app.dashboard.auth import AdminUser, User
from app.dashboard.csrf import protect
from app.dashboard.forms import FieldErrors, Form, field_text
from app.dashboard.responses import DashboardRoute, redirect, render
from app.dashboard.views.staff import when

ROLES = {
    Role.reporter: "Läsare – ser och laddar ner rapporter",
    Role.editor: "Redaktör – sköter personal och kampanjer",
    Role.admin: "Administratör – allt, även nycklar och händelselogg",
}
# The audit log's actions, grouped by what they are about (a prefix filter, as in the API).
AREAS = {
    "": "Alla händelser",
    "campaigns.": "Kampanjer",
    "employees.": "Personal",
    "api_keys.": "API-nycklar",
    "export.": "Rapportuttag",
    "privacy.": "Gallring",
    "xapi.": "xAPI",
}
AUDIT_PAGE = 50
_TZ = ZoneInfo("Europe/Stockholm")

router = APIRouter(
    route_class=DashboardRoute, include_in_schema=False, dependencies=[Depends(protect)]
)


def _keys_page(
    session: Session,
    user: User,
    *,
    created: tuple[ApiKey, str] | None = None,
    errors: FieldErrors | None = None,
    name: str = "",
    role: str = "reporter",
    notice: str = "",
) -> Response:
    return render(
        "keys.html",
        status=422 if errors else 200,
        user=user,
        section="keys",
        keys=[(k, when(k.created_at), when(k.last_used_at)) for k in list_api_keys(session)],
        roles=ROLES,
        created=created,
        errors=errors or {},
        key_name=name,
        role=role,
        notice=notice,
    )


@router.get("/keys")
def keys(user: AdminUser, session: SessionDep, klart: str = "") -> Response:
    notice = "Nyckeln är spärrad. Den fungerar inte längre." if klart == "sparrad" else ""
    return _keys_page(session, user, notice=notice)


@router.post("/keys")
def create_key(user: AdminUser, session: SessionDep, clock: ClockDep, form: Form) -> Response:
    name = field_text(str(form.get("name", "")))[:200]
    role = field_text(str(form.get("role", "")))
    try:
        body = ApiKeyCreate.model_validate({"name": name, "role": role})
    except ValidationError as exc:
        errors: FieldErrors = {}
        for error in exc.errors():
            field = str(error["loc"][0])
            errors.setdefault(
                field,
                "Välj en roll."
                if field == "role"
                else "Skriv vem nyckeln är till, högst 100 tecken.",
            )
        return _keys_page(session, user, errors=errors, name=name, role=role)
    now = clock.now()
    key, plain = create_api_key(session, body.name, body.role, now)
    audit_key_change(session, user, key, "create", now)
    # Shown once, in the answer to the POST itself (never stored, never in a URL); the page
    # is not cached (Cache-Control: no-store on every dashboard page).
    return _keys_page(session, user, created=(key, plain))


@router.get("/keys/{prefix}/revoke")
def revoke_form(prefix: str, user: AdminUser, session: SessionDep) -> Response:
    key = find_api_key(session, prefix[:16])
    if key is None or key.revoked_at is not None:
        return render("not_found.html", status=404, user=user, section="keys")
    return render(
        "key_revoke.html",
        user=user,
        section="keys",
        key=key,
        own=isinstance(user, ApiKey) and key.id == user.id,
    )


@router.post("/keys/{prefix}/revoke")
def revoke(prefix: str, user: AdminUser, session: SessionDep, clock: ClockDep) -> Response:
    key = find_api_key(session, prefix[:16])
    if key is None:
        return render("not_found.html", status=404, user=user, section="keys")
    if key.revoked_at is None:  # revoking again changes nothing, so it is not audited
        revoke_api_key(session, key.prefix, clock.now())
        audit_key_change(session, user, key, "revoke", clock.now())
    return redirect("/dashboard/keys?klart=sparrad")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


@router.get("/audit")
def audit(
    user: AdminUser,
    session: SessionDep,
    action: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> Response:
    action = action if action in AREAS else ""
    page = min(max(page, 1), 10**6)
    first, last = _day(since), _day(until)
    errors = {
        name: "Skriv datumet som ÅÅÅÅ-MM-DD."
        for name, text, day in (("since", since, first), ("until", until, last))
        if text.strip() and day is None
    }

    def start(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=_TZ)

    entries = list_audit(
        session,
        action=action or None,
        since=start(first) if first else None,
        until=start(last + timedelta(days=1)) if last else None,
        limit=AUDIT_PAGE + 1,
        offset=(page - 1) * AUDIT_PAGE,
    )
    wanted = {k: v for k, v in (("action", action), ("since", since), ("until", until)) if v}

    def link(number: int) -> str:
        return "/dashboard/audit?" + urlencode({**wanted, "page": str(number)})

    return render(
        "audit.html",
        status=422 if errors else 200,
        user=user,
        section="audit",
        entries=[(e, f"{e.at.astimezone(_TZ):%Y-%m-%d %H.%M}") for e in entries[:AUDIT_PAGE]],
        areas=AREAS,
        action=action,
        since=since[:10],
        until=until[:10],
        errors=errors,
        previous=link(page - 1) if page > 1 else None,
        next=link(page + 1) if len(entries) > AUDIT_PAGE else None,
    )
