"""Microsoft Graph sendMail against a loopback stand-in: tokens, MIME, throttling, in-flight."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app.campaigns.models import Campaign, CampaignStatus
from app.core.clock import FakeClock
from app.core.runtime import Runtime
from app.outbox.models import Delivery, DeliveryStatus
from tests.delivery.m365 import CLIENT_ID, CLIENT_SECRET, GRAPH, GraphServer, TokenServer
from tests.delivery.worker_process import SLOT, make_campaign
from tests.flow import tick

MAILBOX = "kurs@kommun.example"


@pytest.fixture
def tokens(clock: FakeClock) -> Iterator[TokenServer]:
    server = TokenServer(clock).start()
    yield server
    server.stop()


def use_graph(runtime: Runtime, graph: GraphServer, tokens: TokenServer) -> None:
    s = runtime.settings
    s.mail_transport = "graph"
    s.graph_url = graph.url
    s.oauth_token_url = tokens.url
    s.oauth_client_id = CLIENT_ID
    s.oauth_client_secret = SecretStr(CLIENT_SECRET)


def test_every_email_arrives_once_with_at_most_four_requests_in_flight(
    runtime: Runtime, clock: FakeClock, tokens: TokenServer
) -> None:
    graph = GraphServer(tokens, {MAILBOX}, throttle_every=17, retry_after="0.5").start()
    use_graph(runtime, graph, tokens)
    runtime.settings.smtp_concurrency = 16  # asks for more: Graph allows 4 per mailbox
    make_campaign(runtime, 60)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        report = tick(runtime)
    finally:
        graph.stop()
    assert report.sent == 60 and report.retried == 0
    received = graph.counts()
    assert len(received) == 60 and set(received.values()) == {1}  # every e-mail once
    assert {mailbox for mailbox, _ in graph.ids} == {MAILBOX}
    assert sorted(graph.recipients) == sorted(
        f"Förnamn{i} Efternamn <p{i}@kommun.example>" for i in range(60)
    )
    assert graph.most_in_flight == 4, "Graph's 4 concurrent requests per mailbox"
    assert graph.throttled >= 3, "the stand-in said 429 now and then"
    assert graph.too_early == 0, "nothing was sent before Retry-After had passed"
    assert graph.problems == [] and graph.unauthorized == 0
    assert tokens.scopes_asked == [GRAPH]


def test_an_expired_token_is_refreshed_once_and_the_send_goes_on(
    runtime: Runtime, clock: FakeClock, tokens: TokenServer
) -> None:
    graph = GraphServer(tokens, {MAILBOX}).start()
    use_graph(runtime, graph, tokens)
    runtime.settings.smtp_concurrency = 1
    make_campaign(runtime, 3)
    clock.set(SLOT + timedelta(minutes=1))
    original = graph.handle
    served = 0

    def expire_after_the_first(path, headers, body):  # type: ignore[no-untyped-def]
        nonlocal served
        answer = original(path, headers, body)
        served += 1
        if served == 1:
            tokens.expire_all()  # Graph will answer 401 to the token we hold
        return answer

    graph.handle = expire_after_the_first  # type: ignore[method-assign]
    try:
        report = tick(runtime)
    finally:
        graph.stop()
    assert report.sent == 3 and graph.count() == 3
    assert graph.unauthorized == 1 and tokens.fetches == 2


def test_no_mail_send_permission_pauses_the_campaign_with_what_to_do(
    runtime: Runtime, clock: FakeClock, tokens: TokenServer
) -> None:
    graph = GraphServer(tokens, mailboxes=set()).start()  # the app lacks Mail.Send
    use_graph(runtime, graph, tokens)
    campaign_id = make_campaign(runtime, 5)
    clock.set(SLOT + timedelta(minutes=1))
    try:
        report = tick(runtime)
    finally:
        graph.stop()
    assert report.sent == 0 and graph.count() == 0
    with runtime.session_factory() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.status == CampaignStatus.paused
        assert "Mail.Send" in campaign.status_reason
        assert "Graph 403 ErrorAccessDenied" in campaign.status_reason
        assert DeliveryStatus.sent not in set(session.scalars(select(Delivery.status)))
