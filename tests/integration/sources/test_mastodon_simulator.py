"""The Mastodon simulator over real HTTP on loopback, read with the recording client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from requests.utils import parse_header_links

from hp_archive.sources.http import Exchange, RecordingHTTPClient
from hp_archive.sources.simulators.base import Fault, SimulatorServer
from hp_archive.sources.simulators.mastodon import MastodonSimulator, snowflake
from hp_archive.sources.simulators.scenario import Scenario

TOKEN = "mastodonTESTtoken0123456789abcdefghij"
RECORDED_AT = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def running() -> Iterator[tuple[SimulatorServer, Scenario]]:
    scenario = Scenario.department(posts=50, comments_per_post=4, days=100)
    with SimulatorServer(MastodonSimulator(scenario, valid_tokens={TOKEN})) as server:
        yield server, scenario


@pytest.fixture
def client() -> Iterator[RecordingHTTPClient]:
    with RecordingHTTPClient(clock=lambda: RECORDED_AT) as http:
        yield http


def get(
    client: RecordingHTTPClient, server: SimulatorServer, path: str, token: str | None = TOKEN, **params: Any
) -> Exchange:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(f"{server.url}{path}", params=params or None, headers=headers)


def body(exchange: Exchange) -> Any:
    return json.loads(exchange.response.body())


def links(exchange: Exchange) -> dict[str, dict[str, str]]:
    value = exchange.response.header("Link") or ""
    return {
        link["rel"]: dict(parse_qsl(urlsplit(link["url"]).query))
        for link in parse_header_links(value)
        if value
    }


def test_lookup_resolves_the_handle_with_or_without_the_domain(
    running: Any, client: RecordingHTTPClient
) -> None:
    server, scenario = running
    host = urlsplit(server.url).hostname
    for acct in (
        scenario.account.handle,
        f"{scenario.account.handle}@{host}",
        f"@{scenario.account.handle.lower()}",
    ):
        account = body(get(client, server, "/api/v1/accounts/lookup", acct=acct))
        assert (account["id"], account["acct"]) == (scenario.account.id, scenario.account.handle)
    missing = get(client, server, "/api/v1/accounts/lookup", acct="nobody")
    assert (missing.response.status, body(missing)) == (404, {"error": "Record not found"})


def test_statuses_page_newest_first_with_link_header_paging(
    running: Any, client: RecordingHTTPClient
) -> None:
    server, scenario = running
    path = f"/api/v1/accounts/{scenario.account.id}/statuses"
    first = get(client, server, path, limit=40)
    statuses = body(first)
    assert len(statuses) == 40
    ids = [int(s["id"]) for s in statuses]
    assert ids == sorted(ids, reverse=True)
    assert {s["account"]["id"] for s in statuses} == {scenario.account.id}
    assert links(first) == {
        "next": {"limit": "40", "max_id": statuses[-1]["id"]},
        "prev": {"limit": "40", "min_id": statuses[0]["id"]},
    }
    walked, page = list(statuses), first
    while "next" in links(page):
        page = get(client, server, path, **links(page)["next"])
        walked.extend(body(page))
    walked_ids = [int(s["id"]) for s in walked]
    assert walked_ids == sorted(walked_ids, reverse=True) and len(set(walked_ids)) == len(walked_ids)
    own_replies = sum(
        1
        for p in scenario.account.posts
        for c in p.comments
        for r in c.replies
        if r.author_id == scenario.account.id
    )
    assert len(walked) == 50 + own_replies
    # min_id pages forward from a cursor: the statuses just newer than it, newest first
    forward = body(get(client, server, path, limit=5, min_id=statuses[20]["id"]))
    assert [s["id"] for s in forward] == [s["id"] for s in statuses[15:20]]
    assert len(body(get(client, server, path, limit=500))) == 40  # the documented maximum
    assert len(body(get(client, server, path))) == 20  # the default


def test_exclude_replies_keeps_only_the_accounts_top_level_and_self_replies(
    running: Any, client: RecordingHTTPClient
) -> None:
    server, scenario = running
    statuses = body(
        get(
            client,
            server,
            f"/api/v1/accounts/{scenario.account.id}/statuses",
            limit=40,
            exclude_replies="true",
        )
    )
    assert all(s["in_reply_to_id"] is None for s in statuses)


def test_status_entities_have_the_documented_fields(running: Any, client: RecordingHTTPClient) -> None:
    server, scenario = running
    post = next(p for p in scenario.account.live_posts() if p.media and p.comments)
    status = body(get(client, server, f"/api/v1/statuses/{snowflake(post.created, post.id)}"))
    for name in ("id", "uri", "url", "created_at", "edited_at", "content", "spoiler_text", "visibility",
                 "in_reply_to_id", "account", "media_attachments", "replies_count", "reblog", "poll", "card"):  # fmt: skip
        assert name in status, name
    assert status["created_at"].endswith("Z") and len(status["created_at"]) == 24
    (first, *_rest) = status["media_attachments"]
    assert set(first) >= {"id", "type", "url", "preview_url", "description", "meta", "blurhash"}
    media = client.get(first["url"])
    assert media.response.status == 200 and media.response.content_type == "image/png"
    assert media.response.body() == post.media[0].data


def test_context_nests_replies_and_drops_deleted_threads(running: Any, client: RecordingHTTPClient) -> None:
    server, scenario = running
    post = next(p for p in scenario.account.live_posts() if any(c.replies for c in p.comments))
    path = f"/api/v1/statuses/{snowflake(post.created, post.id)}/context"
    context = body(get(client, server, path))
    assert context["ancestors"] == []
    by_id = {s["id"]: s for s in context["descendants"]}
    root = snowflake(post.created, post.id)
    for status in context["descendants"]:
        parent = status["in_reply_to_id"]
        assert parent == root or parent in by_id
    comment = next(c for c in post.comments if c.replies)
    comment.deleted = True
    after = body(get(client, server, path))
    gone = {snowflake(comment.created, comment.id)} | {snowflake(r.created, r.id) for r in comment.replies}
    assert not gone & {s["id"] for s in after["descendants"]}
    reply = comment.replies[0]
    assert (
        get(client, server, f"/api/v1/statuses/{snowflake(reply.created, reply.id)}/context").response.status
        == 404
    )


def test_history_lists_every_revision_oldest_first(running: Any, client: RecordingHTTPClient) -> None:
    server, scenario = running
    post = scenario.account.live_posts()[0]
    path = f"/api/v1/statuses/{snowflake(post.created, post.id)}/history"
    (only,) = body(get(client, server, path))
    assert post.text.split(":")[0] in only["content"]
    scenario.advance()
    edited = next(p for p in scenario.account.posts if p.history and not p.deleted)
    revisions = body(get(client, server, f"/api/v1/statuses/{snowflake(edited.created, edited.id)}/history"))
    assert len(revisions) == 2
    assert "UPDATE: this has been resolved." not in revisions[0]["content"]
    assert "UPDATE: this has been resolved." in revisions[1]["content"]
    assert revisions[0]["created_at"] < revisions[1]["created_at"]


def test_tokens_errors_and_rate_limits_look_like_mastodon(running: Any, client: RecordingHTTPClient) -> None:
    server, scenario = running
    path = f"/api/v1/accounts/{scenario.account.id}/statuses"
    public = get(client, server, path, token=None)
    assert public.response.status == 200  # public statuses need no token
    refused = get(client, server, path, token="revoked-token")
    assert (refused.response.status, body(refused)) == (401, {"error": "The access token is invalid"})
    assert 'error="invalid_token"' in (refused.response.header("WWW-Authenticate") or "")
    assert refused.response.header("X-RateLimit-Limit") == "300"
    server.inject(Fault("429", path=r"/statuses", retry_after=90))
    limited = get(client, server, path)
    assert (limited.response.status, body(limited)) == (429, {"error": "Too many requests"})
    assert limited.response.header("X-RateLimit-Remaining") == "0"
    reset = datetime.fromisoformat(limited.response.header("X-RateLimit-Reset") or "")
    assert (reset - scenario.now()).total_seconds() == 90
    assert limited.response.header("Retry-After") is None
    server.inject(Fault("500", path=r"/statuses"))
    assert get(client, server, path).response.content_type == "text/html"


def test_same_state_same_bytes(running: Any, client: RecordingHTTPClient) -> None:
    server, scenario = running
    post = scenario.account.live_posts()[0]
    paths = [
        f"/api/v1/accounts/{scenario.account.id}/statuses",
        f"/api/v1/statuses/{snowflake(post.created, post.id)}/context",
        "/api/v1/accounts/lookup",
    ]
    for path in paths:
        params = {"acct": scenario.account.handle} if path.endswith("lookup") else {"limit": 40}
        one = get(client, server, path, **params).response.body()
        two = get(client, server, path, **params).response.body()
        assert one == two
