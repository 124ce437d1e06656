"""Parsing: the grammar, precedence, field filters, dates in the department's time zone, and errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hp_archive.errors import ConfigError, QueryError
from hp_archive.query.ast import And, Author, DateBound, Flag, Match, Node, Not, Or, Query, Text
from hp_archive.query.parser import parse


def root(text: str) -> Node:
    return parse(text).root


def w(*tokens: str, prefix: bool = False) -> Text:
    return Text(tokens, prefix=prefix)


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("speeding", w("speeding")),
        ("Speeding TICKET", And((w("speeding"), w("ticket")))),
        ("speeding AND ticket", And((w("speeding"), w("ticket")))),
        ("a OR b c", Or((w("a"), And((w("b"), w("c")))))),
        ("(a OR b) c", And((Or((w("a"), w("b"))), w("c")))),
        ("a NOT b", And((w("a"), Not(w("b"))))),
        ("NOT a OR b", Or((Not(w("a")), w("b")))),
        ("NOT (a OR b)", Not(Or((w("a"), w("b"))))),
        ("a OR b OR c", Or((w("a"), w("b"), w("c")))),
        ("police and fire", And((w("police"), w("and"), w("fire")))),
        ("polic*", w("polic", prefix=True)),
        ('"never mind"', w("never", "mind")),
        ('"Never,  MIND!"', w("never", "mind")),
        ("O'Brien", w("o", "brien")),
        ("o'brie*", w("o", "brie", prefix=True)),
        ('"never mi"*', w("never", "mi", prefix=True)),
        ('"never mi*"', w("never", "mi")),
        ("10:30", w("10", "30")),
        ("Peña", w("pena")),
        ("Straße", w("strasse")),
        ("警察", w("警察")),
        ("<script>", w("script")),
    ],
)
def test_words_phrases_and_operators(query: str, tree: Node) -> None:
    assert root(query) == tree


@pytest.mark.parametrize(
    ("query", "node"),
    [
        ("platform:facebook", Match("platform", ("facebook",))),
        ("Platform:Facebook", Match("platform", ("facebook",))),
        ("account:hppd-facebook", Match("account", ("hppd-facebook",))),
        ("series:social-media", Match("series", ("social-media",))),
        ("kind:post", Match("kind", ("post",))),
        ("kind:comment|reply", Match("kind", ("comment", "reply"))),
        ('author:"J Doe"', Author("j doe", "J Doe")),
        ("author:Peña", Author("pena", "Peña")),
        ("author:jo*", Author("jo", "jo", prefix=True)),
        ('author:"Mary Ann"*', Author("mary ann", "Mary Ann", prefix=True)),
        ("deleted:true", Flag("deleted", True)),
        ("edited:false", Flag("edited", False)),
        ("hidden:TRUE", Flag("hidden", True)),
        ("has:media", Flag("media", True)),
    ],
)
def test_field_filters(query: str, node: Node) -> None:
    assert root(query) == node


def test_the_example_from_the_design_document() -> None:
    query = parse('speeding AND author:"J Doe" platform:facebook after:2024-01-01 deleted:true')
    assert query.root == And(
        (
            w("speeding"),
            Author("j doe", "J Doe"),
            Match("platform", ("facebook",)),
            DateBound("after", datetime(2024, 1, 1, 6, tzinfo=UTC)),
            Flag("deleted", True),
        )
    )


def test_version_current_narrows_the_whole_query() -> None:
    query = parse("version:current speeding NOT ticket")
    assert query.current_only
    assert query.root == And((w("speeding"), Not(w("ticket"))))
    assert parse("speeding version:all").current_only is False
    assert parse("version:current").root == And(())


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        # midnight in Chicago: CST (-6) in winter, CDT (-5) in summer
        ("2024-01-15", datetime(2024, 1, 15, 6, tzinfo=UTC)),
        ("2024-07-04", datetime(2024, 7, 4, 5, tzinfo=UTC)),
        # the DST changes of 2026: 8 March and 1 November
        ("2026-03-08", datetime(2026, 3, 8, 6, tzinfo=UTC)),
        ("2026-03-09", datetime(2026, 3, 9, 5, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, 5, tzinfo=UTC)),
        ("2026-11-02", datetime(2026, 11, 2, 6, tzinfo=UTC)),
        # a wall-clock time is Chicago time; an explicit offset or Z is that instant
        ("2024-07-04T14:30", datetime(2024, 7, 4, 19, 30, tzinfo=UTC)),
        ("2024-07-04T14:30:15", datetime(2024, 7, 4, 19, 30, 15, tzinfo=UTC)),
        ("2024-07-04T14:30Z", datetime(2024, 7, 4, 14, 30, tzinfo=UTC)),
        ("2024-07-04T14:30+02:00", datetime(2024, 7, 4, 12, 30, tzinfo=UTC)),
        # 01:30 happens twice on 1 November 2026: the first (CDT) is meant
        ("2026-11-01T01:30", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
        # 02:30 does not exist on 8 March 2026: read with the offset before the change (CST)
        ("2026-03-08T02:30", datetime(2026, 3, 8, 8, 30, tzinfo=UTC)),
    ],
)
def test_dates_are_read_in_the_department_time_zone(value: str, utc: datetime) -> None:
    bound = root(f"after:{value}")
    assert isinstance(bound, DateBound)
    assert bound.at == utc


def test_every_date_filter_and_the_stated_interpretation() -> None:
    query = parse("after:2024-01-01 before:2024-02-01 captured_after:2024-01-05 captured_before:2024-01-06")
    assert [d["filter"] for d in query.dates()] == [
        "after:2024-01-01",
        "before:2024-02-01",
        "captured_after:2024-01-05",
        "captured_before:2024-01-06",
    ]
    first = query.dates()[0]
    assert first == {
        "filter": "after:2024-01-01",
        "timezone": "America/Chicago",
        "bound": "from (inclusive)",
        "local": "2024-01-01T00:00:00-06:00",
        "utc": "2024-01-01T06:00:00+00:00",
    }
    assert query.dates()[1]["bound"] == "until (exclusive)"


def test_another_time_zone_moves_the_instant() -> None:
    bound = parse("before:2024-01-15", timezone="Europe/Berlin").root
    assert isinstance(bound, DateBound)
    assert bound.at == datetime(2024, 1, 14, 23, tzinfo=UTC)


def test_an_unknown_time_zone_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="HP_ARCHIVE_TIMEZONE"):
        parse("police", timezone="Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("police AND", "at position 11: expected a word, \"phrase\", field:value or '(' after AND"),
        ("police OR", "at position 10: expected a word, \"phrase\", field:value or '(' after OR"),
        ("NOT", "at position 4: expected a word, \"phrase\", field:value or '(' after NOT"),
        ("police AND AND fire", "at position 12: expected a word, \"phrase\", field:value or '(' after AND"),
        ("OR police", "at position 1: expected a word, \"phrase\", field:value or '(' before OR"),
        ("()", "at position 2: expected a word, \"phrase\", field:value or '(' after '('"),
        ("(police OR fire", "at position 16: expected ')' to close the '(' at position 1"),
        ("a (b (c)", "at position 9: expected ')' to close the '(' at position 3"),
        ("police)", "at position 7: unmatched ')': remove it or add a '(' before it"),
        ('"never mind', "at position 1: unclosed quote: add the closing '\"'"),
        ('author:"J Doe', "at position 8: unclosed quote: add the closing '\"'"),
        ("po*ce", "at position 3: a wildcard '*' may only end a word, as in polic*"),
        ("*", "at position 1: '*' has no searchable words (letters or digits)"),
        ("!!!", "at position 1: '!!!' has no searchable words (letters or digits)"),
        ('"..."', 'at position 1: the phrase "..." has no searchable words (letters or digits)'),
        ("autor:smith", "at position 1: unknown field 'autor:'"),
        ("platform: facebook", "at position 10: expected a value right after 'platform:'"),
        ("kind:tweet", "at position 6: kind:tweet is not a kind: use post|comment|reply|media|page"),
        ("kind:post|", "at position 6: empty alternative in kind:post|"),
        ("deleted:yes", "at position 9: expected true or false after 'deleted:'"),
        ("has:video", "at position 5: has: takes only media"),
        ("platform:face*", "at position 10: wildcards work only in words and author:"),
        ("after:2024-13-01", "at position 7: expected a date like 2024-01-31"),
        ("before:yesterday", "at position 8: expected a date like 2024-01-31"),
        ("after:2024-01-01T25:00", "at position 7: expected a date like 2024-01-31"),
        ("police OR version:current", "at position 11: version: narrows the whole query"),
        ("NOT version:current", "at position 5: version: narrows the whole query"),
        ("version:latest", "at position 9: expected current or all after 'version:'"),
        ("version:current version:all", "version:current and version:all contradict each other"),
    ],
)
def test_malformed_queries_say_where_and_what_was_expected(query: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(query)
    text = str(caught.value)
    assert text.startswith("query: ")
    assert message in text
    assert "\n" not in text


def test_an_empty_query_is_refused() -> None:
    with pytest.raises(QueryError, match="the query is empty"):
        parse("   ")


# -- rendering round trip ------------------------------------------------------------------------

tokens = st.text(alphabet="abcde0123警", min_size=1, max_size=6)  # already normalized
leaf = st.one_of(
    st.lists(tokens, min_size=1, max_size=3).map(lambda t: Text(tuple(t))),
    st.lists(tokens, min_size=1, max_size=3).map(lambda t: Text(tuple(t), prefix=True)),
    st.sampled_from(["post", "comment", "reply"]).map(lambda k: Match("kind", (k,))),
    st.sampled_from(["facebook", "x"]).map(lambda p: Match("platform", (p,))),
    st.tuples(st.sampled_from(["deleted", "edited", "hidden"]), st.booleans()).map(lambda t: Flag(*t)),
    st.sampled_from(["Jane Doe", "O'Neil", "10001"]).map(
        lambda a: Author(" ".join(a.lower().replace("'", " ").split()), a)
    ),
)
trees = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(children, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
        children.map(Not),
    ),
    max_leaves=8,
)


def _flat(node: Node) -> Node:
    """Nested AND in AND (or OR in OR) is the same query; the parser flattens it."""
    if isinstance(node, And | Or):
        kind = type(node)
        children: list[Node] = []
        for child in (_flat(c) for c in node.children):
            children.extend(child.children if isinstance(child, kind) else [child])
        return kind(tuple(children))
    if isinstance(node, Not):
        return Not(_flat(node.child))
    return node


@settings(max_examples=200, database=None, deadline=None)
@given(tree=trees, current=st.booleans())
def test_a_rendered_query_parses_back_to_the_same_query(tree: Node, current: bool) -> None:
    query = Query(_flat(tree), current_only=current)
    again = parse(query.render())
    assert again == query
