"""`nanolearn apikey create|list|revoke`: keys are shown once and stored hashed."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from app.auth.models import Role
from app.auth.service import (
    audit_key_change,
    create_api_key,
    find_api_key,
    list_api_keys,
    revoke_api_key,
)
from app.core.db import session_scope
from app.core.i18n import local_time
from app.core.runtime import Runtime

app = typer.Typer(no_args_is_help=True, help="API-nycklar för admin-API:t.")
out = Console()
err = Console(stderr=True)


@app.command()
def create(
    name: str = typer.Option(
        ..., help="Vem eller vad som använder nyckeln, t.ex. 'Anna, projektledare'."
    ),
    role: Role = typer.Option(
        Role.editor,
        help="admin: allt; editor: anställda och kampanjer; reporter: läsa och exportera; "
        "provisioning: bara /scim/v2 (nyckeln för Entra ID:s provisionering).",
    ),
) -> None:
    """Skapa en API-nyckel och visa den en gång."""
    runtime = Runtime.create()
    with session_scope(runtime.session_factory) as session:
        now = runtime.clock.now()
        key, plain = create_api_key(session, name, role, now)
        audit_key_change(session, None, key, "create", now)  # the actor is "cli (<user>)"
    err.print(
        f"Nyckeln [bold]{key.prefix}[/] ({role}) är skapad för {name}. "
        "Kopiera den nu; den visas inte igen:"
    )
    out.print(plain, soft_wrap=True, highlight=False)
    err.print("Skicka den som: Authorization: Bearer <nyckel>")


@app.command("list")
def list_keys() -> None:
    """Visa API-nycklarna (prefix, namn, roll, skapad, senast använd, återkallad)."""
    runtime = Runtime.create()
    zone = runtime.settings.timezone
    with session_scope(runtime.session_factory) as session:
        keys = list_api_keys(session)
        table = Table("prefix", "namn", "roll", "skapad", "senast använd", "återkallad")
        for k in keys:
            table.add_row(
                k.prefix,
                k.name,
                k.role,
                local_time(k.created_at, zone),
                local_time(k.last_used_at, zone) if k.last_used_at else "–",
                local_time(k.revoked_at, zone) if k.revoked_at else "",
            )
    out.print(table)


@app.command()
def revoke(
    prefix: str = typer.Argument(
        ..., metavar="PREFIX", help="Nyckelns prefix, som 'apikey list' visar det."
    ),
) -> None:
    """Återkalla en API-nyckel: den slutar fungera direkt."""
    runtime = Runtime.create()
    with session_scope(runtime.session_factory) as session:
        now = runtime.clock.now()
        found = find_api_key(session, prefix)
        was_active = found is not None and found.revoked_at is None
        key = revoke_api_key(session, prefix, now)
        if key is not None and was_active:
            audit_key_change(session, None, key, "revoke", now)
    if key is None:
        err.print(
            f"[red]Det finns ingen nyckel med prefixet {prefix!r}.[/] "
            "Se prefixen med: nanolearn apikey list"
        )
        raise typer.Exit(1)
    err.print(f"Nyckeln {prefix} ({key.name}) är återkallad.")
