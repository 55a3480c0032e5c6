"""The public links in an e-mail. Every link carries the delivery's signed token."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from app.core.tokens import sign_delivery, sign_test


@dataclass(frozen=True)
class Links:
    base_url: str
    token: str

    @classmethod
    def for_delivery(cls, base_url: str, secret: bytes, delivery_id: int) -> Links:
        return cls(base_url, sign_delivery(secret, delivery_id))

    @classmethod
    def for_test(cls, base_url: str, secret: bytes, campaign_id: int) -> Links:
        """A test-send's links: they open a page that says it was a test, and record nothing."""
        return cls(base_url, sign_test(secret, campaign_id))

    def view(self, lesson_key: str | None = None) -> str:
        url = f"{self.base_url}/l/{self.token}"
        return f"{url}?lesson={quote(lesson_key)}" if lesson_key else url

    def answer(self, lesson_key: str, option: int) -> str:
        return f"{self.base_url}/a/{self.token}/{quote(lesson_key)}/{option}"

    def answer_post(self, lesson_key: str) -> str:
        return f"/a/{self.token}/{quote(lesson_key)}"

    def unsubscribe(self) -> str:
        return f"{self.base_url}/u/{self.token}"
