from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings, load_or_create_secret
from app.core.mail_urls import parse_smtp_url


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_smtp_url_forms() -> None:
    plain = parse_smtp_url("smtp://relay.kommun.se:587?starttls=true")
    assert (plain.host, plain.port, plain.start_tls, plain.use_tls) == (
        "relay.kommun.se",
        587,
        True,
        False,
    )
    tls = parse_smtp_url("smtps://user%40kommun.se:p%3Ass@relay.kommun.se")
    assert (tls.port, tls.use_tls, tls.username, tls.password) == (
        465,
        True,
        "user@kommun.se",
        "p:ss",
    )
    assert "p:ss" not in tls.label


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("smtp_url", "http://relay:25", "must start with smtp:// or smtps://"),
        ("smtp_url", "smtp://:25", "has no host"),
        ("smtp_url", "smtp://relay:99999", "invalid port"),
        ("smtp_url", "smtp://relay:25?tls=yes", "unknown options: tls"),
        ("timezone", "Europe/Stockholmm", "unknown time zone"),
        ("base_url", "nanolearn.kommun.se", "absolute http(s) URL"),
        ("secret_key", "changeme", "known placeholder"),
        ("secret_key", "short", "shorter than 32"),
    ],
)
def test_bad_settings_name_the_setting(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        make(**{field: value})
    text = str(info.value)
    assert field in text and message in text


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    first = load_or_create_secret(path)
    assert len(first) == 64 and load_or_create_secret(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_placeholder_in_the_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("changeme\n")
    with pytest.raises(ValueError, match="placeholder"):
        make(data_dir=tmp_path).secret()


def test_default_database_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    assert make(data_dir=tmp_path).database_url == f"sqlite:///{tmp_path}/nanolearn.db"
