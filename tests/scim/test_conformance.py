"""scim2-tester, an independent SCIM conformance checker, against /scim/v2 served by uvicorn on
loopback: discovery, create, read, replace, PATCH and delete of Users."""

from __future__ import annotations

import httpx2
from fastapi.testclient import TestClient
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from app.auth.models import Role
from app.core.runtime import Runtime
from app.main import create_app
from tests.a11y.browser import live_server
from tests.conftest import _key_headers


def test_scim2_tester_finds_no_error(runtime: Runtime, client: TestClient) -> None:
    headers = _key_headers(runtime, Role.provisioning)
    with live_server(create_app(runtime)) as base:
        http = httpx2.Client(base_url=f"{base}/scim/v2", headers=headers, timeout=10)
        scim = SyncSCIMClient(http)
        results = check_server(scim)
    failed = [f"{r.title}: {r.reason}" for r in results if r.status == Status.ERROR]
    assert results, "the checker ran nothing"
    assert not failed, "\n".join(failed)
    assert sum(r.status == Status.SUCCESS for r in results) >= 10
