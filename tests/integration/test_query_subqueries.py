"""Subqueries against real PostgreSQL: IN / NOT IN a query, correlated EXISTS, scalar
subqueries in a projection, hostile values."""

from __future__ import annotations

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
