"""The same query selects the same items on SQLite FTS5, on PostgreSQL, and in the reference semantics.

Hypothesis writes a few hundred queries — words, prefixes, phrases, every field filter, dates on
both sides of the DST changes, nested AND / OR / NOT, ``version:current`` — renders them as text,
parses them, and runs them over one corpus loaded into both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from hp_archive.index.db import make_engine, session_factory, upgrade
from hp_archive.index.search import matching_uids, search
from hp_archive.index.text import tokens
from hp_archive.query.ast import And, Author, DateBound, Flag, Match, Node, Not, Or, Query, Text
from hp_archive.query.dates import parse_instant
from hp_archive.query.evaluate import matches
from hp_archive.query.parser import parse
from tests.integration.query import corpus
from tests.support.databases import postgres_base_url, postgres_schema_url

TZ = "America/Chicago"
ITEMS = corpus.build()
VOCAB = sorted({tok for item in ITEMS for version in item.facts.versions for tok in version})


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('parity') / 'index.sqlite'}")
    upgrade(engine)
    corpus.load(engine, ITEMS)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[Engine]:
    with postgres_schema_url() as url:
        engine = make_engine(url)
        upgrade(engine)
        corpus.load(engine, ITEMS)
        yield engine
        engine.dispose()


def expected(query: Query) -> list[str]:
    return sorted(item.uid for item in ITEMS if matches(query, item.facts))


def selected(engine: Engine, query: Query) -> list[str]:
    with session_factory(engine)() as session:
        return matching_uids(session, query)


# -- query strategies ------------------------------------------------------------------------------

phrase_sources = [v for item in ITEMS for v in item.facts.versions if len(v) >= 3]


@st.composite
def phrases(draw: st.DrawFn) -> Text:
    version = draw(st.sampled_from(phrase_sources))
    size = draw(st.integers(2, 3))
    start = draw(st.integers(0, len(version) - size))
    words = list(version[start : start + size])
    if draw(st.booleans()):
        words[-1] = draw(st.sampled_from(VOCAB))  # sometimes a near miss
    return Text(tuple(words), prefix=draw(st.booleans()) and len(words[-1]) > 1)


words = st.sampled_from(VOCAB).map(lambda w: Text((w,)))
prefixes = st.sampled_from(VOCAB).flatmap(
    lambda w: st.integers(1, max(1, len(w))).map(lambda n: Text((w[:n],), prefix=True))
)
split_words = st.sampled_from(["o'neil", "e-mail", "10:30", "Peña's", "5pm-2am", "<script>"]).map(
    lambda w: Text(tuple(tokens(w)))
)
matchers = st.one_of(
    st.lists(st.sampled_from(sorted(corpus.PLATFORMS)), min_size=1, max_size=2, unique=True).map(
        lambda v: Match("platform", tuple(v))
    ),
    st.sampled_from(sorted(corpus.PLATFORMS.values())).map(lambda v: Match("account", (v,))),
    st.sampled_from(corpus.SERIES).map(lambda v: Match("series", (v,))),
    st.lists(st.sampled_from(corpus.KINDS), min_size=1, max_size=3, unique=True).map(
        lambda v: Match("kind", tuple(v))
    ),
)
names = [name for _, name in corpus.AUTHORS if name]
authors = st.one_of(
    st.sampled_from([*names, "jane doe", "ZOE ANGSTROM", "nobody"]).map(
        lambda v: Author(" ".join(tokens(v)), v)
    ),
    st.sampled_from(["10001", "10004", "10008"]).map(lambda v: Author(v, v)),
    st.sampled_from(["j", "jane", "zoe a", "ch"]).map(lambda v: Author(" ".join(tokens(v)), v, prefix=True)),
)
flags = st.one_of(
    st.tuples(st.sampled_from(["deleted", "edited", "hidden"]), st.booleans()).map(lambda t: Flag(*t)),
    st.just(Flag("media", True)),
)


@st.composite
def dates(draw: st.DrawFn) -> DateBound:
    name = draw(st.sampled_from(["after", "before", "captured_after", "captured_before"]))
    anchor = draw(st.sampled_from([date(2026, 3, 5), date(2026, 10, 28)]))
    day = anchor + timedelta(days=draw(st.integers(0, 6)))
    if draw(st.booleans()):
        source = day.isoformat()
    else:
        moment = datetime(day.year, day.month, day.day, draw(st.integers(0, 23)), draw(st.integers(0, 59)))
        source = moment.isoformat(timespec="minutes") + draw(st.sampled_from(["", "Z", "-05:00"]))
    instant = parse_instant(source, TZ)
    assert instant is not None
    return DateBound(name, instant, source=source)


leaves = st.one_of(words, words, prefixes, phrases(), split_words, matchers, authors, flags, dates())


def combine(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(children, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
        children.map(lambda c: Not(c)),
    )


trees = st.recursive(leaves, combine, max_leaves=6)


@st.composite
def queries(draw: st.DrawFn) -> Query:
    root = draw(trees)
    current = draw(st.integers(0, 3)) == 0
    text = Query(root, current_only=current, timezone=TZ).render()
    return parse(text, timezone=TZ)


QUERY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,  # the same few hundred queries on every run: a failure always reproduces
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# -- tests -------------------------------------------------------------------------------------------


@QUERY_SETTINGS
@given(query=queries())
def test_sqlite_selects_what_the_query_means(sqlite_engine: Engine, query: Query) -> None:
    assert selected(sqlite_engine, query) == expected(query), query.render()


@pytest.mark.postgres
@QUERY_SETTINGS
@given(query=queries())
def test_postgresql_and_sqlite_select_the_same_items(
    sqlite_engine: Engine, postgres_engine: Engine, query: Query
) -> None:
    on_sqlite = selected(sqlite_engine, query)
    on_postgres = selected(postgres_engine, query)
    assert on_postgres == on_sqlite, query.render()
    assert on_sqlite == expected(query), query.render()


def ranked(engine: Engine, query: Query) -> list[str]:
    with session_factory(engine)() as session:
        page = search(session, query, limit=1000)
    ids = [r["id"] for r in page.results]
    assert page.total == len(ids) == len(set(ids)), query.render()
    return sorted(ids)


@pytest.mark.postgres
@settings(QUERY_SETTINGS, max_examples=200)
@given(query=queries())
def test_ranked_search_pages_hold_the_same_items(
    sqlite_engine: Engine, postgres_engine: Engine, query: Query
) -> None:
    """search() joins the ranking in three ways depending on the query; each must keep the set."""
    want = expected(query)
    assert ranked(sqlite_engine, query) == want, query.render()
    assert ranked(postgres_engine, query) == want, query.render()


@pytest.mark.parametrize(
    "text",
    [
        "police",
        "police officer",
        "police speed* kind:post",
        "police NOT officer",
        "police NOT officer platform:x",
        "(police OR officer) street",
        '"never mind" OR police',
        "version:current police officer",
        "version:current (police OR speed*)",
        "NOT police",
        "deleted:true OR police",
    ],
)
def test_ranked_search_keeps_the_matching_items(
    sqlite_engine: Engine, request: pytest.FixtureRequest, text: str
) -> None:
    query = parse(text, timezone=TZ)
    assert ranked(sqlite_engine, query) == expected(query)
    if postgres_base_url() is not None:
        assert ranked(request.getfixturevalue("postgres_engine"), query) == expected(query)


def test_the_generated_queries_are_not_trivial() -> None:
    """The corpus and strategies give queries with hits, misses, and partial selections."""
    sizes = [len(expected(parse(q, timezone=TZ))) for q in ("police", "polic*", "NOT police", '"never mind"')]
    assert all(0 < size < len(ITEMS) for size in sizes), sizes


@pytest.mark.parametrize(
    ("query", "must_match"),
    [
        ("pena", "accents and case fold alike: Peña, PENA and pena are one word"),
        ("angstrom", "Ångström folds to angstrom"),
        ("strasse", "Straße case-folds to strasse"),
        ('"o neil"', "O'Neil is the phrase o neil"),
        ("o'neil", "a word with an apostrophe is that phrase too"),
        ("警察", "CJK text is searchable"),
        ("مرحبا", "right-to-left text is searchable"),
        ("script", "markup is only text"),
    ],
)
def test_awkward_text_is_found_alike(sqlite_engine: Engine, query: str, must_match: str) -> None:
    q = parse(query, timezone=TZ)
    assert selected(sqlite_engine, q) == expected(q) != [], must_match


def test_ranked_results_are_the_matching_items_on_both(
    sqlite_engine: Engine, request: pytest.FixtureRequest
) -> None:
    engines = [sqlite_engine]
    if postgres_base_url() is not None:
        engines.append(request.getfixturevalue("postgres_engine"))
    for engine in engines:
        with session_factory(engine)() as session:
            page = search(session, "police OR officer*", limit=1000, timezone=TZ)
        ids = [r["id"] for r in page.results]
        assert page.total == len(ids) == len(set(ids))
        assert sorted(ids) == expected(parse("police OR officer*", timezone=TZ))
        for result in page.results:
            assert "[[" in result["snippet"], (engine.dialect.name, result)


def test_paging_walks_every_result_once(sqlite_engine: Engine) -> None:
    with session_factory(sqlite_engine)() as session:
        seen = []
        for offset in range(0, 200, 7):
            seen += [r["id"] for r in search(session, "NOT police", limit=7, offset=offset).results]
        total = search(session, "NOT police").total
    assert len(seen) == len(set(seen)) == total


def test_a_page_past_the_end_still_counts_every_match(sqlite_engine: Engine) -> None:
    with session_factory(sqlite_engine)() as session:
        page = search(session, "police", offset=10_000)
    assert page.results == []
    assert page.total == len(expected(parse("police", timezone=TZ))) > 0


@pytest.mark.parametrize("text", ["police", "polic*", "police kind:comment|reply", "deleted:true OR police"])
def test_small_pages_follow_the_full_ranking(
    sqlite_engine: Engine, request: pytest.FixtureRequest, text: str
) -> None:
    """A page is cut on the score before items are read: ties at the cut must not move or drop items."""
    engines = [sqlite_engine]
    if postgres_base_url() is not None:
        engines.append(request.getfixturevalue("postgres_engine"))
    for engine in engines:
        with session_factory(engine)() as session:
            full = search(session, text, limit=1000, timezone=TZ)
            paged: list[str] = []
            for offset in range(0, full.total + 3, 3):
                page = search(session, text, limit=3, offset=offset, timezone=TZ)
                assert page.total == full.total, (engine.dialect.name, offset)
                paged += [r["id"] for r in page.results]
        assert full.total > 6, text
        assert paged == [r["id"] for r in full.results], engine.dialect.name


def test_date_ranges_read_the_item_time_index(sqlite_engine: Engine) -> None:
    """after:/before: and the newest-first order use migration 0008's index, not a scan of every item."""
    from sqlalchemy import select

    from hp_archive.index import models as m
    from hp_archive.query.sql import QueryCompiler, item_time

    query = parse("after:2026-03-05 before:2026-03-12", timezone=TZ)
    statement = (
        select(m.Item.id)
        .where(QueryCompiler(query, "sqlite").condition())
        .order_by(item_time().desc(), m.Item.uid)
        .limit(10)
    )
    with sqlite_engine.connect() as conn:
        compiled = statement.compile(sqlite_engine, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "ix_items_item_time" in plan, plan
