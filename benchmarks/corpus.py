"""A deterministic benchmark corpus: N accounts x posts x comments, as real capture files.

Each Facebook account is one capture run written through hp_archive's own spool (so the files are
exactly what a capture writes: warcinfo, request + response pairs, the closing capture report), with

* Graph API JSON pages of 2-4 KB (a page profile, post listings of 5 posts, comment listings of 6
  comments with authors, permalinks, attachments), text that compresses like real JSON;
* media downloads of 50-200 KB of incompressible bytes (``image/jpeg``) for a third of the posts;
* and, in a companion ``web`` account, HTML pages of about 30 KB (1 per ~100 records) when the
  build has the ``web`` source.

``--foreign`` writes the same exchanges as other tools would (WARC/1.1, gzip per record, SHA-1
base32 digests, no hp_archive warcinfo) for ``hp-archive import``. Everything derives from the seed.

    python -m benchmarks.corpus --records 10000 --out /tmp/corpus [--foreign]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import random
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from isal import isal_zlib

from hp_archive.sources import platform_names
from hp_archive.warc.runinfo import REPORT_PROFILE, RunInfo
from hp_archive.warc.spool import PriorRecord, SpoolWriter

BASE = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
GRAPH = "https://graph.facebook.com/v25.0"
POSTS_PER_PAGE = 5
COMMENTS_PER_PAGE = 6
COMMENTS_PER_POST = 30
MEDIA_EVERY = 3  # one photo per this many posts
HTML_EVERY = 100  # one HTML page per this many records
WORDS = [
    "police",
    "officer",
    "traffic",
    "speeding",
    "community",
    "park",
    "safety",
    "event",
    "crash",
    "road",
    "closed",
    "thanks",
    "report",
    "suspect",
    "vehicle",
    "neighbor",
    "school",
    "crossing",
    "patrol",
    "chief",
    "thank",
    "you",
    "great",
    "job",
    "weekend",
    "detour",
    "village",
    "board",
    "meeting",
    "fireworks",
    "parade",
    "lost",
    "dog",
    "found",
    "wallet",
    "please",
    "share",
    "alert",
    "scam",
    "caller",
    "residents",
    "warning",
    "ice",
    "storm",
    "shelter",
    "open",
    "tonight",
    "coffee",
    "with",
    "a",
    "cop",
    "station",
    "lobby",
    "volunteer",
]
NAMES = ("Ana Peña", "John Doe", "Mary Smith", "Luis García", "Sam Lee", "Priya Patel", "Tom Brown")


@dataclass(frozen=True)
class Spec:
    """Corpus shape: ``accounts`` Facebook pages, each with ``posts`` posts of ``comments`` comments."""

    accounts: int
    posts: int
    comments: int = COMMENTS_PER_POST
    seed: int = 7
    html: bool = True

    @classmethod
    def for_records(cls, records: int, *, seed: int = 7, html: bool = True) -> Spec:
        """A spec of about ``records`` records (request + response per exchange)."""
        per_post = 2 * (
            math.ceil(COMMENTS_PER_POST / COMMENTS_PER_PAGE) + 1 / POSTS_PER_PAGE + 1 / MEDIA_EVERY
        )
        posts_total = max(1, int(records / per_post))
        accounts = max(1, min(64, posts_total // 300))
        return cls(accounts=accounts, posts=max(1, posts_total // accounts), seed=seed, html=html)


class _Rng:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def words(self, low: int, high: int) -> str:
        return " ".join(self.r.choice(WORDS) for _ in range(self.r.randint(low, high)))

    def uuid(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.r.getrandbits(128), version=4)}>"


def _graph_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _response(body: bytes, content_type: str, date: datetime) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S GMT')}\r\n"
        "x-fb-trace-id: AbCdEfGhIjK\r\n"
        "facebook-api-version: v25.0\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _request(url: str) -> bytes:
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    return (
        f"GET /{path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: hp-archive/0.1\r\n"
        "Accept: */*\r\nAuthorization: OAuth REDACTED\r\n\r\n"
    ).encode()


@dataclass
class Exchange:
    url: str
    request: bytes
    response: bytes
    date: datetime
    listing: str | None = None  # the listing scope this page belongs to


def account_exchanges(spec: Spec, index: int) -> Iterator[Exchange]:
    """Every exchange of one Facebook account's capture, in capture order (deterministic)."""
    rng = _Rng(spec.seed * 1_000_003 + index)
    page_id = str(104857600000000 + index)
    clock = BASE + timedelta(minutes=index)
    tick = timedelta(milliseconds=40)

    def when() -> datetime:
        nonlocal clock
        clock += tick
        return clock

    url = f"{GRAPH}/{page_id}?fields=id,name,username,link"
    body = json.dumps(
        {
            "id": page_id,
            "name": f"Police Department {index}",
            "username": f"pd{index}",
            "link": f"https://www.facebook.com/pd{index}",
        }
    ).encode()
    d = when()
    yield Exchange(url, _request(url), _response(body, "application/json; charset=UTF-8", d), d)
    posts = []
    for p in range(spec.posts):
        created = BASE - timedelta(days=30) + timedelta(minutes=17 * p)
        media = None
        if p % MEDIA_EVERY == 0:
            media = (str(900000000 + index * 1_000_000 + p), rng.r.randint(50_000, 200_000))
        posts.append((str(7_000_000_000 + index * 1_000_000 + p), created, rng.words(8, 45), media))
    scope = f"facebook:{page_id}/posts"
    for start in range(0, len(posts), POSTS_PER_PAGE):
        data = []
        for post_id, created, text, media in posts[start : start + POSTS_PER_PAGE]:
            node: dict[str, Any] = {
                "id": f"{page_id}_{post_id}",
                "created_time": _graph_time(created),
                "updated_time": _graph_time(created + timedelta(hours=3)),
                "message": text,
                "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_id}/",
                "from": {"id": page_id, "name": f"Police Department {index}"},
                "status_type": "added_photos" if media else "mobile_status_update",
                "is_hidden": False,
                "is_published": True,
            }
            if media:
                src = f"https://scontent.xx.fbcdn.net/v/t39.30808-6/{media[0]}_n.jpg?oh=00_{media[0]}&oe=6AEAE600"
                node["attachments"] = {
                    "data": [
                        {
                            "media": {"image": {"height": 720, "src": src, "width": 960}},
                            "media_type": "photo",
                            "type": "photo",
                            "target": {
                                "id": media[0],
                                "url": f"https://www.facebook.com/photo/?fbid={media[0]}",
                            },
                            "url": f"https://www.facebook.com/photo/?fbid={media[0]}",
                            "description": rng.words(3, 10),
                        }
                    ]
                }
            data.append(node)
        after = base64.b64encode(f"after{start}".encode()).decode()
        page: dict[str, Any] = {"data": data, "paging": {"cursors": {"before": "QVFIUjN", "after": after}}}
        if start + POSTS_PER_PAGE < len(posts):
            page["paging"]["next"] = f"{GRAPH}/{page_id}/posts?limit=5&after={after}"
        url = f"{GRAPH}/{page_id}/posts?limit=5" + (f"&after={after}" if start else "")
        d = when()
        yield Exchange(
            url, _request(url), _response(json.dumps(page).encode(), "application/json", d), d, scope
        )
    for post_id, created, _, media in posts:
        if media:
            url = f"https://scontent.xx.fbcdn.net/v/t39.30808-6/{media[0]}_n.jpg?oh=00_{media[0]}&oe=6AEAE600"
            d = when()
            yield Exchange(url, _request(url), _response(rng.r.randbytes(media[1]), "image/jpeg", d), d)
        scope = f"facebook:{page_id}_{post_id}/comments"
        for start in range(0, spec.comments, COMMENTS_PER_PAGE):
            data = []
            for c in range(start, min(spec.comments, start + COMMENTS_PER_PAGE)):
                cid = f"{8000000 + c}"
                author = rng.r.randrange(len(NAMES))
                data.append(
                    {
                        "id": f"{post_id}_{cid}",
                        "created_time": _graph_time(created + timedelta(minutes=3 * c + 1)),
                        "from": {"id": str(300000000 + author), "name": NAMES[author]},
                        "message": rng.words(4, 40),
                        "can_comment": True,
                        "can_remove": True,
                        "can_hide": True,
                        "can_like": True,
                        "comment_count": 0,
                        "is_hidden": False,
                        "is_private": False,
                        "like_count": rng.r.randint(0, 40),
                        "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_id}/?comment_id={cid}",
                        "user_likes": False,
                    }
                )
            after = base64.b64encode(f"c{start}".encode()).decode()
            page = {
                "data": data,
                "paging": {"cursors": {"before": "QVFIUm", "after": after}},
                "summary": {"order": "chronological", "total_count": spec.comments, "can_comment": True},
            }
            if start + COMMENTS_PER_PAGE < spec.comments:
                page["paging"]["next"] = f"{GRAPH}/{page_id}_{post_id}/comments?limit=6&after={after}"
            url = f"{GRAPH}/{page_id}_{post_id}/comments?filter=stream&limit=6" + (
                f"&after={after}" if start else ""
            )
            d = when()
            yield Exchange(
                url, _request(url), _response(json.dumps(page).encode(), "application/json", d), d, scope
            )


def html_exchanges(spec: Spec, index: int, count: int) -> Iterator[Exchange]:
    """``count`` HTML pages of about 30 KB of the department's site (deterministic)."""
    rng = _Rng(spec.seed * 7919 + index)
    clock = BASE + timedelta(minutes=index, seconds=30)
    for n in range(count):
        paragraphs = "".join(f"<p>{rng.words(40, 90)}.</p>\n" for _ in range(rng.r.randint(28, 36)))
        nav = "".join(f'<li><a href="/page/{k}">{rng.words(1, 3)}</a></li>' for k in range(20))
        html = (
            f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{rng.words(3, 7)}</title>"
            f"<link rel=stylesheet href=/s.css><script>var x={n};</script></head><body><nav><ul>{nav}</ul>"
            f"</nav><main><h1>{rng.words(3, 8)}</h1>{paragraphs}"
            f"<img src=/img/{n}.jpg alt='{rng.words(2, 5)}'>"
            "</main><footer>Police Department, 2121 W Lake St</footer></body></html>"
        ).encode()
        url = f"https://www.pd{index}.example.gov/page/{n}"
        clock += timedelta(milliseconds=50)
        yield Exchange(url, _request(url), _response(html, "text/html; charset=utf-8", clock), clock, None)


def _run_info(account_id: str, platform: str, handle: str, series: str, started: datetime) -> RunInfo:
    return RunInfo(
        run_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{account_id}/{started.isoformat()}")),
        account_id=account_id,
        platform=platform,
        handle=handle,
        series=series,
        window_start=None,
        window_end=started,
        started_at=started,
        operator="benchmark",
        hostname="bench",
    )


def write_capture(
    exchanges: Iterator[Exchange], *, account_id: str, platform: str, handle: str, directory: Path, seed: int
) -> list[tuple[Path, str]]:
    """Write one account's exchanges as one capture run through hp_archive's spool.

    Returns (path, object key) of each closed file.
    """
    rng = _Rng(seed)
    first = next(exchanges)
    info = _run_info(account_id, platform, handle, "social-media", first.date)
    spool = SpoolWriter(
        directory,
        run_id=info.run_id,
        account_id=account_id,
        warcinfo=info.warc_fields(),
        host="bench",
        revisit_lookup=lambda _s, _d: None,
        id_maker=rng.uuid,
    )
    listings: dict[str, dict[str, Any]] = {}
    last = first.date
    for ex in _chain(first, exchanges):
        written = spool.write_exchange(
            url=ex.url,
            request_bytes=ex.request,
            response_bytes=ex.response,
            date=ex.date,
            series="social-media",
        )
        last = ex.date
        if ex.listing:
            listing = listings.setdefault(
                ex.listing,
                {
                    "scope": ex.listing,
                    "kind": "comment" if "comments" in ex.listing else "post",
                    "series": "social-media",
                    "since": None,
                    "until": None,
                    "complete": True,
                    "error": None,
                    "pages": [],
                    "items_listed": {},
                    "expected": None,
                    "not_modified": False,
                },
            )
            listing["pages"].append(written.record_id)
    report = {
        "profile": REPORT_PROFILE,
        "run_id": info.run_id,
        "account": account_id,
        "platform": platform,
        "handle": handle,
        "window_start": None,
        "window_end": info.window_end.isoformat(),
        "started_at": info.started_at.isoformat(),
        "finished_at": last.isoformat(),
        "outcome": "complete",
        "error": None,
        "listings_total": len(listings),
        "listings_complete": len(listings),
        "listed": {},
        "media": {},
        "counts": {},
        "waited_seconds": 0,
        "failures": [],
        "source_state": {},
    }
    files = spool.close(
        lambda series: {**report, "series": series, "listings": list(listings.values())}, last
    )
    return [(f.path, f.key) for f in files]


def _chain(first: Exchange, rest: Iterator[Exchange]) -> Iterator[Exchange]:
    yield first
    yield from rest


def write_ours(spec: Spec, directory: Path) -> list[tuple[Path, str]]:
    """Every account's capture file(s) under ``directory``; (path, object key) pairs."""
    directory.mkdir(parents=True, exist_ok=True)
    out: list[tuple[Path, str]] = []
    html = spec.html and "web" in platform_names()
    for index in range(spec.accounts):
        out += write_capture(
            account_exchanges(spec, index),
            account_id=f"pd{index}-facebook",
            platform="facebook",
            handle=str(104857600000000 + index),
            directory=directory / f"pd{index}",
            seed=spec.seed + index,
        )
        if html:
            pages = max(1, _records_per_account(spec) // HTML_EVERY)
            out += write_capture(
                html_exchanges(spec, index, pages),
                account_id=f"pd{index}-web",
                platform="web",
                handle=f"https://www.pd{index}.example.gov/",
                directory=directory / f"pd{index}-web",
                seed=spec.seed + 10_000 + index,
            )
    return out


def _records_per_account(spec: Spec) -> int:
    pages = math.ceil(spec.posts / POSTS_PER_PAGE) + spec.posts * math.ceil(spec.comments / COMMENTS_PER_PAGE)
    return 2 * (1 + pages + math.ceil(spec.posts / MEDIA_EVERY))


# -- foreign files (as warcprox / pywb / Browsertrix write them) -------------------------------------


def _b32_sha1(data: bytes | memoryview) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def foreign_record(
    fields: list[tuple[str, str]], block: bytes, *, payload_offset: int | None = None
) -> bytes:
    """One WARC/1.1 record as another tool writes it (SHA-1 base32 digests), gzip-compressed."""
    extra = [("WARC-Block-Digest", _b32_sha1(block))]
    if payload_offset is not None:
        extra.insert(0, ("WARC-Payload-Digest", _b32_sha1(memoryview(block)[payload_offset:])))
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in [*fields, *extra])
    head += f"Content-Length: {len(block)}\r\n\r\n"
    compressor = isal_zlib.compressobj(1, zlib.DEFLATED, 31)
    return compressor.compress(head.encode() + block + b"\r\n\r\n") + compressor.flush()


def write_foreign(spec: Spec, directory: Path) -> list[Path]:
    """The same exchanges as warcprox-style WARCs (one file per account) for ``hp-archive import``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(spec.accounts):
        rng = _Rng(spec.seed * 31 + index)
        path = directory / f"WEB-20261001020000000-{index:05d}-bench.warc.gz"
        exchanges = list(account_exchanges(spec, index))
        if spec.html:
            exchanges += list(html_exchanges(spec, index, max(1, _records_per_account(spec) // HTML_EVERY)))
        with path.open("wb") as fh:
            info = b"software: warcprox 2.4.31\r\nformat: WARC File Format 1.1\r\n"
            fh.write(
                foreign_record(
                    [
                        ("WARC-Type", "warcinfo"),
                        ("WARC-Record-ID", rng.uuid()),
                        ("WARC-Date", "2026-10-01T02:00:00Z"),
                        ("WARC-Filename", path.name),
                        ("Content-Type", "application/warc-fields"),
                    ],
                    info,
                )
            )
            for ex in exchanges:
                date = ex.date.strftime("%Y-%m-%dT%H:%M:%SZ")
                rid = rng.uuid()
                head_end = ex.response.find(b"\r\n\r\n") + 4
                fh.write(
                    foreign_record(
                        [
                            ("WARC-Type", "response"),
                            ("WARC-Record-ID", rid),
                            ("WARC-Date", date),
                            ("WARC-Target-URI", ex.url),
                            ("Content-Type", "application/http;msgtype=response"),
                        ],
                        ex.response,
                        payload_offset=head_end,
                    )
                )
                fh.write(
                    foreign_record(
                        [
                            ("WARC-Type", "request"),
                            ("WARC-Record-ID", rng.uuid()),
                            ("WARC-Date", date),
                            ("WARC-Target-URI", ex.url),
                            ("WARC-Concurrent-To", rid),
                            ("Content-Type", "application/http;msgtype=request"),
                        ],
                        ex.request,
                    )
                )
        paths.append(path)
    return paths


def revisit_lookup_none(_series: str, _digest: str) -> PriorRecord | None:
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--foreign", action="store_true", help="write files as other tools do")
    args = parser.parse_args(argv)
    spec = Spec.for_records(args.records, seed=args.seed)
    if args.foreign:
        for path in write_foreign(spec, args.out):
            print(path)
    else:
        for path, key in write_ours(spec, args.out):
            print(f"{path}\t{key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
