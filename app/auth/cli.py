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
from app.core.runtime import Runtime

app = typer.Typer(no_args_is_help=True, help="API keys for the admin API.")
out = Console()
err = Console(stderr=True)


@app.command()
def create(
    name: str = typer.Option(..., help="Who or what uses the key, e.g. 'Anna, projektledare'."),
    role: Role = typer.Option(
        Role.editor,
        help="admin: everything; editor: employees and campaigns; reporter: read and export; "
        "provisioning: /scim/v2 only (the token for Entra ID provisioning).",
    ),
) -> None:
    """Create an API key and print it once."""
    runtime = Runtime.create()
    with session_scope(runtime.session_factory) as session:
        now = runtime.clock.now()
        key, plain = create_api_key(session, name, role, now)
        audit_key_change(session, None, key, "create", now)  # the actor is "cli (<user>)"
    err.print(
        f"Created key [bold]{key.prefix}[/] ({role}) for {name}. Copy it now; it is not shown again:"
    )
    out.print(plain, soft_wrap=True, highlight=False)
    err.print("Use it as: Authorization: Bearer <key>")


@app.command("list")
def list_keys() -> None:
    """List API keys (prefix, name, role, created, last used, revoked)."""
    runtime = Runtime.create()
    with session_scope(runtime.session_factory) as session:
        keys = list_api_keys(session)
        table = Table("prefix", "name", "role", "created", "last used", "revoked")
        for k in keys:
            table.add_row(
                k.prefix,
                k.name,
                k.role,
                f"{k.created_at:%Y-%m-%d %H:%M}",
                f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "-",
                f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
            )
    out.print(table)


@app.command()
def revoke(
    prefix: str = typer.Argument(..., help="The key's prefix, as shown by 'apikey list'."),
) -> None:
    """Revoke an API key: it stops working at once."""
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
            f"[red]No key with prefix {prefix!r}.[/] See the prefixes with: nanolearn apikey list"
        )
        raise typer.Exit(1)
    err.print(f"Key {prefix} ({key.name}) is revoked.")
