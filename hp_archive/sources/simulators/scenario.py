"""A platform-neutral model of a department account that changes from night to night.

Every platform simulator renders the same :class:`Scenario` in its own API's JSON shapes, so one
scripted story (new posts, edited, hidden and deleted comments, deleted posts) exercises every
source the same way. Everything is deterministic from a seed; times are arguments.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class SimMedia:
    """A photo (or video thumbnail) attached to a post or comment."""

    id: str
    data: bytes = field(repr=False)
    alt: str = ""
    width: int = 64
    height: int = 48
    content_type: str = "image/png"


@dataclass
class SimComment:
    """A comment or reply by a member of the public (or the department itself)."""

    id: str
    author_id: str
    author_name: str
    text: str
    created: datetime
    edited_at: datetime | None = None
    hidden: bool = False
    deleted: bool = False
    replies: list[SimComment] = field(default_factory=list)
    media: SimMedia | None = None
    like_count: int = 0
    history: list[tuple[datetime, str]] = field(default_factory=list)

    def live_replies(self) -> list[SimComment]:
        return [r for r in self.replies if not r.deleted]


@dataclass
class SimPost:
    """A post by the department's account."""

    id: str
    text: str
    created: datetime
    updated: datetime
    media: list[SimMedia] = field(default_factory=list)
    comments: list[SimComment] = field(default_factory=list)
    deleted: bool = False
    edited_at: datetime | None = None
    share_count: int = 0
    history: list[tuple[datetime, str]] = field(default_factory=list)
    #: the account turned commenting off (YouTube answers ``commentsDisabled``); never set by
    #: the nightly script, only by tests and platform-specific stories
    comments_disabled: bool = False

    def live_comments(self) -> list[SimComment]:
        return [c for c in self.comments if not c.deleted]


@dataclass
class SimAccount:
    """The department's account on one platform."""

    id: str
    name: str
    handle: str
    posts: list[SimPost] = field(default_factory=list)

    def live_posts(self) -> list[SimPost]:
        """Posts not deleted, newest first (the order platforms list them)."""
        return sorted((p for p in self.posts if not p.deleted), key=lambda p: p.created, reverse=True)

    def find_comment(self, comment_id: str) -> SimComment | None:
        for post in self.posts:
            for comment in post.comments:
                if comment.id == comment_id:
                    return comment
                for reply in comment.replies:
                    if reply.id == comment_id:
                        return reply
        return None

    def find_post(self, post_id: str) -> SimPost | None:
        return next((p for p in self.posts if p.id == post_id), None)


# Sample text that exercises what breaks naive pipelines: emoji, accents, right-to-left script,
# HTML-looking content, quotes and spreadsheet-formula-looking cells.
POST_TEXTS = [
    "Traffic advisory: Lake Street between Barrington and Church will be closed Saturday 7am-3pm.",
    "Join us for Coffee with a Cop ☕ this Thursday at 9:00 at the Village Hall. Todos bienvenidos.",
    "Reminder: winter parking restrictions begin December 1. No parking on village streets 2am-6am.",
    "We're hiring! Police officer entry-level testing opens next month. #HanoverParkPD #NowHiring",
    "Please welcome Officer María José Peña to the department 🎉 — sworn in today.",
    "Scam alert: callers pretending to be from ComEd demand gift cards. Hang up and call us.",
    "Drug take-back day Saturday 10am\u20132pm at the station lobby. No questions asked.",
    "مرحبا بكم في الموقع الرسمي لقسم الشرطة — community meeting tonight at 7pm.",
    "Speeding complaints on Walnut Ave: we'll have extra patrols this week. Slow down! 🚓",
    "National Night Out recap: thank you to everyone who came out 💙 Fotos abajo.",
    "Lost dog found near Ontarioville Rd — brown lab mix, very friendly. Call 630-823-5500.",
    "Road closure update: <b>Irving Park Rd</b> reopened. Thanks for your patience & care.",
]

COMMENT_TEXTS = [
    "Thank you for keeping us safe!",
    "Is Lake Street open to residents with driveways on that block?",
    "Great initiative 👏👏",
    "The speeding on Walnut is terrible at 5pm, please do something.",
    "¿Habrá traductor en español en la reunión?",
    "<script>alert('xss')</script> just testing lol",
    '=HYPERLINK("http://example.invalid","click")',
    "שלום, תודה רבה על העבודה הקשה",
    "Welcome Officer Peña! Proud of you.",
    "My car was towed last winter for this, wish I'd known sooner.",
    "Who do I call about a noise complaint after hours?",
    "Ça, c'est une bonne nouvelle — merci!",
    "Why was my comment deleted?? This is censorship.",
    "+1 to more patrols near the school",
    "Can you share the hiring requirements link?",
    "Ich wohne seit 20 Jahren hier: danke für alles.",
    "🚓🚓🚓",
    '"Quoted" text, with commas, and a\nsecond line',
]

AUTHORS = [
    ("10001", "Jane Doe"),
    ("10002", "John Q. Public"),
    ("10003", "Zoë Ångström"),
    ("10004", "محمد علي"),
    ("10005", "Luis Hernández"),
    ("10006", "Chris O'Neil"),
    ("10007", "Priya Natarajan"),
    ("10008", "J Doe"),
]


def png_bytes(seed: int, width: int = 64, height: int = 48) -> bytes:
    """A small valid PNG of noise (deterministic from ``seed``, effectively incompressible)."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(tag: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(tag + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


@dataclass
class Scenario:
    """A department account plus a script of nightly changes.

    ``night`` starts at 0; :meth:`advance` moves to the next night and applies that night's
    changes (new posts and comments, edits, hides, deletions). ``epoch`` is the night-0 time.
    """

    account: SimAccount
    epoch: datetime
    seed: int = 7
    night: int = 0
    _counter: int = 1000
    changes: list[str] = field(default_factory=list)

    def now(self) -> datetime:
        """The scenario's current time (02:00 local-ish on the current night, in UTC)."""
        return self.epoch + timedelta(days=self.night)

    def next_id(self) -> str:
        self._counter += 1
        return str(self._counter)

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def department(
        cls,
        *,
        epoch: datetime | None = None,
        seed: int = 7,
        posts: int = 36,
        comments_per_post: int = 8,
        account_id: str = "104857600000001",
        name: str = "Hanover Park Police Department",
        handle: str = "HanoverParkPD",
        days: int = 120,
    ) -> Scenario:
        """A sample department page: ``posts`` posts over ``days`` days with comments and replies."""
        epoch = epoch or datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        rng = random.Random(seed)
        scenario = cls(account=SimAccount(id=account_id, name=name, handle=handle), epoch=epoch, seed=seed)
        for index in range(posts):
            created = (
                epoch
                - timedelta(days=days)
                + timedelta(days=days * index / max(posts, 1), minutes=rng.randint(0, 600))
            )
            post = scenario._new_post(rng, created, index)
            scenario.account.posts.append(post)
            count = max(0, comments_per_post + rng.randint(-comments_per_post // 2, comments_per_post // 2))
            for c_index in range(count):
                c_created = min(
                    created + timedelta(minutes=rng.randint(5, 60 * 24 * 3)),
                    epoch - timedelta(hours=1),
                )
                comment = scenario._new_comment(rng, c_created, photo=(c_index % 11 == 3))
                post.comments.append(comment)
                for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
                    r_created = min(
                        c_created + timedelta(minutes=rng.randint(1, 600)),
                        epoch - timedelta(minutes=30),
                    )
                    comment.replies.append(scenario._new_comment(rng, r_created, agency=rng.random() < 0.3))
        return scenario

    def _new_post(self, rng: random.Random, created: datetime, index: int) -> SimPost:
        post_id = self.next_id()
        media = []
        if index % 3 == 0:
            for m in range(1 + (index % 2)):
                media_id = self.next_id()
                media.append(
                    SimMedia(
                        id=media_id,
                        data=png_bytes(self.seed * 100000 + int(media_id), 48 + 8 * m, 40),
                        alt=f"Photo {m + 1} for post {post_id}",
                        width=48 + 8 * m,
                        height=40,
                    )
                )
        return SimPost(
            id=post_id,
            text=f"{POST_TEXTS[index % len(POST_TEXTS)]} (#{index + 1})",
            created=created,
            updated=created,
            media=media,
            share_count=rng.randint(0, 40),
        )

    def _new_comment(
        self, rng: random.Random, created: datetime, *, photo: bool = False, agency: bool = False
    ) -> SimComment:
        comment_id = self.next_id()
        if agency:
            author_id, author_name = self.account.id, self.account.name
            text = "Thanks for reaching out — please call our non-emergency line at 630-823-5500."
        else:
            author_id, author_name = rng.choice(AUTHORS)
            text = rng.choice(COMMENT_TEXTS)
        media = None
        if photo:
            media_id = self.next_id()
            media = SimMedia(
                id=media_id,
                data=png_bytes(self.seed * 100000 + int(media_id), 32, 32),
                width=32,
                height=32,
            )
        return SimComment(
            id=comment_id,
            author_id=author_id,
            author_name=author_name,
            text=text,
            created=created,
            media=media,
            like_count=rng.randint(0, 25),
        )

    # -- nightly changes ----------------------------------------------------------------------

    def iter_comments(self, *, live_only: bool = True) -> Iterator[tuple[SimPost, SimComment]]:
        for post in self.account.posts:
            if live_only and post.deleted:
                continue
            for comment in post.comments:
                if not (live_only and comment.deleted):
                    yield post, comment
                for reply in comment.replies:
                    if not (live_only and (reply.deleted or comment.deleted)):
                        yield post, reply

    def advance(self) -> list[str]:
        """Move to the next night and apply its changes; returns a description of each change."""
        self.night += 1
        rng = random.Random(self.seed * 1000 + self.night)
        now = self.now() - timedelta(hours=3)
        changes: list[str] = []
        recent = [p for p in self.account.live_posts() if p.created > now - timedelta(days=20)]
        recent_comments = [(p, c) for p, c in self.iter_comments() if p.created > now - timedelta(days=20)]
        # new posts with fresh comments
        for index in range(2):
            post = self._new_post(rng, now - timedelta(hours=5 - index), len(self.account.posts))
            self.account.posts.append(post)
            for _ in range(3):
                post.comments.append(self._new_comment(rng, now - timedelta(hours=1)))
            changes.append(f"new post {post.id}")
        # edits, hides and deletions among recent comments
        picks = rng.sample(recent_comments, k=min(len(recent_comments), 6))
        for action, (post, comment) in zip(
            ["edit", "edit", "hide", "hide", "delete", "delete"], picks, strict=False
        ):
            if action == "edit":
                comment.history.append((now, comment.text))
                comment.text = comment.text + " [edited: never mind, found the answer]"
                comment.edited_at = now
            elif action == "hide":
                comment.hidden = True
            else:
                comment.deleted = True
            changes.append(f"{action} comment {comment.id} on post {post.id}")
        if recent and self.night % 2 == 0:
            victim = rng.choice(recent)
            victim.deleted = True
            changes.append(f"delete post {victim.id}")
        if recent:
            post = rng.choice([p for p in recent if not p.deleted] or recent)
            post.history.append((now, post.text))
            post.text = post.text + " UPDATE: this has been resolved."
            post.updated = now
            post.edited_at = now
            changes.append(f"edit post {post.id}")
        self.changes.extend(f"night {self.night}: {c}" for c in changes)
        return changes
