"""A real IMAP server for the tests: Debian's Dovecot on a loopback port, with its own config,
base_dir, a Maildir in a temporary folder, one static user and TLS with a self-signed
certificate made here. Installed by scripts/test (apt-get install dovecot-imapd); where it is
missing the tests skip with the reason, except on CI (CI=true), where they fail."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smtp_server import free_port

USER = "bounces"
PASSWORD = "studs-hemligt-123"


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def require_dovecot() -> str:
    found = dovecot_binary()
    missing = [] if found else ["dovecot (apt-get install dovecot-imapd)"]
    if shutil.which("openssl") is None:
        missing.append("openssl")
    if missing:
        reason = f"no real IMAP server: missing {', '.join(missing)}; scripts/test installs it"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert found is not None
    return found


@dataclass
class Dovecot:
    binary: str
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def cert(self) -> Path:
        return self.root / "cert.pem"

    def url(self, folder: str = "INBOX") -> str:
        return f"imaps://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{folder}"

    def start(self) -> Dovecot:
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
                *("-keyout", str(self.root / "key.pem"), "-out", str(self.cert)),
                *("-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"),
            ],
            check=True,
            capture_output=True,
        )
        mail = self.root / "mail"
        mail.mkdir()
        if os.getuid() == 0:  # Dovecot never gives mail to root: the mailbox belongs to nobody
            user = pwd.getpwnam("nobody")
            os.chown(mail, user.pw_uid, user.pw_gid)
            ids, service_users = (user.pw_uid, user.pw_gid), ""
        else:
            me = pwd.getpwuid(os.getuid()).pw_name
            ids = (os.getuid(), os.getgid())
            service_users = f"default_login_user = {me}\ndefault_internal_user = {me}\n"
        (self.root / "dovecot.conf").write_text(
            f"""base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
instance_name = nanolearn-test-{self.port}
{service_users}protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{self.cert}
ssl_key = <{self.root}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={ids[0]} gid={ids[1]} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""",
            encoding="utf-8",
        )
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not start: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_dovecot() -> Dovecot:
    binary = require_dovecot()
    root = Path(tempfile.mkdtemp(prefix="nl-dovecot-"))
    root.chmod(0o755)  # Dovecot's own users walk into it
    return Dovecot(binary, root, free_port()).start()
