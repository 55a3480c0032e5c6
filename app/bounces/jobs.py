"""The bounce mailbox's job: poll BOUNCE_IMAP_URL every BOUNCE_IMAP_INTERVAL_SECONDS, one
process at a time across workers."""

from __future__ import annotations

import asyncio
import logging

from app.bounces.imap import Mailbox, MailboxError, PollReport, TokenProvider

__all__ = ["MailboxError", "jobs", "mailbox", "poll_once"]
from app.bounces.service import handle_message
from app.core.jobs import Job
from app.core.locks import BOUNCE_LOCK_KEY, job_lock
from app.core.runtime import Runtime

log = logging.getLogger(__name__)


def mailbox(runtime: Runtime, token: TokenProvider | None = None) -> Mailbox | None:
    s = runtime.settings
    target = s.bounce_imap
    if target is None:
        return None
    return Mailbox(
        target,
        done_folder=s.bounce_imap_done_folder,
        max_bytes=s.bounce_max_kb * 1024,
        ca_file=s.bounce_imap_ca_file,
        timeout=s.smtp_timeout_seconds,
        token=token,
    )


def poll_once(runtime: Runtime, box: Mailbox) -> PollReport:
    """Read the new messages; each one's result is committed before it is filed away."""

    def handle(data: bytes) -> bool:
        with runtime.session_factory() as session:
            verdict = handle_message(session, runtime.settings, data, runtime.clock.now())
            session.commit()
        return verdict.handled

    return box.poll(handle)


def jobs(runtime: Runtime, *, oauth_token: TokenProvider | None = None) -> list[Job]:
    """`oauth_token` gives an access token when BOUNCE_IMAP_URL says auth=xoauth2."""
    box = mailbox(runtime, oauth_token)
    if box is None:
        return []

    async def poll() -> None:
        try:
            with job_lock(runtime.engine, BOUNCE_LOCK_KEY) as held:
                if held:
                    report = await asyncio.to_thread(poll_once, runtime, box)
                    if report.filed or report.left or report.too_large:
                        log.info("bounce mailbox: %s", report)
        except MailboxError as exc:
            log.warning("bounce mailbox: %s; the next poll tries again", exc)
        except Exception:
            log.exception("bounce mailbox poll failed; the next poll tries again")

    interval = runtime.settings.bounce_imap_interval_seconds
    return [Job("bounces-imap", poll, "interval", {"seconds": interval})]
