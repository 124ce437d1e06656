"""The query language's syntax tree: plain frozen values with the position each node came from.

Positions (``pos``) are 0-based character offsets into the query text; messages show them 1-based.
Nodes compare by meaning only (not by position or spelling), so a query rendered with
:func:`render` and parsed again gives an equal tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

# A query about the item as a whole (not its text) names one of these.
FIELDS_EXACT = ("platform", "account", "series", "kind")
FLAGS = ("deleted", "edited", "hidden")
DATE_FIELDS = ("after", "before", "captured_after", "captured_before")
ALL_FIELDS = (*FIELDS_EXACT, "author", *FLAGS, "has", *DATE_FIELDS, "version")


@dataclass(frozen=True)
class Text:
    """A word, a prefix word (``polic*``) or a "phrase": normalized tokens that must be adjacent.

    A word that normalizes to several tokens (``O'Brien`` → ``o brien``) is a phrase. With
    ``prefix`` (``polic*``, ``"never mi"*``) the last token matches any token it begins.
    """

    tokens: tuple[str, ...]
    prefix: bool = False
    source: str = field(default="", compare=False)
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Match:
    """``platform:`` ``account:`` ``series:`` ``kind:`` — the item's value is one of ``values``."""

    name: str
    values: tuple[str, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Author:
    """``author:`` — the normalized author name equals ``key`` (or begins with it), or the id is ``ident``."""

    key: str
    ident: str
    prefix: bool = False
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Flag:
    """``deleted:`` ``edited:`` ``hidden:`` (true/false) and ``has:media``."""

    name: str  # deleted | edited | hidden | media
    value: bool = True
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class DateBound:
    """``after:`` / ``before:`` (item time) and ``captured_after:`` / ``captured_before:``.

    ``at`` is the aware UTC instant the value means in the query's time zone; ``after`` bounds
    include it, ``before`` bounds exclude it.
    """

    name: str  # one of DATE_FIELDS
    at: datetime
    source: str = field(default="", compare=False)
    pos: int = field(default=0, compare=False)

    @property
    def captured(self) -> bool:
        return self.name.startswith("captured_")

    @property
    def lower(self) -> bool:
        return self.name.endswith("after")


@dataclass(frozen=True)
class Not:
    child: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    """All children hold; with no children, every item (a query of only ``version:current``)."""

    children: tuple[Node, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]
    pos: int = field(default=0, compare=False)


Node = Text | Match | Author | Flag | DateBound | Not | And | Or


@dataclass(frozen=True)
class Query:
    """A parsed query: its tree, whether only current versions are searched, and its time zone."""

    root: Node
    current_only: bool = False
    timezone: str = "America/Chicago"
    source: str = field(default="", compare=False)

    def text_atoms(self, *, positive: bool | None = None) -> list[Text]:
        """The query's words and phrases (``positive``: only those not under a NOT, or only those under)."""
        found: list[Text] = []
        _collect(self.root, negated=False, positive=positive, out=found)
        return found

    def render(self) -> str:
        """The query fully parenthesized, as it is understood (parses back to an equal query)."""
        body = render(self.root)
        if self.current_only:
            return f"version:current {body}" if body else "version:current"
        return body

    def dates(self) -> list[dict[str, str]]:
        """How each date filter was read: its value, the time zone, and the instant it bounds."""
        found: list[DateBound] = []
        _dates(self.root, found)
        zone = ZoneInfo(self.timezone)
        return [
            {
                "filter": f"{d.name}:{d.source}",
                "timezone": self.timezone,
                "bound": "from (inclusive)" if d.lower else "until (exclusive)",
                "local": d.at.astimezone(zone).isoformat(),
                "utc": d.at.isoformat(),
            }
            for d in found
        ]


def _collect(node: Node, *, negated: bool, positive: bool | None, out: list[Text]) -> None:
    if isinstance(node, Text):
        if positive is None or positive != negated:
            out.append(node)
    elif isinstance(node, Not):
        _collect(node.child, negated=not negated, positive=positive, out=out)
    elif isinstance(node, And | Or):
        for child in node.children:
            _collect(child, negated=negated, positive=positive, out=out)


def _dates(node: Node, out: list[DateBound]) -> None:
    if isinstance(node, DateBound):
        out.append(node)
    elif isinstance(node, Not):
        _dates(node.child, out)
    elif isinstance(node, And | Or):
        for child in node.children:
            _dates(child, out)


def render(node: Node) -> str:
    """One node as query text, every AND / OR group in parentheses."""
    if isinstance(node, Text):
        star = "*" if node.prefix else ""
        if len(node.tokens) == 1:
            return node.tokens[0] + star
        return '"' + " ".join(node.tokens) + '"' + star
    if isinstance(node, Match):
        return f"{node.name}:{'|'.join(node.values)}"
    if isinstance(node, Author):
        return f'author:"{node.ident}"' + ("*" if node.prefix else "")
    if isinstance(node, Flag):
        if node.name == "media":
            return "has:media" if node.value else "NOT has:media"
        return f"{node.name}:{'true' if node.value else 'false'}"
    if isinstance(node, DateBound):
        return f"{node.name}:{node.source or node.at.isoformat()}"
    if isinstance(node, Not):
        return f"NOT {render(node.child)}"
    if isinstance(node, And):
        return "(" + " AND ".join(render(c) for c in node.children) + ")" if node.children else ""
    return "(" + " OR ".join(render(c) for c in node.children) + ")"
