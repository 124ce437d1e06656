"""What a query means, as a pure function over one item's facts (the reference semantics).

The SQL compilers must select exactly the items :func:`matches` accepts; the parity tests check
both backends against it. The rules:

* A word, prefix or phrase holds for an **item** when at least one of its searched versions
  contains it (every version by default, only the current one with ``version:current``). Each
  word is judged on its own, so ``a AND b`` holds when one version has ``a`` and another has ``b``.
* ``NOT x`` holds when ``x`` does not: for a word, when **no** searched version contains it.
* A phrase is consecutive tokens of one version; a prefix's last token begins a version's token.
* Field filters look at the item as it is now: ``deleted:true`` — observed deleted (and not seen
  again since); ``hidden:true`` — hidden on the platform; ``edited:true`` — more than one
  version archived; ``has:media`` — media bytes archived for the item or one of its children of
  kind media; ``author:`` — the normalized author name equals the value (or begins with it, with
  ``*``), or the platform's author id equals it exactly.
* ``after:`` / ``before:`` use the item's time: when the platform says it was created, or, for an
  item without one, when it was first captured; ``captured_after:`` / ``captured_before:`` use
  when it was first captured. ``after`` bounds include their instant, ``before`` bounds exclude it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hp_archive.query.ast import And, Author, DateBound, Flag, Match, Node, Not, Or, Query, Text


@dataclass(frozen=True)
class ItemFacts:
    """What the query language can see of one item (``versions``: tokens of each, oldest first)."""

    platform: str
    account: str
    kind: str
    series: str
    author_key: str | None
    author_id: str | None
    deleted: bool
    hidden: bool
    version_count: int
    has_media: bool
    created_at: datetime | None
    first_captured_at: datetime
    versions: tuple[tuple[str, ...], ...] = field(default_factory=tuple)

    @property
    def item_time(self) -> datetime:
        return self.created_at or self.first_captured_at


def contains(tokens: Sequence[str], atom: Text) -> bool:
    """True if ``atom``'s tokens occur consecutively in ``tokens`` (the last as a prefix if asked)."""
    return bool(occurrences(tokens, atom))


def occurrences(tokens: Sequence[str], atom: Text) -> list[int]:
    """Start indexes in ``tokens`` where ``atom`` occurs."""
    want = atom.tokens
    size = len(want)
    if size == 1 and not atom.prefix:
        word = want[0]
        return [index for index, token in enumerate(tokens) if token == word]
    found = []
    for start in range(len(tokens) - size + 1):
        if all(tokens[start + i] == want[i] for i in range(size - 1)):
            last = tokens[start + size - 1]
            if last == want[-1] or (atom.prefix and last.startswith(want[-1])):
                found.append(start)
    return found


def searched_versions(facts: ItemFacts, query: Query) -> tuple[tuple[str, ...], ...]:
    if query.current_only:
        return facts.versions[-1:]
    return facts.versions


def matches(query: Query, facts: ItemFacts) -> bool:
    """Whether the item satisfies the query."""
    return holds(query.root, facts, searched_versions(facts, query))


def holds(node: Node, facts: ItemFacts, versions: Sequence[Sequence[str]]) -> bool:
    if isinstance(node, Text):
        return any(contains(v, node) for v in versions)
    if isinstance(node, And):
        return all(holds(c, facts, versions) for c in node.children)
    if isinstance(node, Or):
        return any(holds(c, facts, versions) for c in node.children)
    if isinstance(node, Not):
        return not holds(node.child, facts, versions)
    if isinstance(node, Match):
        value = {
            "platform": facts.platform,
            "account": facts.account,
            "series": facts.series,
            "kind": facts.kind,
        }[node.name]
        return value in node.values
    if isinstance(node, Author):
        if facts.author_id is not None and facts.author_id == node.ident and not node.prefix:
            return True
        if facts.author_key is None:
            return False
        return facts.author_key.startswith(node.key) if node.prefix else facts.author_key == node.key
    if isinstance(node, Flag):
        actual = {
            "deleted": facts.deleted,
            "hidden": facts.hidden,
            "edited": facts.version_count > 1,
            "media": facts.has_media,
        }[node.name]
        return actual == node.value
    assert isinstance(node, DateBound)
    moment = facts.first_captured_at if node.captured else facts.item_time
    return moment >= node.at if node.lower else moment < node.at
