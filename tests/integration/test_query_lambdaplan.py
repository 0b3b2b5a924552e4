"""Replayed where(lambda) plans against real PostgreSQL: lookups, chaining, counts and
mutations through a replayed query touch exactly the rows the lambda selects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from linkgress.query.queryable import PlannedQueryable
from tests.integration.query_models import Journal, open_journal, seed


@pytest_asyncio.fixture
async def db(routed_database: str) -> AsyncIterator[Journal]:
    journal = await open_journal(routed_database)
    journal.ids = await seed(journal)  # type: ignore[attr-defined]
    try:
        yield journal
    finally:
        await journal.dispose()


def by_id(db: Journal, value: Any) -> Any:
    return db.authors.where(lambda a: a.id == value)


async def test_replayed_lookups_return_each_row(db: Journal) -> None:
    ids: dict[str, int] = db.ids  # type: ignore[attr-defined]
    for _ in range(2):
        for name, author_id in ids.items():
            author = await by_id(db, author_id).first_or_none()
            assert author is not None and author.username == name
            assert (await by_id(db, author_id).first()).id == author_id
            assert (await by_id(db, author_id).single()).id == author_id
            assert [a.id for a in await by_id(db, author_id).to_list()] == [author_id]
            assert await by_id(db, author_id).count() == 1
    assert isinstance(by_id(db, -1), PlannedQueryable)
    assert await by_id(db, -1).first_or_none() is None
    assert not await by_id(db, -1).exists()


async def test_replayed_queries_chain_and_mutate_only_their_rows(db: Journal) -> None:
    ids: dict[str, int] = db.ids  # type: ignore[attr-defined]
    alice, bob = ids["alice"], ids["bob"]
    by_id(db, alice)
    query = by_id(db, bob)
    assert isinstance(query, PlannedQueryable)
    assert await query.where(lambda a: a.score > 1_000_000).first_or_none() is None
    assert await query.select(lambda a: a.username).to_list() == ["bob"]
    assert await query.update({"score": 41}) == 1
    assert [a.score for a in await db.authors.order_by(lambda a: a.id).to_list()
            if a.id in (alice, bob)] == [
        (await by_id(db, alice).first()).score, 41]
    assert (await by_id(db, alice).first()).score != 41


async def test_sorted_pages_of_a_replayed_query(db: Journal) -> None:
    ids: dict[str, int] = db.ids  # type: ignore[attr-defined]
    everyone = [a.id for a in await db.authors.order_by(lambda a: a.id).to_list()]

    def page(low: int, count: int, skip: int) -> Any:
        return (db.authors.where(lambda a: a.id >= low).order_by(lambda a: a.id)
                .offset(skip).limit(count))

    for low, count, skip in ((0, 2, 0), (0, 1, 1), (min(ids.values()), 5, 1), (0, 0, 0)):
        query = page(low, count, skip)
        expected = [i for i in everyone if i >= low][skip:skip + count]
        assert [a.id for a in await query.to_list()] == expected
        assert await query.count() == len(expected)
        first = await query.first_or_none()
        assert (None if first is None else first.id) == (expected[0] if expected else None)
    assert isinstance(page(0, 1, 0), PlannedQueryable)
