"""DKIM signing (dkimpy) for a relay that does not sign: DKIM_SELECTOR, DKIM_DOMAIN and
DKIM_KEY_FILE (a PEM RSA key; the public half goes in DNS at SELECTOR._domainkey.DOMAIN).

The signature is made on the finished bytes (after `mime.build_message_bytes`), so it covers the
headers as sent, List-Unsubscribe and List-Unsubscribe-Post included (RFC 8058). The relay may
re-fold lines: relaxed canonicalisation of header and body keeps the signature valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dkim

from app.core.config import Settings

SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"MIME-Version",
    b"Content-Type",
)


@dataclass(frozen=True)
class DkimSigner:
    selector: bytes
    domain: bytes
    key: bytes

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header in front."""
        header = dkim.sign(
            message,
            self.selector,
            self.domain,
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return bytes(header) + message


def dkim_signer(settings: Settings) -> DkimSigner | None:
    if settings.dkim_key_file is None:
        return None
    return _signer(settings.dkim_selector, settings.dkim_domain, settings.dkim_key_file)


@lru_cache(maxsize=4)
def _signer(selector: str, domain: str, key_file: Path) -> DkimSigner:
    try:
        key = key_file.read_bytes()
    except OSError as exc:
        raise RuntimeError(f"DKIM_KEY_FILE {key_file} cannot be read: {exc.strerror}") from None
    signer = DkimSigner(selector.encode(), domain.encode("idna"), key)
    signer.sign(b"From: check@example.org\r\n\r\n")  # a bad key fails here, not per e-mail
    return signer
