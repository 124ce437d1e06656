"""Parsing query text into a :class:`~hp_archive.query.ast.Query` (lark, LALR).

The grammar is below and in ``docs/query-language.md``. Precedence is NOT, then AND (also implied
between neighbouring terms), then OR; keywords are upper case (a lower-case ``and`` is a word).
Every error is a :class:`~hp_archive.errors.QueryError` with one line that says where (a 1-based
character position) and what was expected, e.g.
``query: at position 11: expected a word, "phrase", field:value or '(' after AND``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from hp_archive.errors import QueryError
from hp_archive.index.text import tokens as normalize
from hp_archive.query.ast import (
    ALL_FIELDS,
    DATE_FIELDS,
    FLAGS,
    And,
    Author,
    DateBound,
    Flag,
    Match,
    Node,
    Not,
    Or,
    Query,
    Text,
)
from hp_archive.query.dates import parse_instant, zone

DEFAULT_TIMEZONE = "America/Chicago"
KINDS = ("post", "comment", "reply", "media", "page")

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (OR and_expr)*
?and_expr: unary (AND? unary)*
?unary: NOT unary                 -> negation
      | atom
?atom: LPAR or_expr RPAR          -> group
     | FIELD                      -> field
     | PHRASE                     -> phrase
     | WORD                       -> word

OR: "OR"
AND: "AND"
NOT: "NOT"
LPAR: "("
RPAR: ")"
FIELD.2: /[A-Za-z_]+:("[^"]*"\*?|[^\s()"]+)/
PHRASE: /"[^"]*"\*?/
WORD: /[^\s()"]+/

%ignore /\s+/
"""

TERM = "a word, \"phrase\", field:value or '('"
_NAMES = {"AND": "AND", "OR": "OR", "NOT": "NOT", "LPAR": "'('", "RPAR": "')'"}


def parse(text: str, *, timezone: str = DEFAULT_TIMEZONE) -> Query:
    """Parse ``text``; dates are read in ``timezone`` (an IANA name). Raises QueryError."""
    zone(timezone)  # an unknown zone is a configuration error, not the query's
    if not text.strip():
        raise QueryError('query: the query is empty: give a word, a "phrase" or a field:value')
    try:
        tree = _parser().parse(text)
        root: Node = _ToAst(timezone).transform(tree)
    except UnexpectedInput as exc:
        raise QueryError(f"query: {_explain(text, exc)}") from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        raise
    root, current_only = _lift_version(root)
    return Query(root=root, current_only=current_only, timezone=timezone, source=text)


@cache
def _parser() -> Lark:
    # The basic lexer makes AND / OR / NOT keywords everywhere, so "NOT AND" is an error and
    # not a search for the word "and".
    return Lark(GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True, maybe_placeholders=False)


def _error(pos: int, message: str) -> QueryError:
    return QueryError(f"query: at position {pos + 1}: {message}")


# -- errors --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    type: str
    pos: int


def _lexed(text: str, until: int) -> list[_Tok]:
    """The tokens before ``until`` (lexing stops at the first character it cannot read)."""
    found = []
    try:
        for tok in _parser().lex(text):
            if tok.start_pos is None or tok.start_pos >= until:
                break
            found.append(_Tok(tok.type, tok.start_pos))
    except UnexpectedCharacters:
        pass
    return found


def _explain(text: str, exc: UnexpectedInput) -> str:
    """One line: where the query stops making sense and what would make it right."""
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        if text[pos] == '"':
            return f"at position {pos + 1}: unclosed quote: add the closing '\"'"
        return f"at position {pos + 1}: unexpected {text[pos]!r}"
    assert isinstance(exc, UnexpectedToken)
    token: Token = exc.token
    at_end = token.type == "$END"
    pos = len(text.rstrip()) if at_end else (token.start_pos or 0)
    before = _lexed(text, pos)
    prev = before[-1] if before else None
    depth = 0
    opened: list[int] = []
    for tok in before:
        if tok.type == "LPAR":
            opened.append(tok.pos)
            depth += 1
        elif tok.type == "RPAR" and opened:
            opened.pop()
    where = f"at position {pos + 1}"
    if token.type == "RPAR" and not opened:
        return f"{where}: unmatched ')': remove it or add a '(' before it"
    if prev is not None and prev.type in ("AND", "OR", "NOT", "LPAR"):
        return f"{where}: expected {TERM} after {_NAMES[prev.type]}"
    if prev is None:
        return f"{where}: expected {TERM} before {_NAMES.get(token.type, repr(token.value))}"
    if at_end and opened:
        return f"{where}: expected ')' to close the '(' at position {opened[-1] + 1}"
    expected = ", ".join(sorted(_NAMES.get(name, name) for name in exc.expected))
    return f"{where}: unexpected {token.value!r}; expected one of {expected}"


# -- tree → AST ----------------------------------------------------------------------------------


def _flatten(kind: type[And] | type[Or], children: list[Any]) -> list[Node]:
    out: list[Node] = []
    for child in children:
        if isinstance(child, Token):
            continue  # the AND / OR keywords
        if isinstance(child, kind):
            out.extend(child.children)
        else:
            out.append(child)
    return out


class _ToAst(Transformer[Token, Node]):
    def __init__(self, timezone: str) -> None:
        super().__init__()
        self.timezone = timezone

    @v_args(meta=True)
    def or_expr(self, meta: Any, children: list[Any]) -> Node:
        return Or(tuple(_flatten(Or, children)), pos=meta.start_pos)

    @v_args(meta=True)
    def and_expr(self, meta: Any, children: list[Any]) -> Node:
        return And(tuple(_flatten(And, children)), pos=meta.start_pos)

    @v_args(meta=True)
    def negation(self, meta: Any, children: list[Any]) -> Node:
        return Not(children[-1], pos=meta.start_pos)

    def group(self, children: list[Any]) -> Node:
        node: Node = children[1]
        return node

    def phrase(self, children: list[Token]) -> Node:
        token = children[0]
        pos = token.start_pos or 0
        raw = str(token)
        prefix = raw.endswith("*")
        inner = raw[1:-2] if prefix else raw[1:-1]
        words = tuple(normalize(inner))
        if not words:
            raise _error(pos, f"the phrase {raw} has no searchable words (letters or digits)")
        return Text(words, prefix=prefix, source=raw, pos=pos)

    def word(self, children: list[Token]) -> Node:
        token = children[0]
        return _word(str(token), token.start_pos or 0)

    def field(self, children: list[Token]) -> Node:
        token = children[0]
        pos = token.start_pos or 0
        name, _, value = str(token).partition(":")
        return _field(name, value, pos, self.timezone)


def _word(raw: str, pos: int) -> Node:
    if raw.endswith(":") and raw[:-1].lower() in ALL_FIELDS:
        return _raise(pos + len(raw), f"expected a value right after '{raw}' (no space after the colon)")
    star = raw.find("*")
    prefix = star >= 0
    if prefix and star != len(raw) - 1:
        return _raise(pos + star, "a wildcard '*' may only end a word, as in polic*")
    words = tuple(normalize(raw[:-1] if prefix else raw))
    if not words:
        return _raise(pos, f"{raw!r} has no searchable words (letters or digits)")
    return Text(words, prefix=prefix, source=raw, pos=pos)


def _raise(pos: int, message: str) -> Node:
    raise _error(pos, message)


def _field(name: str, value: str, pos: int, timezone: str) -> Node:
    key = name.lower()
    at = pos + len(name) + 1  # where the value starts
    if key not in ALL_FIELDS:
        return _raise(
            pos,
            f"unknown field '{name}:': use one of {', '.join(f + ':' for f in ALL_FIELDS)} "
            "(put text containing ':' in quotes)",
        )
    quoted = value.startswith('"')
    prefix = value.endswith("*")
    bare = value[:-1] if prefix else value
    if quoted:
        bare = bare[1:-1]
    if key == "author":
        author_key = " ".join(normalize(bare))
        if not author_key:
            return _raise(at, f"author:{value} has no letters or digits to match a name")
        if prefix and not quoted and "*" in bare:
            return _raise(at + bare.index("*"), "a wildcard '*' may only end the author's name")
        return Author(author_key, bare, prefix=prefix, pos=pos)
    if prefix or "*" in bare:
        return _raise(at, f"wildcards work only in words and author:, not in {key}:")
    if quoted:
        bare = bare.strip()
    if not bare:
        return _raise(at, f"expected a value after '{name}:'")
    lowered = bare.lower()
    if key in ("platform", "account", "series", "kind"):
        values = tuple(dict.fromkeys(v for v in lowered.split("|")))
        if "" in values:
            return _raise(at, f"empty alternative in {key}:{value}: write {key}:a|b")
        if key == "kind":
            for v in values:
                if v not in KINDS:
                    return _raise(at, f"kind:{v} is not a kind: use {'|'.join(KINDS)}")
        return Match(key, values, pos=pos)
    if key in FLAGS:
        if lowered not in ("true", "false"):
            return _raise(at, f"expected true or false after '{name}:'")
        return Flag(key, lowered == "true", pos=pos)
    if key == "has":
        if lowered != "media":
            return _raise(at, "has: takes only media (has:media)")
        return Flag("media", True, pos=pos)
    if key == "version":
        if lowered not in ("current", "all"):
            return _raise(at, "expected current or all after 'version:'")
        return _VersionMark(lowered == "current", pos)  # type: ignore[return-value]
    assert key in DATE_FIELDS
    instant = parse_instant(bare, timezone)
    if instant is None:
        return _raise(at, f"expected a date like 2024-01-31 or a time like 2024-01-31T14:30 after '{name}:'")
    return DateBound(key, instant, source=bare, pos=pos)


@dataclass(frozen=True)
class _VersionMark:
    """``version:`` before it is lifted out of the tree (it narrows the whole query)."""

    current: bool
    pos: int


def _lift_version(root: Any) -> tuple[Node, bool]:
    """Remove ``version:`` marks, which may only sit on the query's top-level AND chain."""
    marks: list[_VersionMark] = []

    def strip(node: Any, top: bool) -> Any:
        if isinstance(node, _VersionMark):
            if not top:
                raise _error(node.pos, "version: narrows the whole query: use it outside OR and NOT")
            marks.append(node)
            return None
        if isinstance(node, And):
            kept = tuple(c for c in (strip(c, top) for c in node.children) if c is not None)
            return And(kept, pos=node.pos) if len(kept) != 1 else kept[0]
        if isinstance(node, Or):
            return Or(tuple(strip(c, False) for c in node.children), pos=node.pos)
        if isinstance(node, Not):
            return Not(strip(node.child, False), pos=node.pos)
        return node

    stripped = strip(root, True)
    if stripped is None:
        stripped = And(())
    if len({m.current for m in marks}) > 1:
        raise _error(marks[-1].pos, "version:current and version:all contradict each other: keep one")
    return stripped, any(m.current for m in marks)
