"""The Graph API simulator over real HTTP on loopback, read with the recording client."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from hp_archive.settings import Account
from hp_archive.sources.base import ArchivedResponse
from hp_archive.sources.facebook import FacebookPagesSource
from hp_archive.sources.http import Exchange, RecordingHTTPClient
from hp_archive.sources.simulators.base import Fault, SimulatorServer
from hp_archive.sources.simulators.facebook import FacebookGraphSimulator
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimPost

PAGE_TOKEN = "EAAGpageTOKENfor0test0only0123456789"
APP_TOKEN = "1234567890|appTOKENforTESTonly"
RECORDED_AT = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@dataclass
class Reply:
    exchange: Exchange

    @property
    def status(self) -> int:
        return self.exchange.response.status

    def header(self, name: str) -> str | None:
        return self.exchange.response.header(name)

    @property
    def body(self) -> bytes:
        return self.exchange.response.body()

    def json(self) -> Any:
        return json.loads(self.body)

    def archived(self) -> ArchivedResponse:
        return ArchivedResponse(self.exchange.url, self.exchange.date, self.exchange.response)


class Graph:
    """A tiny Graph client over the recording client, choosing how the token travels."""

    def __init__(self, server: SimulatorServer, client: RecordingHTTPClient) -> None:
        self.server = server
        self.client = client

    def get(
        self,
        path: str,
        *,
        token: str | None = PAGE_TOKEN,
        via: str = "header",
        version: str = "/v25.0",
        **params: Any,
    ) -> Reply:
        headers = {}
        if token is not None and via == "header":
            headers["Authorization"] = f"OAuth {token}"
        elif token is not None:
            params["access_token"] = token
        url = path if path.startswith("http") else f"{self.server.url}{version}{path}"
        return Reply(self.client.get(url, params=params or None, headers=headers))

    def walk(self, path: str, **params: Any) -> list[Reply]:
        """Follow paging.next to exhaustion (the header goes with every request)."""
        pages = [self.get(path, **params)]
        while "next" in pages[-1].json().get("paging", {}):
            pages.append(self.get(pages[-1].json()["paging"]["next"]))
            assert len(pages) < 100
        return pages


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatorServer]:
    # one server for the module (stopping one costs half a second); each test gets its own story
    app = FacebookGraphSimulator(Scenario.department(), valid_tokens={PAGE_TOKEN}, app_tokens={APP_TOKEN})
    with SimulatorServer(app) as started:
        yield started


@pytest.fixture
def scenario() -> Scenario:
    return Scenario.department()


@pytest.fixture
def server(running: SimulatorServer, scenario: Scenario) -> Iterator[SimulatorServer]:
    assert isinstance(running.app, FacebookGraphSimulator)
    running.app.scenario = scenario
    running.clear_faults()
    yield running
    running.clear_faults()


@pytest.fixture
def graph(server: SimulatorServer) -> Iterator[Graph]:
    with RecordingHTTPClient(clock=lambda: RECORDED_AT) as client:
        yield Graph(server, client)


def post_id(scenario: Scenario, post: SimPost) -> str:
    return f"{scenario.account.id}_{post.id}"


def comment_id(post: SimPost, comment: SimComment) -> str:
    return f"{post.id}_{comment.id}"


def busiest_post(scenario: Scenario) -> SimPost:
    """A live post with replies (so stream and toplevel differ)."""
    return max(scenario.account.live_posts(), key=lambda p: sum(len(c.replies) for c in p.comments))


def graph_error(reply: Reply) -> dict[str, Any]:
    assert reply.status == 400
    error = reply.json()["error"]
    assert isinstance(error["fbtrace_id"], str)
    return error  # type: ignore[no-any-return]


# -- the Page and its posts ------------------------------------------------------------------


def test_page_node_by_id_or_username(graph: Graph, scenario: Scenario) -> None:
    by_id = graph.get(f"/{scenario.account.id}", fields="id,name,username,link")
    by_name = graph.get("/HanoverParkPD", version="", fields="id,name,username,link")
    default = graph.get(f"/{scenario.account.id}")

    assert by_id.json() == {
        "id": "104857600000001",
        "name": "Hanover Park Police Department",
        "username": "HanoverParkPD",
        "link": "https://www.facebook.com/HanoverParkPD",
    }
    assert by_name.body == by_id.body
    assert default.json() == {"name": "Hanover Park Police Department", "id": "104857600000001"}
    assert by_id.header("facebook-api-version") == "v25.0"
    assert by_id.header("Content-Type") == "application/json; charset=UTF-8"
    usage = json.loads(by_id.header("X-Business-Use-Case-Usage") or "")
    assert usage["104857600000001"][0]["type"] == "pages"


def test_posts_page_through_to_exhaustion(graph: Graph, scenario: Scenario) -> None:
    pages = graph.walk(f"/{scenario.account.id}/posts", fields="id,created_time", limit=10)

    assert [len(p.json()["data"]) for p in pages] == [10, 10, 10, 6]
    ids = [post["id"] for p in pages for post in p.json()["data"]]
    assert ids == [post_id(scenario, p) for p in scenario.account.live_posts()]  # newest first
    first, last = pages[0].json()["paging"], pages[-1].json()["paging"]
    assert "previous" not in first and "next" in first
    assert "next" not in last and "previous" in last
    for cursor in first["cursors"].values():
        base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))  # opaque, but base64
    created = [post["created_time"] for p in pages for post in p.json()["data"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", t) for t in created)


def test_limit_defaults_to_25_and_may_not_exceed_100(graph: Graph, scenario: Scenario) -> None:
    assert len(graph.get(f"/{scenario.account.id}/posts").json()["data"]) == 25
    assert len(graph.get(f"/{scenario.account.id}/posts", limit=100).json()["data"]) == 36

    error = graph_error(graph.get(f"/{scenario.account.id}/posts", limit=101))
    assert error["code"] == 100


@pytest.mark.parametrize("style", ["unix", "iso"])
def test_since_and_until_bound_created_time(graph: Graph, scenario: Scenario, style: str) -> None:
    posts = scenario.account.live_posts()
    since, until = posts[20].created, posts[5].created
    if style == "unix":
        bounds = {"since": int(since.timestamp()), "until": int(until.timestamp())}
    else:
        bounds = {"since": since.strftime("%Y-%m-%dT%H:%M:%S+0000"), "until": until.isoformat()}
    reply = graph.get(f"/{scenario.account.id}/posts", fields="id", limit=100, **bounds)

    assert [p["id"] for p in reply.json()["data"]] == [post_id(scenario, p) for p in posts[5:21]]


def test_requested_fields_are_honoured_with_nesting(graph: Graph, scenario: Scenario) -> None:
    fields = "message,from{name},attachments{type,target{id},media{image{src}},subattachments{target{id}}}"
    data = graph.get(f"/{scenario.account.id}/posts", fields=fields, limit=100).json()["data"]
    by_id = {p["id"]: p for p in data}
    album = next(p for p in scenario.account.posts if len(p.media) == 2)
    single = next(p for p in scenario.account.posts if len(p.media) == 1)
    plain = next(p for p in scenario.account.posts if not p.media)

    assert list(by_id[post_id(scenario, plain)]) == ["message", "from", "id"]  # id comes last
    assert by_id[post_id(scenario, plain)]["from"] == {
        "name": scenario.account.name,
        "id": scenario.account.id,
    }
    photo = by_id[post_id(scenario, single)]["attachments"]["data"][0]
    assert list(photo) == ["type", "target", "media"]
    assert photo["target"] == {"id": single.media[0].id}
    assert list(photo["media"]["image"]) == ["src"]
    album_attachment = by_id[post_id(scenario, album)]["attachments"]["data"][0]
    assert album_attachment["type"] == "album"
    assert album_attachment["subattachments"]["data"] == [{"target": {"id": m.id}} for m in album.media]


def test_unknown_and_deprecated_fields_are_errors(graph: Graph, scenario: Scenario) -> None:
    unknown = graph_error(graph.get(f"/{scenario.account.id}/posts", fields="id,my_name"))
    deprecated = graph_error(graph.get(f"/{scenario.account.id}/posts", fields="id,link"))

    assert unknown["code"] == 100
    assert unknown["message"] == "(#100) Tried accessing nonexisting field (my_name) on node type (PagePost)"
    assert deprecated["code"] == 12


def test_comment_summary_nested_in_posts(graph: Graph, scenario: Scenario) -> None:
    post = busiest_post(scenario)
    reply = graph.get(f"/{post_id(scenario, post)}", fields="comments.filter(stream).summary(true).limit(0)")

    comments = reply.json()["comments"]
    assert comments["data"] == []
    assert comments["summary"]["total_count"] == len(post.comments) + sum(
        len(c.replies) for c in post.comments
    )


# -- comments --------------------------------------------------------------------------------


def test_toplevel_is_the_default_and_stream_adds_replies(graph: Graph, scenario: Scenario) -> None:
    post = busiest_post(scenario)
    path = f"/{post_id(scenario, post)}/comments"
    fields = "id,message,created_time,from{id,name},parent{id}"
    toplevel = graph.get(path, fields=fields, summary="true", limit=100).json()
    stream = graph.get(path, fields=fields, filter="stream", summary="true", limit=100).json()

    top_ids = [comment_id(post, c) for c in sorted(post.comments, key=lambda c: (c.created, c.id))]
    assert [c["id"] for c in toplevel["data"]] == top_ids
    assert all("parent" not in c for c in toplevel["data"])
    assert toplevel["summary"] == {
        "order": "chronological",
        "total_count": len(top_ids),
        "can_comment": True,
    }

    replies = {comment_id(post, r): comment_id(post, c) for c in post.comments for r in c.replies}
    assert len(stream["data"]) == len(top_ids) + len(replies) == stream["summary"]["total_count"]
    assert {c["id"]: c["parent"]["id"] for c in stream["data"] if "parent" in c} == replies
    times = [c["created_time"] for c in stream["data"]]
    assert times == sorted(times)

    reverse = graph.get(path, fields="id", order="reverse_chronological", limit=100).json()
    assert [c["id"] for c in reverse["data"]] == top_ids[::-1]


def test_comments_page_with_cursors(graph: Graph, scenario: Scenario) -> None:
    post = busiest_post(scenario)
    pages = graph.walk(f"/{post_id(scenario, post)}/comments", fields="id", filter="stream", limit=3)

    ids = [c["id"] for p in pages for c in p.json()["data"]]
    assert len(ids) == len(set(ids)) == len(post.comments) + sum(len(c.replies) for c in post.comments)
    assert "next" not in pages[-1].json()["paging"]


def test_replies_of_a_comment(graph: Graph, scenario: Scenario) -> None:
    post = busiest_post(scenario)
    parent = max(post.comments, key=lambda c: len(c.replies))
    reply = graph.get(f"/{comment_id(post, parent)}/comments", fields="id,parent{id},permalink_url")

    data = reply.json()["data"]
    assert [c["id"] for c in data] == [
        comment_id(post, r) for r in sorted(parent.replies, key=lambda r: (r.created, r.id))
    ]
    assert all(c["parent"]["id"] == comment_id(post, parent) for c in data)
    assert all(f"comment_id={parent.id}&reply_comment_id=" in c["permalink_url"] for c in data)


def test_a_page_token_sees_hidden_comments_and_authors(graph: Graph, scenario: Scenario) -> None:
    post = busiest_post(scenario)
    hidden = post.comments[0]
    hidden.hidden = True
    path = f"/{post_id(scenario, post)}/comments"
    fields = "id,message,from{id,name},is_hidden,can_hide,like_count,comment_count"

    page_view = graph.get(path, fields=fields, limit=100).json()["data"]
    app_view = graph.get(path, token=APP_TOKEN, fields=fields, limit=100).json()["data"]

    shown = next(c for c in page_view if c["id"] == comment_id(post, hidden))
    assert shown["is_hidden"] is True
    assert shown["from"] == {"id": hidden.author_id, "name": hidden.author_name}
    assert shown["comment_count"] == len(hidden.replies)
    assert all("from" in c and "can_hide" in c for c in page_view)
    # Page Public Content Access: no hidden comments, no authors, no comment ids.
    assert len(app_view) == len(page_view) - 1
    assert all("from" not in c and "id" not in c and "can_hide" not in c for c in app_view)
    assert hidden.text not in [c.get("message") for c in app_view]


def test_comment_attachments_point_at_the_cdn(graph: Graph, scenario: Scenario) -> None:
    post, comment = next((p, c) for p, c in scenario.iter_comments() if c.media is not None)
    fields = "attachment{type,media{image{src,height,width}},target{id,url},url}"
    data = graph.get(f"/{comment_id(post, comment)}", fields=fields).json()

    assert comment.media is not None
    attachment = data["attachment"]
    assert attachment["type"] == "photo"
    assert attachment["target"]["id"] == comment.media.id
    image = graph.get(attachment["media"]["image"]["src"], token=None)
    assert image.status == 200
    assert image.header("Content-Type") == "image/png"
    assert image.body == comment.media.data


# -- deletions -------------------------------------------------------------------------------


def test_deleted_objects_are_graph_method_exceptions(graph: Graph, scenario: Scenario) -> None:
    post = busiest_post(scenario)
    parent = max(post.comments, key=lambda c: len(c.replies))
    orphan = parent.replies[0]
    parent.deleted = True

    stream = graph.get(f"/{post_id(scenario, post)}/comments", fields="id", filter="stream", limit=100)
    listed = {c["id"] for c in stream.json()["data"]}
    assert comment_id(post, parent) not in listed
    assert not {comment_id(post, r) for r in parent.replies} & listed  # replies go with it

    for path in (
        f"/{comment_id(post, parent)}",
        f"/{comment_id(post, orphan)}",
        "/104857600000001_999999",
    ):
        error = graph_error(graph.get(path))
        assert (error["code"], error["error_subcode"], error["type"]) == (
            100,
            33,
            "GraphMethodException",
        )
        assert "does not exist, cannot be loaded due to missing permissions" in error["message"]

    post.deleted = True
    assert graph_error(graph.get(f"/{post_id(scenario, post)}/comments"))["error_subcode"] == 33
    ids = [p["id"] for p in graph.get("/104857600000001/posts", fields="id", limit=100).json()["data"]]
    assert post_id(scenario, post) not in ids


# -- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["header", "query"])
def test_the_token_is_echoed_only_when_it_came_in_the_query(
    graph: Graph, scenario: Scenario, via: str
) -> None:
    reply = graph.get(f"/{scenario.account.id}/posts", via=via, fields="id", limit=5)
    following = reply.json()["paging"]["next"]
    query = dict(parse_qsl(urlsplit(following).query))

    assert (PAGE_TOKEN in reply.body.decode()) is (via == "query")
    assert query.get("access_token") == (PAGE_TOKEN if via == "query" else None)
    assert query["pretty"] == "0" and query["fields"] == "id" and query["limit"] == "5"


def test_bearer_header_is_accepted(graph: Graph, scenario: Scenario) -> None:
    reply = Reply(
        graph.client.get(
            f"{graph.server.url}/v25.0/{scenario.account.id}",
            headers={"Authorization": f"Bearer {PAGE_TOKEN}"},
        )
    )

    assert reply.status == 200


@pytest.mark.parametrize("token", ["EAAGexpiredTOKEN000000000000", None])
def test_unknown_or_missing_token(graph: Graph, scenario: Scenario, token: str | None) -> None:
    reply = graph.get(f"/{scenario.account.id}/posts", token=token)
    error = graph_error(reply)

    if token is None:
        assert error["code"] == 104
        return
    assert (error["code"], error["error_subcode"], error["type"]) == (190, 463, "OAuthException")
    assert error["message"].startswith("Error validating access token: Session has expired on ")
    assert (
        reply.header("WWW-Authenticate") == f'OAuth "Facebook Platform" "invalid_token" "{error["message"]}"'
    )
    assert FacebookPagesSource(_account()).classify(reply.archived()).action == "auth"


# -- faults ----------------------------------------------------------------------------------


def _account() -> Account:
    return Account(id="hppd-facebook", platform="facebook", handle="104857600000001")


@pytest.mark.parametrize(("token", "code"), [(PAGE_TOKEN, 80001), (APP_TOKEN, 4)])
def test_rate_limit_fault_has_the_graph_shape(
    graph: Graph, scenario: Scenario, token: str, code: int
) -> None:
    graph.server.inject(Fault("429", path="/posts$", retry_after=90))
    reply = graph.get(f"/{scenario.account.id}/posts", token=token)

    error = graph_error(reply)
    assert error["code"] == code
    assert reply.header("Retry-After") is None  # Meta documents none
    assert reply.header(
        "WWW-Authenticate",
    ).startswith('OAuth "Facebook Platform" "invalid_request" "(#')  # type: ignore[union-attr]
    verdict = FacebookPagesSource(_account()).classify(reply.archived())
    assert verdict.action == "rate-limited"
    if code == 80001:
        usage = json.loads(reply.header("X-Business-Use-Case-Usage") or "")
        assert usage["104857600000001"][0]["estimated_time_to_regain_access"] == 2
        assert verdict.retry_after == 120.0
    # the fault is spent: the next call is answered normally
    assert graph.get(f"/{scenario.account.id}/posts", token=token).status == 200


def test_server_error_fault(graph: Graph, scenario: Scenario) -> None:
    graph.server.inject(Fault("500"))
    reply = graph.get(f"/{scenario.account.id}/posts")

    assert reply.status == 500
    error = reply.json()["error"]
    assert (error["code"], error["is_transient"], error["type"]) == (2, True, "OAuthException")
    assert error["message"] == "An unexpected error has occurred. Please retry your request later."
    assert FacebookPagesSource(_account()).classify(reply.archived()).action == "retry"


def test_expired_token_fault(graph: Graph, scenario: Scenario) -> None:
    graph.server.inject(Fault("expired-token"))
    error = graph_error(graph.get(f"/{scenario.account.id}/posts"))

    assert (error["code"], error["error_subcode"]) == (190, 463)


def test_malformed_fault_is_retried_and_unparsed(graph: Graph, scenario: Scenario) -> None:
    graph.server.inject(Fault("malformed"))
    reply = graph.get(f"/{scenario.account.id}/posts")

    assert reply.status == 200
    with pytest.raises(ValueError):
        reply.json()
    assert FacebookPagesSource(_account()).classify(reply.archived()).action == "retry"
    assert FacebookPagesSource.parse(reply.archived()).unparsed[0].startswith("malformed JSON")


# -- determinism and the CDN -----------------------------------------------------------------


def _without_signatures(body: bytes) -> bytes:
    return re.sub(rb"oh=00_[0-9a-f]+&oe=[0-9A-F]+", b"oh=&oe=", body)


def test_same_state_gives_byte_identical_json(graph: Graph, scenario: Scenario) -> None:
    post = busiest_post(scenario)
    requests = [
        (f"/{scenario.account.id}/posts", {"fields": FIELDS_POSTS, "limit": 100}),
        (
            f"/{post_id(scenario, post)}/comments",
            {"fields": FIELDS_COMMENTS, "filter": "stream", "summary": "true", "limit": 100},
        ),
    ]
    first = [graph.get(path, **params) for path, params in requests]
    again = [graph.get(path, **params) for path, params in requests]
    assert [r.body for r in again] == [r.body for r in first]
    assert [r.header("ETag") for r in again] == [r.header("ETag") for r in first]

    # A night passes with nothing changed: only the CDN signatures differ.
    scenario.night += 1
    later = [graph.get(path, **params) for path, params in requests]
    assert later[0].body != first[0].body
    assert [_without_signatures(r.body) for r in later] == [_without_signatures(r.body) for r in first]


FIELDS_POSTS = "id,created_time,updated_time,message,permalink_url,from{id,name},attachments{media_type,type,target{id,url},media{image{src,height,width}},subattachments}"
FIELDS_COMMENTS = "id,message,created_time,from{id,name},parent{id},is_hidden,can_hide,like_count,comment_count,attachment,permalink_url"


def test_cdn_urls_change_nightly_and_expire(graph: Graph, scenario: Scenario) -> None:
    single = next(p for p in scenario.account.live_posts() if len(p.media) == 1)
    fields = "attachments{target{id},media{image{src}}}"

    def src() -> str:
        attachment = graph.get(f"/{post_id(scenario, single)}", fields=fields).json()["attachments"]["data"][
            0
        ]
        assert attachment["target"]["id"] == single.media[0].id  # the stable identity
        return str(attachment["media"]["image"]["src"])

    tonight = src()
    assert re.search(r"/cdn/v/t39\.30808-6/\d+_n\.png\?_nc_cat=1&.*oh=00_[0-9a-f]+&oe=[0-9A-F]{8}$", tonight)
    assert graph.get(tonight, token=None).body == single.media[0].data

    scenario.night += 1
    tomorrow = src()
    assert tomorrow != tonight
    assert urlsplit(tomorrow).path == urlsplit(tonight).path
    assert graph.get(tonight, token=None).status == 200  # still within its lifetime

    scenario.night += 3
    refused = graph.get(tonight, token=None)
    assert (refused.status, refused.body) == (403, b"URL signature expired")
    assert graph.get(tonight.replace("oh=00_", "oh=00_0"), token=None).body == b"Bad URL hash"
