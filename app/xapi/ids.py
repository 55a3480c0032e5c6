"""Stable identities for statements: nothing in them names a person or changes on a re-send.

- The actor is an account on this installation's home page whose name is an HMAC of the
  employee's id with the secret key: stable, opaque, never the e-mail. (A new SECRET_KEY
  gives everyone a new name.)
- A statement's id is a UUID 5 of its source row, so sending it again is idempotent in the LRS.
- A campaign's registration is a UUID 5 of the campaign's id.
The UUID namespace is derived from the home page, so two installations never share ids.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote

from app.core.config import Settings

ACTOR_NAME_LENGTH = 32  # hex characters: 128 bits of the HMAC


@dataclass(frozen=True)
class Identity:
    home_page: str
    secret: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> Identity:
        return cls(settings.xapi_home_page or settings.base_url, settings.secret())

    @cached_property
    def namespace(self) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, self.home_page)

    def actor(self, employee_id: int) -> dict[str, object]:
        digest = hmac.new(self.secret, f"xapi-actor:{employee_id}".encode(), hashlib.sha256)
        name = digest.hexdigest()[:ACTOR_NAME_LENGTH]
        return {"objectType": "Agent", "account": {"homePage": self.home_page, "name": name}}

    def registration(self, campaign_id: int) -> str:
        return str(uuid.uuid5(self.namespace, f"campaign:{campaign_id}"))

    def statement_id(self, source: str) -> str:
        return str(uuid.uuid5(self.namespace, source))

    def activity(self, *path: str) -> str:
        return "/".join([self.home_page, "xapi", *(quote(p, safe="") for p in path)])
