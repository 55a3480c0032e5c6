"""The whole sign-in with the municipality's account in Chromium, against the stand-in provider
on loopback: a mapped person gets a session with the right role; an ID token with a wrong
signature, audience or nonce, or an expired one, is refused; so is a person with no mapped role,
and a forged or replayed callback. Refused means a Swedish page and no session cookie."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from app.auth.audit import Person
from app.auth.models import Role
from app.core.runtime import Runtime
from app.dashboard.auth import COOKIE, read_session
from app.main import create_app
from tests.a11y.browser import chromium, live_server, need_browser
from tests.sso.provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider

ANNA = {"sub": "AAAA-anna-subject", "name": "Anna Berg", "roles": ["Nanolearn.Redaktor"]}
ROLE_MAP = {
    "Nanolearn.Admin": "admin",
    "Nanolearn.Redaktor": "editor",
    "Nanolearn.Rapport": "reporter",
}


@pytest.fixture
def provider(runtime: Runtime) -> Iterator[Provider]:
    with running_provider(runtime.clock.now) as provider:
        yield provider


@pytest.fixture
def site(runtime: Runtime, provider: Provider) -> Iterator[tuple[FastAPI, str]]:
    need_browser()
    settings = runtime.settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": SecretStr(CLIENT_SECRET),
            "oidc_role_map": ROLE_MAP,
            "oidc_contact": "IT-servicedesk (telefon 123 45)",
        }
    )
    app = create_app(Runtime(settings, runtime.engine, runtime.session_factory, runtime.clock))
    with live_server(app) as base:
        app.state.settings = settings.model_copy(update={"base_url": base})
        yield app, base


def _session_user(runtime: Runtime, context: Any) -> Any:
    cookies = [c for c in context.cookies() if c["name"] == COOKIE]
    if not cookies:
        return None
    with runtime.session_factory() as session:
        return read_session(
            session, runtime.settings.secret(), cookies[0]["value"], runtime.clock.now()
        )


def _sign_in(page: Any, base: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/dashboard/login")
    expect(page.get_by_label("API-nyckel")).to_be_visible()
    page.get_by_role("link", name="Logga in med kommunens konto").click()
    expect(page.get_by_role("heading", name="Kommunens inloggning")).to_be_visible()
    page.get_by_role("button", name="Godkänn").click()


def test_a_mapped_person_signs_in_with_the_right_role(
    runtime: Runtime, provider: Provider, site: tuple[FastAPI, str]
) -> None:
    from playwright.sync_api import expect

    _, base = site
    provider.claims = dict(ANNA)
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        _sign_in(page, base)
        expect(page).to_have_url(f"{base}/dashboard")
        expect(page.get_by_text("Inloggad som")).to_contain_text("Anna Berg")
        user = _session_user(runtime, context)
        assert isinstance(user, Person)
        assert (user.subject, user.name, user.role) == (
            "AAAA-anna-subject",
            "Anna Berg",
            Role.editor,
        )
        # The same callback again (a replay) signs no one in: its flow cookie is spent.
        replay = browser.new_context()
        replayed = replay.new_page()
        replayed.goto(provider.last_redirect)
        expect(replayed.get_by_role("heading", name="Inloggningen gick inte")).to_be_visible()
        expect(replayed.get_by_role("alert")).to_contain_text("Ingen har loggats in")
        assert _session_user(runtime, replay) is None


def test_the_strongest_mapped_role_wins(
    runtime: Runtime, provider: Provider, site: tuple[FastAPI, str]
) -> None:
    from playwright.sync_api import expect

    _, base = site
    provider.claims = {**ANNA, "roles": ["Nanolearn.Rapport", "Nanolearn.Admin", "Other"]}
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        _sign_in(page, base)
        expect(page).to_have_url(f"{base}/dashboard")
        assert _session_user(runtime, context).role == Role.admin


@pytest.mark.parametrize("wrong", ["signature", "audience", "nonce", "expired"])
def test_a_wrong_id_token_is_refused(
    runtime: Runtime, provider: Provider, site: tuple[FastAPI, str], wrong: str
) -> None:
    from playwright.sync_api import expect

    _, base = site
    provider.claims, provider.misbehave = dict(ANNA), wrong
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        _sign_in(page, base)
        expect(page.get_by_role("heading", name="Inloggningen gick inte")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("kunde inte kontrolleras")
        assert provider.token_requests == 1
        assert _session_user(runtime, context) is None
        page.goto(f"{base}/dashboard")
        expect(page).to_have_url(f"{base}/dashboard/login")


def test_a_person_without_a_mapped_role_is_told_whom_to_ask(
    runtime: Runtime, provider: Provider, site: tuple[FastAPI, str]
) -> None:
    from playwright.sync_api import expect

    _, base = site
    provider.claims = {**ANNA, "roles": ["Something.Else"]}
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        _sign_in(page, base)
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("ingen behörighet till Nanolearn")
        expect(alert).to_contain_text("IT-servicedesk (telefon 123 45)")
        assert _session_user(runtime, context) is None


def test_a_forged_callback_signs_no_one_in(
    runtime: Runtime, provider: Provider, site: tuple[FastAPI, str]
) -> None:
    from playwright.sync_api import expect

    _, base = site
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        response = page.goto(f"{base}/dashboard/login/sso/callback?code=stolen&state=guessed")
        assert response is not None and response.status == 400
        expect(page.get_by_role("alert")).to_contain_text("Ingen har loggats in")
        assert provider.token_requests == 0
        assert _session_user(runtime, context) is None
