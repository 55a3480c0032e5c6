"""SENDING_ACCOUNTS and the OAuth settings: what an ops person writes, and the errors they get."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings

BASE = {"_env_file": None, "oauth_tenant": "kommun.onmicrosoft.com", "oauth_client_id": "app-id"}


def settings(**values: object) -> Settings:
    return Settings(**{**BASE, "oauth_client_secret": "s3cret-value", **values})  # type: ignore[arg-type]


def test_one_account_from_the_plain_settings_with_xoauth2() -> None:
    s = settings(
        smtp_url="smtp://larande%40kommun.se@smtp.office365.com:587?starttls=true",
        smtp_auth="xoauth2",
        smtp_rate_per_minute=30,
        smtp_rate_per_day=10_000,
    )
    (account,) = s.accounts
    assert (account.name, account.transport, account.mailbox) == (
        "default",
        "smtp",
        "larande@kommun.se",
    )
    assert account.oauth is not None
    assert account.oauth.token_url == (
        "https://login.microsoftonline.com/kommun.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert account.oauth.scope == "https://outlook.office365.com/.default"
    assert (account.rate_per_minute, account.rate_per_day) == (30, 10_000)
    assert account.label == "smtp.office365.com:587/larande@kommun.se"


def test_accounts_in_a_toml_file_inherit_the_oauth_app(tmp_path: Path) -> None:
    path = tmp_path / "konton.toml"
    path.write_text(
        """
[[account]]
name = "larande1"
transport = "graph"
mailbox = "larande1@kommun.se"
rate_per_minute = 30
rate_per_day = 10000

[[account]]
name = "larande2"
transport = "graph"
mailbox = "larande2@kommun.se"
mail_from = "Lärande <larande2@kommun.se>"
concurrency = 10
""",
        encoding="utf-8",
    )
    first, second = settings(sending_accounts=str(path), smtp_rate_per_day=9000).accounts
    assert first.oauth is not None and first.oauth.scope == "https://graph.microsoft.com/.default"
    assert second.oauth is not None and first.oauth.key == second.oauth.key  # one token cache
    assert (first.rate_per_day, second.rate_per_day) == (10_000, 9000)  # own, else the default
    assert second.concurrency == 4  # Graph's limit per mailbox
    assert second.mail_from == "=?utf-8?q?L=C3=A4rande?= <larande2@kommun.se>"
    assert (first.label, second.label) == ("graph:larande1@kommun.se", "graph:larande2@kommun.se")


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        (
            [{"name": "a", "rate_per_day": 0}],
            "account 1 ('a'): rate_per_day: Input should be greater",
        ),
        ([{"name": "a"}, {"name": "b", "transprt": "graph"}], "account 2 ('b'): transprt: Extra"),
        ([{"name": "a"}, {"name": "a"}], "account 2 ('a'): name: 'a' is used by another account"),
        ([{"name": "x y"}], "account 1 ('x y'): name: String should match"),
        ([{"name": "a", "transport": "graph", "oauth_client_id": ""}], None),
        ([], "must list at least one account"),
        ([{"name": "a", "smtp_url": "http://x"}], "account 1 ('a'): smtp_url: SMTP_URL must start"),
    ],
)
def test_mistakes_name_the_account_and_the_field(
    accounts: list[object], message: str | None
) -> None:
    if message is None:  # the plain OAUTH_CLIENT_ID fills the gap
        assert settings(sending_accounts=json.dumps(accounts)).accounts[0].oauth is not None
        return
    with pytest.raises(ValidationError) as error:
        settings(sending_accounts=json.dumps(accounts))
    assert message in str(error.value)
    assert "s3cret-value" not in str(error.value)


def test_a_missing_secret_or_tenant_is_named_and_secrets_are_never_echoed() -> None:
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, mail_transport="graph", oauth_client_id="x")  # type: ignore[call-arg]
    assert "oauth_tenant: set OAUTH_TENANT" in str(error.value)
    secret = "very-secret-in-json"
    bad = json.dumps([{"name": "a", "oauth_client_secret": secret, "rate_per_hour": -1}])
    with pytest.raises(ValidationError) as error:
        settings(sending_accounts=bad)
    assert secret not in str(error.value)
    with pytest.raises(ValidationError) as error:
        settings(smtp_auth="xoauth2", smtp_url="smtp://u:pw@host:587")
    assert "smtp_url: has a password" in str(error.value)


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as error:
        settings(sending_accounts=str(tmp_path / "saknas.toml"))
    assert "saknas.toml cannot be read" in str(error.value)
