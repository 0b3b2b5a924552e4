"""Reading with Queryable against real PostgreSQL: filters, NULL semantics, projections,
ordering, paging, aggregates, grouping, unions, first/single, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import pytest
import pytest_asyncio

from linkgress.errors import MultipleResultsError, NoResultError, QueryBuildError
from linkgress.query import func, sql
from tests.integration.query_models import (
    BASE_TIME,
    Article,
    Author,
    Journal,
    Mood,
    open_journal,
    seed,
)


@pytest_asyncio.fixture(scope="module")
async def db(routed_module_database: str) -> AsyncIterator[Journal]:
    journal = await open_journal(routed_module_database)
    journal.ids = await seed(journal)  # type: ignore[attr-defined]
    try:
        yield journal
    finally:
        await journal.dispose()


async def names(query: object) -> list[str]:
    rows = await query.select(lambda a: a.username).order_by(  # type: ignore[attr-defined]
        lambda a: a.username).to_list()
    return list(rows)


async def test_where_returns_typed_entities(db: Journal) -> None:
    users = await db.authors.where(lambda a: a.username == "alice").to_list()
    assert len(users) == 1
    alice = users[0]
    assert isinstance(alice, Author)
    assert alice.username == "alice"
    assert alice.email == "alice@example.com"
    assert alice.mood is Mood.HAPPY
    assert alice.profile == {"lang": "en", "tags": [1, 2]}
    assert alice.created_at == BASE_TIME
    assert isinstance(alice.id, int)


async def test_chained_where_is_anded(db: Journal) -> None:
    query = db.articles.where(lambda p: p.views > 10).where(lambda p: p.title.startswith("T"))
    assert [a.title for a in await query.to_list()] == ["Third"]


async def test_and_or_not(db: Journal) -> None:
    rows = await names(db.authors.where(
        lambda a: ((a.score > 6) & (a.mood == Mood.HAPPY)) | (a.username == "bob")))
    assert rows == ["alice", "bob", "chloë"]
    assert await names(db.authors.where(lambda a: ~(a.score > 6))) == ["bob", "dan_100%"]


async def test_null_semantics(db: Journal) -> None:
    missing = None
    assert await names(db.authors.where(lambda a: a.email == missing)) == ["bob"]
    assert await names(db.authors.where(lambda a: a.email.is_null())) == ["bob"]
    assert len(await names(db.authors.where(lambda a: a.email != None))) == 3  # noqa: E711
    assert len(await names(db.authors.where(lambda a: a.email.is_not_null()))) == 3
    # SQL three-valued logic: a NULL email is neither equal nor unequal to a value
    assert "bob" not in await names(db.authors.where(lambda a: a.email != "x@y"))
    assert await names(db.authors.where(lambda a: a.email.coalesce("none") == "none")) == ["bob"]


async def test_in_between_like(db: Journal) -> None:
    ids = db.ids  # type: ignore[attr-defined]
    wanted = [ids["alice"], ids["bob"]]
    assert await names(db.authors.where(lambda a: a.id.in_(wanted))) == ["alice", "bob"]
    assert await names(db.authors.where(lambda a: a.id.in_([]))) == []
    assert len(await names(db.authors.where(lambda a: a.id.not_in([])))) == 4
    assert await names(db.authors.where(lambda a: a.score.between(5, 7))) == ["bob", "chloë"]
    assert await names(db.authors.where(lambda a: a.username.like("a%"))) == ["alice"]
    assert await names(db.authors.where(lambda a: a.username.ilike("ALI%"))) == ["alice"]
    assert await names(db.authors.where(lambda a: a.username.endswith("ë"))) == ["chloë"]
    assert await names(db.authors.where(lambda a: a.username.contains("lic"))) == ["alice"]


async def test_like_wildcards_in_values_match_literally(db: Journal) -> None:
    assert await names(db.authors.where(lambda a: a.username.contains("_100%"))) == ["dan_100%"]
    assert await names(db.authors.where(lambda a: a.username.startswith("%"))) == []
    assert await names(db.authors.where(lambda a: a.username.endswith("_"))) == []


async def test_hostile_strings_are_parameters(db: Journal) -> None:
    hostile = "alice' OR '1'='1"
    assert await db.authors.where(lambda a: a.username == hostile).to_list() == []
    drop = "x'); DROP TABLE authors; --"
    assert await db.authors.where(lambda a: a.username.contains(drop)).count() == 0
    assert await db.authors.count() == 4


async def test_unicode_round_trip(db: Journal) -> None:
    chloe = await db.authors.where(lambda a: a.username == "chloë").single()
    assert chloe.username == "chloë"
    titles = await db.articles.where(lambda p: p.title.contains("✓")).select(
        lambda p: p.title).to_list()
    assert titles == ["Ünïcödé ✓"]


async def test_arithmetic_and_functions(db: Journal) -> None:
    rows = await db.authors.where(lambda a: (a.score * 2 + 1) > 15).select(
        lambda a: {"name": func.upper(a.username), "double": a.score * 2,
                   "mod": a.score % 3}).order_by(lambda a: a.username).to_list()
    assert rows == [{"name": "ALICE", "double": 20, "mod": 1}]
    lowered = await db.authors.where(lambda a: func.lower(a.username) == "bob").count()
    assert lowered == 1


async def test_raw_sql_fragment_binds_its_values(db: Journal) -> None:
    threshold = 6
    got = await names(db.authors.where(lambda a: sql("$1 > $2", a.score, threshold)))
    assert got == ["alice", "chloë"]
    evil = "1; DROP TABLE authors"
    assert await db.authors.where(lambda a: sql("$1 = $2", a.username, evil)).count() == 0


async def test_projection_shapes(db: Journal) -> None:
    @dataclass
    class Card:
        name: str
        score: int

    class Pair(NamedTuple):
        name: str
        mood: Mood

    query = db.authors.where(lambda a: a.username == "alice")
    assert await query.select(lambda a: Card(name=a.username, score=a.score)).first() == Card(
        "alice", 10)
    assert await query.select(lambda a: Pair(a.username, a.mood)).first() == Pair(
        "alice", Mood.HAPPY)
    assert await query.select(lambda a: (a.username, a.score)).first() == ("alice", 10)
    nested = await query.select(
        lambda a: {"who": {"name": a.username, "mail": a.email}, "at": a.created_at}).first()
    assert nested == {"who": {"name": "alice", "mail": "alice@example.com"}, "at": BASE_TIME}
    assert isinstance(nested["at"], datetime)
    assert await query.select(lambda a: a.mood).first() is Mood.HAPPY


async def test_order_by_several_keys_and_nulls(db: Journal) -> None:
    rows = await db.articles.order_by(lambda p: p.published_at, nulls="first").then_by(
        lambda p: p.title).select(lambda p: p.title).to_list()
    assert rows[:2] == ["Third", "Zeta"]
    assert rows[2:] == ["Hello", "Second", "Bob's", "Ünïcödé ✓"]
    last = await db.articles.order_by_descending(lambda p: p.published_at, nulls="last").select(
        lambda p: p.title).to_list()
    assert last[-2:] == ["Third", "Zeta"] or last[-2:] == ["Zeta", "Third"]
    assert last[0] == "Ünïcödé ✓"
    tuple_keys = await db.authors.order_by(lambda a: (a.mood, a.username.desc())).select(
        lambda a: a.username).to_list()
    assert tuple_keys == ["chloë", "alice", "dan_100%", "bob"]


async def test_limit_offset_distinct(db: Journal) -> None:
    page = await db.articles.order_by(lambda p: p.views, descending=True).offset(1).limit(2) \
        .select(lambda p: p.views).to_list()
    assert page == [50, 20]
    moods = await db.authors.select(lambda a: a.mood).distinct().to_list()
    assert sorted(m.value for m in moods) == ["grumpy", "happy"]
    assert await db.authors.limit(0).to_list() == []


async def test_first_single_and_empty_results(db: Journal) -> None:
    nobody = db.authors.where(lambda a: a.username == "nobody")
    assert await nobody.to_list() == []
    assert await nobody.first_or_none() is None
    assert await nobody.single_or_none() is None
    assert await nobody.count() == 0
    assert await nobody.exists() is False
    assert await nobody.sum(lambda a: a.score) is None
    with pytest.raises(NoResultError):
        await nobody.first()
    with pytest.raises(NoResultError):
        await nobody.single()
    with pytest.raises(MultipleResultsError):
        await db.authors.single()
    first = await db.authors.order_by(lambda a: a.score).first()
    assert first.username == "dan_100%"


async def test_aggregates(db: Journal) -> None:
    assert await db.authors.count() == 4
    assert await db.authors.exists() is True
    assert await db.articles.sum(lambda p: p.views) == 190
    assert await db.articles.min(lambda p: p.views) == 0
    assert await db.articles.max(lambda p: p.title) == "Ünïcödé ✓"
    assert await db.authors.avg(lambda a: a.score) == Decimal("5.5")
    top = db.articles.order_by(lambda p: p.views, descending=True).limit(2)
    assert await top.sum(lambda p: p.views) == 150
    assert await top.count() == 2


async def test_group_by_having(db: Journal) -> None:
    rows = await (db.articles
                  .group_by(lambda p: p.author_id)
                  .having(lambda g: g.count() > 1)
                  .select(lambda g: {"author": g.key, "n": g.count(),
                                     "views": g.sum(lambda x: x.views),
                                     "top": g.max(lambda x: x.views)})
                  .order_by(lambda g: g.count(), descending=True)
                  .to_list())
    ids = db.ids  # type: ignore[attr-defined]
    assert rows == [{"author": ids["alice"], "n": 3, "views": 155, "top": 100},
                    {"author": ids["chloë"], "n": 2, "views": 15, "top": 15}]
    by_two = await db.authors.group_by(lambda a: {"mood": a.mood}).select(
        lambda g: (g.key["mood"], g.count())).order_by(lambda g: g.key["mood"]).to_list()
    assert by_two == [(Mood.HAPPY, 2), (Mood.GRUMPY, 2)]


async def test_union_and_union_all(db: Journal) -> None:
    a = db.authors.where(lambda x: x.score >= 7).select(lambda x: x.username)
    b = db.authors.where(lambda x: x.username == "alice").select(lambda x: x.username)
    assert sorted(await a.union(b).to_list()) == ["alice", "chloë"]
    assert await a.union(b).first() in ("alice", "chloë")
    with pytest.raises(NoResultError):
        await b.where(lambda x: x.id < 0).union(b.where(lambda x: x.id < 0)).first()
    assert sorted(await a.union_all(b).to_list()) == ["alice", "alice", "chloë"]
    assert await a.union_all(b).count() == 3
    with pytest.raises(QueryBuildError):
        a.union(db.authors.select(lambda x: (x.username, x.id)))


async def test_closure_values_are_rebound_each_time(db: Journal) -> None:
    found = []
    for name in ["alice", "bob", "nobody", "chloë"]:
        found.append(await db.authors.where(lambda a: a.username == name).count())  # noqa: B023
    assert found == [1, 1, 0, 1]
    results = []
    for wanted in ["bob", None]:  # same lambda, a value then None: = $1 vs IS NULL
        results.append(await names(db.authors.where(lambda a: a.email == wanted)))  # noqa: B023
    assert results == [[], ["bob"]]


async def test_bad_input_fails_when_built(db: Journal) -> None:
    with pytest.raises(QueryBuildError, match="nickname"):
        db.authors.where(lambda a: a.nickname == "x")
    with pytest.raises(QueryBuildError, match=r"Author\.score"):
        db.authors.where(lambda a: a.score == "ten")
    with pytest.raises(QueryBuildError, match=r"Author\.username"):
        db.authors.select(lambda a: {"x": a.username + 1})
    with pytest.raises(QueryBuildError, match="title"):
        db.authors.select(lambda a: {"t": Article.title})
    with pytest.raises(QueryBuildError):
        db.authors.where(lambda a: a.score > 1 and a.score < 5)
    with pytest.raises(QueryBuildError, match=r"Mood|enum"):
        db.authors.where(lambda a: a.mood == "sleepy")


async def test_column_of_another_query_is_rejected(db: Journal) -> None:
    captured = []
    db.articles.where(lambda p: captured.append(p) or p.views > 0)
    other = captured[0]
    with pytest.raises(QueryBuildError, match="Article"):
        await db.authors.where(lambda a: a.score == other.views).to_list()


async def test_json_column_compared_with_a_python_value(db: Journal) -> None:
    found = await names(db.authors.where(lambda a: a.profile == {"lang": "fr"}))
    assert found == ["chloë"]


async def test_fractional_values_against_integer_columns(db: Journal) -> None:
    assert await names(db.authors.where(lambda a: a.score > 6.5)) == ["alice", "chloë"]
    assert await names(db.authors.where(lambda a: a.score * 1.5 >= Decimal("15"))) == ["alice"]


async def test_constants_in_projections(db: Journal) -> None:
    row = await db.authors.where(lambda a: a.username == "bob").select(
        lambda a: {"name": a.username, "kind": "author", "n": 3, "nothing": None}).first()
    assert row == {"name": "bob", "kind": "author", "n": 3, "nothing": None}
