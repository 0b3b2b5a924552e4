"""Subqueries against real PostgreSQL: IN / NOT IN a query, correlated EXISTS, scalar
subqueries in a projection, hostile values."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from linkgress import exists
from tests.integration.query_models import Journal, Mood, open_journal, seed


@pytest_asyncio.fixture(scope="module")
async def db(routed_module_database: str) -> AsyncIterator[Journal]:
    journal = await open_journal(routed_module_database)
    await seed(journal)
    try:
        yield journal
    finally:
        await journal.dispose()


async def usernames(query: object) -> list[str]:
    return await query.select(lambda a: a.username).order_by(  # type: ignore[attr-defined, no-any-return]
        lambda a: a.username).to_list()


async def test_in_a_query(db: Journal) -> None:
    popular = db.articles.where(lambda p: p.views >= 20).select(lambda p: p.author_id)
    assert await usernames(db.authors.where(lambda a: a.id.in_(popular))) == ["alice", "bob"]
    editors = db.articles.where(lambda p: p.editor_id != None).select(  # noqa: E711
        lambda p: p.editor_id)
    assert await usernames(db.authors.where(lambda a: a.id.not_in(editors))) == [
        "chloë", "dan_100%"]


async def test_correlated_exists(db: Journal) -> None:
    threshold = 40
    busy = await usernames(db.authors.where(lambda a: exists(
        db.articles.where(lambda p: (p.author_id == a.id) & (p.views > threshold)))))
    assert busy == ["alice"]
    idle = await usernames(db.authors.where(
        lambda a: ~exists(db.articles.where(lambda p: p.author_id == a.id))))
    assert idle == ["dan_100%"]


async def test_scalar_subqueries_in_select(db: Journal) -> None:
    rows = await db.authors.select(lambda a: {
        "name": a.username,
        "articles": db.articles.where(lambda p: p.author_id == a.id).count(),
        "top": db.articles.where(lambda p: p.author_id == a.id)
                          .order_by(lambda p: p.views.desc()).select(lambda p: p.title).first(),
    }).order_by(lambda a: a.username).to_list()
    assert rows == [
        {"name": "alice", "articles": 3, "top": "Hello"},
        {"name": "bob", "articles": 1, "top": "Bob's"},
        {"name": "chloë", "articles": 2, "top": "Zeta"},
        {"name": "dan_100%", "articles": 0, "top": None},
    ]


async def test_scalar_first_reads_typed_values(db: Journal) -> None:
    rows = await db.articles.where(lambda p: p.title == "Second").select(lambda p: (
        p.title, db.authors.where(lambda a: a.id == p.editor_id).select(lambda a: a.mood)
        .first())).to_list()
    assert rows == [("Second", Mood.GRUMPY)]


async def test_scalar_count_in_where(db: Journal) -> None:
    assert await usernames(db.authors.where(
        lambda a: a.score > db.articles.where(lambda p: p.author_id == a.id).count())) == [
        "alice", "bob", "chloë"]


async def test_hostile_values_in_subqueries_stay_data(db: Journal) -> None:
    hostile = "'; DROP TABLE articles; --"
    assert await usernames(db.authors.where(lambda a: exists(db.articles.where(
        lambda p: (p.author_id == a.id) & (p.title == hostile))))) == []
    assert await db.articles.count() == 6


async def test_correlated_subquery_over_the_same_table(db: Journal) -> None:
    rows = await db.authors.select(lambda a: (
        a.username,
        db.authors.where(lambda b: b.score > a.score).count(),
        db.authors.order_by(lambda b: b.score).where(lambda b: b.score > a.score)
        .select(lambda b: b.username).first(),
    )).order_by(lambda a: a.score).to_list()
    assert rows == [("dan_100%", 3, "bob"), ("bob", 2, "chloë"), ("chloë", 1, "alice"),
                    ("alice", 0, None)]
    best = await usernames(db.authors.where(
        lambda a: ~exists(db.authors.where(lambda b: b.score > a.score))))
    assert best == ["alice"]


async def test_scalar_count_compared_on_either_side(db: Journal) -> None:
    def written(a: object) -> object:
        return db.articles.where(lambda p: p.author_id == a.id).count()  # type: ignore[attr-defined]

    assert await usernames(db.authors.where(lambda a: written(a) > 1)) == ["alice", "chloë"]
    assert await usernames(db.authors.where(
        lambda a: 1 < written(a))) == ["alice", "chloë"]  # noqa: SIM300
    assert await usernames(db.authors.where(lambda a: written(a) == 1)) == ["bob"]
    assert await usernames(db.authors.where(
        lambda a: 0 != written(a))) == ["alice", "bob", "chloë"]  # noqa: SIM300
    assert await usernames(db.authors.where(lambda a: written(a) >= 3)) == ["alice"]
    assert await usernames(db.authors.where(lambda a: written(a) <= 1)) == ["bob", "dan_100%"]
    assert await usernames(db.authors.where(lambda a: written(a) + 1 == 2)) == ["bob"]
    assert await usernames(db.authors.where(lambda a: 4 - written(a) == 2)) == ["chloë"]
    ranked = await db.authors.order_by(lambda a: written(a).desc()).select(
        lambda a: (a.username, written(a))).to_list()
    assert ranked == [("alice", 3), ("chloë", 2), ("bob", 1), ("dan_100%", 0)]


async def test_scalar_first_compared_and_tested(db: Journal) -> None:
    def top_views(a: object) -> object:
        return db.articles.where(lambda p: p.author_id == a.id).order_by(  # type: ignore[attr-defined]
            lambda p: p.views.desc()).select(lambda p: p.views).first()

    assert await usernames(db.authors.where(lambda a: top_views(a) >= 20)) == ["alice", "bob"]
    assert await usernames(db.authors.where(
        lambda a: 20 > top_views(a))) == ["chloë"]  # noqa: SIM300
    assert await usernames(db.authors.where(lambda a: top_views(a).is_null())) == ["dan_100%"]
    assert await usernames(db.authors.where(
        lambda a: top_views(a).coalesce(0) < 20)) == ["chloë", "dan_100%"]


async def test_count_and_first_outside_a_lambda_are_still_coroutines(db: Journal) -> None:
    total = await db.articles.count()
    assert total == 6 and type(total) is int
    assert await asyncio.create_task(db.articles.count()) == 6
    first_title = db.articles.order_by(lambda p: p.title).select(lambda p: p.title).first()
    assert await asyncio.gather(db.articles.count(), first_title) == [6, "Bob's"]


async def test_grouped_query_with_a_correlated_subquery_over_the_same_table(
        db: Journal) -> None:
    rows = await db.articles.group_by(lambda p: p.author_id).having(
        lambda g: exists(db.articles.where(
            lambda p2: (p2.author_id == g.key) & (p2.views >= 20)))).select(lambda g: {
        "author": db.authors.where(lambda a: a.id == g.key).select(lambda a: a.username)
        .first(),
        "articles": g.count(),
        "popular": db.articles.where(
            lambda p2: (p2.author_id == g.key) & (p2.views >= 20)).count(),
    }).order_by(lambda g: g.key).to_list()
    assert rows == [  # ordered by author id: alice was inserted first
        {"author": "alice", "articles": 3, "popular": 2},
        {"author": "bob", "articles": 1, "popular": 1},
    ]
    busy = await db.articles.group_by(lambda p: p.author_id).having(
        lambda g: db.articles.where(
            lambda p2: (p2.author_id == g.key) & (p2.views > 10)).count() > 1).select(
        lambda g: db.authors.where(lambda a: a.id == g.key).select(
            lambda a: a.username).first()).to_list()
    assert busy == ["alice"]
