"""A small, awkward corpus written straight into the index tables, with the facts the oracle reads.

Items have several versions, accents, non-Latin scripts, punctuation that splits words, missing
creation times, times on both sides of the Chicago DST changes, media attached to posts, hidden
and deleted items, and authors spelled with accents — the cases where two full-text engines and
a naive compiler disagree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from hp_archive.index import models as m
from hp_archive.index.text import search_text
from hp_archive.query.evaluate import ItemFacts

WORDS = [
    "police", "policy", "polite", "politics", "officer", "officers", "speeding", "speed", "ticket",
    "tickets", "walnut", "street", "lake", "parking", "winter", "never", "mind", "update", "resolved",
    "thanks", "safe", "Peña", "pena", "PENA", "Ångström", "café", "cafe", "O'Neil", "e-mail", "10",
    "5pm", "2am", "10:30", "über", "Straße", "strasse", "naïve", "مرحبا", "שלום", "警察", "🚓",
    "<script>alert(1)</script>", "=HYPERLINK(\"x\")", "and", "or", "not", "the", "a", "AND", "NOT",
]  # fmt: skip
AUTHORS = [
    ("10001", "Jane Doe"),
    ("10002", "John Q. Public"),
    ("10003", "Zoë Ångström"),
    ("10004", "محمد علي"),
    ("10006", "Chris O'Neil"),
    ("10008", "J Doe"),
    ("10009", "JANE  DOE"),
    (None, None),
]
PLATFORMS = {"facebook": "hppd-facebook", "x": "hppd-x"}
SERIES = ("social-media", "web-pages")
KINDS = ("post", "comment", "reply", "media", "page")
# around both 2026 DST changes in America/Chicago (8 March, 1 November)
TIMES = [datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 10, 30, 12, tzinfo=UTC)]


@dataclass
class CorpusItem:
    uid: str
    facts: ItemFacts
    texts: list[str]
    parent: str | None
    has_own_media: bool


def _text(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 12))]
    separators = [" ", " ", " ", ", ", " — ", "\n", "... "]
    return "".join(w + rng.choice(separators) for w in words).strip()


def build(seed: int = 5, count: int = 240) -> list[CorpusItem]:
    """``count`` items (a third posts, their comments and replies, media attached to some)."""
    rng = random.Random(seed)
    items: list[CorpusItem] = []
    posts: list[str] = []
    comments: list[str] = []
    for index in range(count):
        platform = rng.choice(sorted(PLATFORMS))
        kind = rng.choice(KINDS)
        parent = None
        if kind == "comment" and posts:
            parent = rng.choice(posts)
        elif kind == "reply" and comments:
            parent = rng.choice(comments)
        elif kind == "media" and posts and rng.random() < 0.8:
            parent = rng.choice(posts)
        uid = f"{platform}:{index:05d}"
        if kind == "post":
            posts.append(uid)
        elif kind == "comment":
            comments.append(uid)
        base = rng.choice(TIMES) + timedelta(hours=rng.randint(-60, 60), minutes=rng.randint(0, 59))
        created = None if rng.random() < 0.15 else base
        first = base + timedelta(hours=rng.randint(0, 40))
        versions = [_text(rng)] if index % 97 else []  # a few items with no text version at all
        for _ in range(rng.choice([0, 0, 0, 1, 2]) if versions else 0):
            versions.append(versions[-1] + " " + _text(rng) if rng.random() < 0.5 else _text(rng))
        author_id, author = rng.choice(AUTHORS)
        own_media = kind == "media" and rng.random() < 0.7
        facts = ItemFacts(
            platform=platform,
            account=PLATFORMS[platform],
            kind=kind,
            series=rng.choice(SERIES),
            author_key=search_text(author) or None if author else None,
            author_id=author_id,
            deleted=rng.random() < 0.15,
            hidden=rng.random() < 0.1,
            version_count=len(versions),
            has_media=own_media,  # children are added below
            created_at=created,
            first_captured_at=first,
            versions=tuple(tuple(search_text(f"{t} {author or ''}").split()) for t in versions),
        )
        items.append(CorpusItem(uid, facts, versions, parent, own_media))
    with_media = {item.parent for item in items if item.facts.kind == "media" and item.parent}
    for item in items:
        if item.uid in with_media:
            item.facts = ItemFacts(**{**item.facts.__dict__, "has_media": True})
    return items


def author_name(item: CorpusItem) -> str | None:
    for author_id, name in AUTHORS:
        if author_id == item.facts.author_id:
            return name
    return None


def load(engine: Engine, items: list[CorpusItem]) -> None:
    """Write the corpus into a migrated, empty index."""
    at = datetime(2026, 11, 2, tzinfo=UTC)
    with engine.begin() as conn:
        for platform, account in sorted(PLATFORMS.items()):
            conn.execute(
                insert(m.Account),
                [{"id": account, "platform": platform, "handle": account, "first_seen_at": at}],
            )
            conn.execute(
                insert(m.CaptureRun),
                [
                    {
                        "id": f"run-{account}",
                        "account_id": account,
                        "platform": platform,
                        "window_start": None,
                        "window_end": at,
                        "started_at": at,
                        "finished_at": at,
                        "status": "indexed",
                        "outcome": "complete",
                        "files": [],
                        "report": {},
                        "source_state": {},
                        "error": None,
                    }
                ],
            )
        file_of: dict[str, int] = {}
        record_of: dict[str, int] = {}
        for number, (platform, account) in enumerate(sorted(PLATFORMS.items()), start=1):
            conn.execute(
                insert(m.WarcFile),
                [
                    {
                        "id": number,
                        "key": f"warcs/{account}/social-media/corpus.warc.gz",
                        "filename": "corpus.warc.gz",
                        "account_id": account,
                        "series": "social-media",
                        "run_id": f"run-{account}",
                        "size": 1,
                        "sha256": "0" * 64,
                        "record_count": 1,
                        "first_date": at,
                        "last_date": at,
                        "retain_until": None,
                        "legal_hold": False,
                        "indexed_at": at,
                    }
                ],
            )
            conn.execute(
                insert(m.WarcRecord),
                [
                    {
                        "id": number,
                        "file_id": number,
                        "offset": 0,
                        "length": 1,
                        "record_id": f"<urn:uuid:corpus-{platform}>",
                        "rec_type": "response",
                        "target_uri": None,
                        "date": at,
                        "content_type": None,
                        "http_status": 200,
                        "block_digest": None,
                        "payload_digest": None,
                        "payload_length": None,
                        "refers_to": None,
                        "parse_error": None,
                    }
                ],
            )
            file_of[platform] = number
            record_of[platform] = number
        item_rows: list[dict[str, Any]] = []
        version_rows: list[dict[str, Any]] = []
        next_version = 1
        for pk, item in enumerate(items, start=1):
            f = item.facts
            name = author_name(item)
            current = next_version + len(item.texts) - 1 if item.texts else None
            for number, body in enumerate(item.texts, start=1):
                version_rows.append(
                    {
                        "id": next_version,
                        "item_id": pk,
                        "version_no": number,
                        "content_digest": f"{pk}-{number}",
                        "text": body,
                        "search_text": search_text(" ".join(filter(None, [body, name]))),
                        "normalized": {},
                        "created_at": f.created_at,
                        "edited_at": None,
                        "observed_at": f.first_captured_at + timedelta(days=number - 1),
                        "record_id": record_of[f.platform],
                    }
                )
                next_version += 1
            item_rows.append(
                {
                    "id": pk,
                    "uid": item.uid,
                    "platform": f.platform,
                    "account_id": f.account,
                    "native_id": item.uid.split(":", 1)[1],
                    "kind": f.kind,
                    "parent_uid": item.parent,
                    "root_uid": item.parent,
                    "author_id": f.author_id,
                    "author_name": name,
                    "author_key": f.author_key,
                    "author_is_agency": False,
                    "url": None,
                    "series": f.series,
                    "scope": None,
                    "created_at": f.created_at,
                    "first_seen_at": f.first_captured_at,
                    "last_seen_at": f.first_captured_at,
                    "last_seen_run": f"run-{f.account}",
                    "is_hidden": f.hidden,
                    "is_deleted": f.deleted,
                    "deleted_observed_at": f.first_captured_at if f.deleted else None,
                    "version_count": f.version_count,
                    "current_version_id": current,
                    "media_record_id": record_of[f.platform] if item.has_own_media else None,
                }
            )
        conn.execute(insert(m.Item), item_rows)
        conn.execute(insert(m.ItemVersion), version_rows)
        if conn.dialect.name == "postgresql":
            for table in ("items", "item_versions", "warc_files", "warc_records"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
