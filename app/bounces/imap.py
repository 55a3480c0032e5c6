"""The bounce mailbox over IMAP (TLS): read each new message, file what was understood in the
done folder, and leave everything else in the inbox with a keyword so it is read only once.

Login is a password, or XOAUTH2 (Microsoft 365, Gmail) with an access token from a callable
(`TokenProvider`) asked at every login, so an expiring token is never kept here. Memory is
bounded: a message's size is asked first, and at most `max_bytes` + 1 octets are fetched.
Synchronous (imaplib): the job runs it in a thread.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.mail_urls import ImapTarget

log = logging.getLogger(__name__)

TokenProvider = Callable[[], str]  # an OAuth 2 access token for the mailbox's user
LEFT = "$NanolearnLeft"  # keyword on messages left for a person: not read again
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(Exception):
    """The mailbox could not be read (login, TLS, folder): the next poll tries again."""


@dataclass
class PollReport:
    filed: int = 0
    left: int = 0
    too_large: int = 0


@dataclass
class Mailbox:
    target: ImapTarget
    done_folder: str
    max_bytes: int
    ca_file: Path | None = None
    timeout: float = 30.0
    token: TokenProvider | None = None
    batch: int = 200  # messages per poll at most
    _capabilities: set[str] = field(default_factory=set)

    def poll(self, handle: Callable[[bytes], bool]) -> PollReport:
        """Give each new message to `handle`; True files it away, False leaves it."""
        report = PollReport()
        client = self._connect()
        try:
            self._select(client)
            for uid in self._new(client)[: self.batch]:
                data = self._fetch(client, uid)
                if data is None:
                    report.too_large += 1
                    self._leave(client, uid)
                elif handle(data):
                    report.filed += 1
                    self._file(client, uid)
                else:
                    report.left += 1
                    self._leave(client, uid)
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"{self.target.label}: {exc}") from None
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()
        return report

    def _connect(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None
        )
        t = self.target
        try:
            client = imaplib.IMAP4_SSL(t.host, t.port, ssl_context=context, timeout=self.timeout)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"{t.label}: {type(exc).__name__}: {exc}") from None
        try:
            if t.xoauth2:
                if self.token is None:
                    raise MailboxError("auth=xoauth2 needs an access-token provider")
                access = self.token()
                blob = f"user={t.username}\x01auth=Bearer {access}\x01\x01".encode()
                # The first (empty) challenge gets the token; an error challenge (JSON) gets
                # an empty answer, after which the server says NO.
                client.authenticate("XOAUTH2", lambda challenge: b"" if challenge else blob)
            else:
                client.login(t.username, t.password or "")
            self._capabilities = {c.upper() for c in client.capability()[1][0].decode().split()}
        except imaplib.IMAP4.error as exc:
            client.shutdown()
            raise MailboxError(f"{t.label}: login refused: {exc}") from None
        return client

    def _select(self, client: imaplib.IMAP4_SSL) -> None:
        status, detail = client.select(_quote(self.target.folder))
        if status != "OK":
            raise MailboxError(f"cannot open folder {self.target.folder!r}: {detail!r}")
        client.create(_quote(self.done_folder))  # NO when it exists: fine

    def _new(self, client: imaplib.IMAP4_SSL) -> list[str]:
        status, data = client.uid("SEARCH", "UNDELETED", "UNKEYWORD", LEFT)
        if status != "OK" or not data or not data[0]:
            return []
        return [u.decode() for u in data[0].split()]

    def _fetch(self, client: imaplib.IMAP4_SSL, uid: str) -> bytes | None:
        """The message, or None when it is larger than allowed (not downloaded)."""
        _status, data = client.uid("FETCH", uid, "(RFC822.SIZE)")
        match = SIZE.search(b" ".join(d for d in data if isinstance(d, bytes)))
        if match is None or int(match.group(1)) > self.max_bytes:
            return None
        _status, data = client.uid("FETCH", uid, f"(BODY.PEEK[]<0.{self.max_bytes + 1}>)")
        for item in data:
            if isinstance(item, tuple) and len(item[1]) <= self.max_bytes:
                return bytes(item[1])
        return None

    def _file(self, client: imaplib.IMAP4_SSL, uid: str) -> None:
        folder = _quote(self.done_folder)
        if "MOVE" in self._capabilities:
            client.uid("MOVE", uid, folder)
            return
        status, _ = client.uid("COPY", uid, folder)
        if status != "OK":
            return  # stays in the inbox; better twice than lost
        client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in self._capabilities:  # a plain EXPUNGE would also remove others' mail
            client.uid("EXPUNGE", uid)

    def _leave(self, client: imaplib.IMAP4_SSL, uid: str) -> None:
        status, detail = client.uid("STORE", uid, "+FLAGS.SILENT", f"({LEFT})")
        if status != "OK":  # a server without keywords: it is read again next time
            log.debug("bounce mailbox: keyword not stored: %r", detail)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
