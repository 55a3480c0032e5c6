"""The base URL of the links in the e-mails: its default follows the address served, and one
that no recipient can open is refused (app.core.config.base_url_problem)."""

from __future__ import annotations

import pytest

from app.core.config import Settings, base_url_problem, is_loopback


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_the_default_base_url_follows_the_host_and_port_served() -> None:
    settings = make()
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.serving(None, 8124).base_url == "http://127.0.0.1:8124"
    assert settings.serving("::1", 8124).base_url == "http://[::1]:8124"
    assert make(port=9000).serving().base_url == "http://127.0.0.1:9000"
    assert settings.serving(None, 8124).port == 8124
    assert settings.port == 8000  # a copy: the cached settings stay as they were


def test_a_base_url_that_was_set_stays() -> None:
    settings = make(base_url="https://nanolearn.kommun.se")
    assert settings.serving("0.0.0.0", 8124).base_url == "https://nanolearn.kommun.se"


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({}, False),  # 127.0.0.1 on 127.0.0.1: a local run
        ({"host": "localhost"}, False),
        ({"host": "0.0.0.0"}, True),  # the container default before BASE_URL is set
        ({"host": "::"}, True),
        ({"host": "0.0.0.0", "base_url": "http://localhost:8000"}, True),
        ({"host": "0.0.0.0", "base_url": "http://127.0.0.2:8000"}, True),
        ({"host": "10.1.2.3", "base_url": "http://[::1]:8000"}, True),
        ({"host": "0.0.0.0", "base_url": "http://0.0.0.0:8000"}, True),
        ({"host": "127.0.0.1", "base_url": "http://0.0.0.0:8000"}, True),
        ({"host": "0.0.0.0", "base_url": "https://nanolearn.kommun.se"}, False),
        ({"host": "0.0.0.0", "base_url": "http://10.1.2.3:8000"}, False),
        ({"host": "0.0.0.0", "allow_local_base_url": True}, False),
        (
            {"host": "0.0.0.0", "base_url": "http://localhost:8000", "allow_local_base_url": True},
            False,
        ),
    ],
)
def test_a_base_url_no_recipient_can_open_is_refused(
    values: dict[str, object], refused: bool
) -> None:
    problem = base_url_problem(make(**values))
    assert (problem is not None) is refused, problem
    if problem:
        assert "NANOLEARN_BASE_URL" in problem and "NANOLEARN_ALLOW_LOCAL_BASE_URL=true" in problem


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("192.0.2.7", False),
        ("::ffff:192.0.2.7", False),
        ("testclient", False),
        ("", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
