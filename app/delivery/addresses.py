"""Addresses as they go on the wire: IDN domains in ASCII form, and what needs SMTPUTF8.

Employee addresses are stored as the import normalises them, with the Unicode form of a domain
(anna@kommunö.se, also for a file that said anna@xn--kommun-1xa.se). Headers and the envelope
need the ASCII form (IDNA 2008, by the `idna` package that email-validator uses to check the
address). A local part that is not ASCII (åsa@…) has no ASCII form: it can only be sent with
SMTPUTF8 (RFC 6531), so the relay must offer it.
"""

from __future__ import annotations

from functools import lru_cache

import idna

# Failure reasons, stored with the delivery and shown by test-send: Swedish, then English.
# They never contain the address itself.
NO_SMTPUTF8 = (
    "Adressen har tecken före @ som inte är ASCII (till exempel å, ä eller ö). Sådana adresser "
    "kräver SMTPUTF8, och e-postservern (reläet) erbjuder inte det. Be personen om en adress "
    "utan sådana tecken, eller reläets administratör att slå på SMTPUTF8. / The address has "
    "non-ASCII characters before the @, which needs SMTPUTF8, and the relay does not offer it."
)
SENDER_NO_SMTPUTF8 = (
    "Avsändaradressen (NANOLEARN_MAIL_FROM) har tecken före @ som inte är ASCII, och "
    "e-postservern (reläet) erbjuder inte SMTPUTF8. / The sender address has non-ASCII "
    "characters before the @ and the relay does not offer SMTPUTF8."
)
BAD_DOMAIN = (
    "Domänen i adressen (efter @) går inte att skriva i ASCII-form (IDNA). Kontrollera "
    "stavningen. / The domain of the address cannot be written in ASCII (IDNA) form."
)
BAD_ADDRESS = "Adressen saknar @ eller namn före @. / The address lacks an @ or a local part."


class AddressError(ValueError):
    """An address no e-mail can carry; the message says why (Swedish, then English)."""


@lru_cache(maxsize=1024)
def ascii_domain(domain: str) -> str:
    """The domain in ASCII form: IDNA 2008 A-labels (xn--…) for a Unicode domain."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise AddressError(BAD_DOMAIN) from None


def wire_address(address: str) -> str:
    """`address` with its domain in ASCII form; a non-ASCII local part stays as it is.

    Raises AddressError for a domain with no ASCII form."""
    if address.isascii():  # nearly every address: nothing to do
        return address
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise AddressError(BAD_ADDRESS)
    return f"{local}@{ascii_domain(domain)}"


def needs_smtputf8(wire: str) -> bool:
    """Whether an address (already in wire form) can only be sent with SMTPUTF8."""
    return not wire.isascii()
