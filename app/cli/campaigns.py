"""`nanolearn campaigns …`: list and run campaigns from the shell, and set up the demo.

Its output is in Swedish, as is all of the `nanolearn` command's; times are in the campaign's
time zone, named."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from app.campaigns import service
from app.campaigns.models import CampaignStatus
from app.campaigns.schemas import CampaignCreate, CampaignPatch
from app.core.db import session_scope
from app.core.errors import ProblemError, problem_title, validation_errors
from app.core.i18n import local_time, zone_words
from app.core.runtime import Runtime
from app.delivery.lifecycle import change_status
from app.employees.models import Employee
from app.reports.figures import status_counts

app = typer.Typer(
    no_args_is_help=True, help="Kampanjer: en kurs som mejlas till anställda enligt ett schema."
)
out = Console()
err = Console(stderr=True)
CAMPAIGN_ID = typer.Argument(..., metavar="ID", help="Kampanjens id (se nanolearn campaigns list).")

# Departments of their own: the demo campaign's audience is these, so staff imported later are
# never enrolled in a campaign that mails every minute.
DEMO_DEPARTMENTS = (
    "Demo – Socialförvaltningen",
    "Demo – Utbildningsförvaltningen",
    "Demo – Vård och omsorg",
    "Demo – Kommunledningskontoret",
)
DEMO_NAMES = (
    "Anna Lind",
    "Erik Berg",
    "Maria Holm",
    "Johan Ek",
    "Sara Nyström",
    "Ali Hassan",
    "Lena Sjöberg",
    "Karin Åberg",
    "Mohammed Ali",
    "Eva Strand",
    "Per Lund",
    "Fatima Noor",
    "Olof Dahl",
    "Sofia Wik",
    "Jonas Blom",
    "Elin Falk",
    "Hanna Björk",
    "Ahmed Omar",
    "Ingrid Sandberg",
    "Nils Forsberg",
    "Amira Haddad",
    "Gustav Lindqvist",
    "Ida Engström",
    "Leila Karimi",
    "Mats Öberg",
)


def _demo_address(name: str) -> str:
    first, last = name.split(" ", 1)
    return f"{first}.{last}".lower().translate(str.maketrans("åäöé", "aaoe")) + "@example.org"


def _fail(exc: ProblemError) -> None:
    err.print(f"[red]{problem_title(exc)}:[/] {exc.detail}")
    raise typer.Exit(1)


@app.command("list")
def list_campaigns() -> None:
    """Visa kampanjerna med status och siffror; nästa utskick i kampanjens tidszon."""
    runtime = Runtime.create()
    with session_scope(runtime.session_factory) as session:
        table = Table(
            "id", "namn", "kurs", "status", "deltagare", "skickade", "svar", "nästa utskick"
        )
        for c in service.list_campaigns(session):
            o = service.to_out(session, c, runtime.clock.now(), status_counts(session, c.id))
            assert o.counts is not None
            table.add_row(
                str(o.id),
                o.name,
                o.course,
                CampaignStatus(c.status).swedish,
                str(o.counts.enrolled),
                str(o.counts.sent),
                str(o.counts.answered),
                local_time(o.next_slot_at, c.timezone) if o.next_slot_at else "–",
            )
    out.print(table)


@app.command()
def create(
    file: Path = typer.Argument(
        ..., metavar="FIL", help="En JSON-fil med kampanjen, som för POST /api/v1/campaigns."
    ),
) -> None:
    """Skapa en kampanj (utkast) från en JSON-fil."""
    try:
        body = CampaignCreate.model_validate_json(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        err.print(f"[red]Filen {file} finns inte.[/] Ange sökvägen till en JSON-fil.")
        raise typer.Exit(1) from None
    except ValidationError as exc:
        for error in validation_errors(exc.errors(), "sv"):
            err.print(f"[red]{file}: {error['field']}:[/] {error['message']}")
        raise typer.Exit(1) from None
    runtime = Runtime.create()
    try:
        with session_scope(runtime.session_factory) as session:
            campaign = service.create_campaign(session, body, runtime.clock.now())
    except ProblemError as exc:
        _fail(exc)
    err.print(
        f"Kampanj {campaign.id} är skapad (utkast). Starta den med: "
        f"nanolearn campaigns start {campaign.id}"
    )


def _transition(action: str, campaign_id: int) -> None:
    runtime = Runtime.create()
    try:
        with session_scope(runtime.session_factory) as session:
            campaign = service.get_campaign(session, campaign_id)
            change_status(session, campaign, action, runtime.clock.now())
            status = campaign.status
    except ProblemError as exc:
        _fail(exc)
    err.print(f"Kampanj {campaign_id}: {CampaignStatus(status).swedish.lower()}.")


@app.command()
def start(campaign_id: int = CAMPAIGN_ID) -> None:
    """Starta en kampanj (ett utkast)."""
    _transition("start", campaign_id)


@app.command()
def pause(campaign_id: int = CAMPAIGN_ID) -> None:
    """Pausa utskicken direkt."""
    _transition("pause", campaign_id)


@app.command()
def resume(campaign_id: int = CAMPAIGN_ID) -> None:
    """Fortsätt en pausad kampanj där den stannade."""
    _transition("resume", campaign_id)


@app.command()
def cancel(campaign_id: int = CAMPAIGN_ID) -> None:
    """Avbryt en kampanj för gott."""
    _transition("cancel", campaign_id)


@app.command("local-help")
def local_help(
    campaign_id: int = CAMPAIGN_ID,
    file: Path | None = typer.Argument(
        None, metavar="FIL", help="En Markdown-fil med kommunens egna kontaktuppgifter."
    ),
    clear: bool = typer.Option(False, "--clear", help="Ta bort kampanjens lokala hjälptext."),
) -> None:
    """Ange kontakterna som visas efter kursens hjälptext i varje mejl och på lektionssidan."""
    if (file is None) == (not clear):
        err.print("[red]Ange en Markdown-fil, eller --clear för att ta bort texten.[/]")
        raise typer.Exit(1)
    try:
        text = "" if clear or file is None else file.read_text(encoding="utf-8")
        patch = CampaignPatch(local_help=text)
    except FileNotFoundError:
        err.print(f"Filen {file} finns inte. Kontrollera sökvägen.", style="red", markup=False)
        raise typer.Exit(1) from None
    except UnicodeDecodeError:
        err.print(f"{file} är inte UTF-8-text: spara den som UTF-8.", style="red", markup=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"Filen {file} går inte att läsa ({exc.strerror}).", style="red", markup=False)
        raise typer.Exit(1) from None
    except ValidationError as exc:
        for error in validation_errors(exc.errors(), "sv"):
            err.print(f"{file}: {error['message']}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    runtime = Runtime.create()
    try:
        with session_scope(runtime.session_factory) as session:
            campaign = service.get_campaign(session, campaign_id)
            service.update_campaign(session, campaign, patch, runtime.clock.now())
    except ProblemError as exc:
        _fail(exc)
    err.print(
        f"Kampanj {campaign_id}: den lokala hjälptexten är {'borttagen' if clear else 'sparad'}."
    )


@app.command()
def demo(
    course: str = typer.Option("radikalisering", help="Kursens kortnamn (mappen i lessons/)."),
    every: int = typer.Option(1, help="Minuter mellan mejlen (ett komprimerat schema)."),
) -> None:
    """Skapa 25 exempelanställda (example.org) och starta en kampanj med ett mejl i minuten."""
    runtime = Runtime.create()
    now = runtime.clock.now()
    with session_scope(runtime.session_factory) as session:
        addresses = [_demo_address(name) for name in DEMO_NAMES]
        known = {
            e.email: e
            for e in session.scalars(select(Employee).where(Employee.email.in_(addresses)))
        }
        for i, (name, address) in enumerate(zip(DEMO_NAMES, addresses, strict=True)):
            first, last = name.split(" ", 1)
            number = f"DEMO{i + 1:03d}"
            department = DEMO_DEPARTMENTS[i % len(DEMO_DEPARTMENTS)]
            existing = known.get(address)
            if existing is None:
                session.add(
                    Employee(
                        email=address,
                        first_name=first,
                        last_name=last,
                        department=department,
                        employee_number=number,
                        active=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
            elif existing.employee_number == number and existing.department != department:
                existing.department = department  # from a demo made before the demo departments
                existing.updated_at = now
        session.flush()
        start_at = now.astimezone(runtime.settings.timezone_info) + timedelta(minutes=1)
        body = CampaignCreate.model_validate(
            {
                "name": f"Demo: {course}",
                "course": course,
                "audience": {"departments": list(DEMO_DEPARTMENTS)},
                "schedule": {
                    "start_date": start_at.date().isoformat(),
                    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "time": start_at.strftime("%H:%M"),
                    "timezone": runtime.settings.timezone,
                    "window_start": "00:00",
                    "window_end": "23:59",
                    "window_weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "interval_minutes": every,
                },
            }
        )
        try:
            campaign = service.create_campaign(session, body, now)
            change_status(session, campaign, "start", now)
        except ProblemError as exc:
            _fail(exc)
    err.print(
        f"Demokampanj {campaign.id} har startat för 25 exempelanställda: ett mejl var {every}:e "
        f"minut från kl. {start_at:%H.%M} {zone_words(runtime.settings.timezone)}. "
        f"Se {runtime.settings.base_url}/dev/inbox"
    )
    out.print(json.dumps({"campaign": campaign.id}))
