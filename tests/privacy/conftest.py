"""Privacy tests: a relay that can refuse addresses, and the environment for the commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.core.config import get_settings
from tests.conftest import TEST_SECRET
from tests.privacy.relay import RefusingHandler
from tests.smtp_server import SmtpSink


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(RefusingHandler()).start()
    yield sink
    sink.stop()


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, session: Session
) -> Iterator[None]:
    """Commands read their settings from the environment, like in production."""
    # `session` makes sure the engine fixture cleans the PostgreSQL tables afterwards.
    monkeypatch.setenv("NANOLEARN_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOLEARN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NANOLEARN_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
