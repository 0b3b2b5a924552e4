"""stream() over a server-side cursor, and the compiled-query cache, against real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

import linkgress.query.running as running_module
from linkgress.query import session
from tests.integration.query_models import Article, Journal, open_journal, seed

ROWS = 5000


@pytest_asyncio.fixture(scope="module")
async def db(routed_module_database: str) -> AsyncIterator[Journal]:
    journal = await open_journal(routed_module_database)
    ids = await seed(journal)
    await journal.client.execute(
        "INSERT INTO articles (title, author_id, views)"
        " SELECT 'bulk ' || g, $1, g FROM generate_series(1, $2) AS g", ids["dan_100%"], ROWS)
    journal.dan = ids["dan_100%"]  # type: ignore[attr-defined]
    try:
        yield journal
    finally:
        await journal.dispose()


def bulk(db: Journal) -> Any:
    return db.articles.where(lambda p: p.author_id == db.dan).order_by(  # type: ignore[attr-defined]
        lambda p: p.views)


async def test_stream_yields_every_row_in_order(db: Journal) -> None:
    seen = []
    async for article in bulk(db).stream(prefetch=700):
        assert isinstance(article, Article)
        seen.append(article.views)
    assert seen == list(range(1, ROWS + 1))


async def test_stream_of_projections(db: Journal) -> None:
    total = 0
    async for row in bulk(db).select(lambda p: {"v": p.views, "who": p.author.username}).stream():
        assert row["who"] == "dan_100%"
        total += row["v"]
    assert total == ROWS * (ROWS + 1) // 2


async def test_leaving_a_stream_early_gives_the_connection_back(db: Journal) -> None:
    for _ in range(15):  # more than the pool's max_size (10): a leak would hang here
        stream = bulk(db).stream(prefetch=100)
        async for article in stream:
            if article.views == 3:
                break
        await stream.aclose()
    assert await db.articles.count() == ROWS + 6
    in_transaction = await db.client.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND state LIKE 'idle in transaction%'")
    assert in_transaction == 0


class RollBack(Exception):
    pass


async def test_stream_inside_a_transaction_sees_its_writes(db: Journal) -> None:
    with pytest.raises(RollBack):
        async with db.transaction():
            await db.articles.where(lambda p: p.views == 1).update({"title": "changed"})
            titles = []
            async for article in bulk(db).limit(3).stream(prefetch=1):
                titles.append(article.title)
                # the loop body may run other statements of the transaction
                assert await db.articles.where(lambda p: p.title == "changed").count() == 1
            assert titles == ["changed", "bulk 2", "bulk 3"]
            raise RollBack
    assert await db.articles.where(lambda p: p.title == "changed").count() == 0


async def test_same_shape_compiles_once(db: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = running_module.compile_statement

    def counting(*args: Any, **kwargs: Any) -> str:
        text = real(*args, **kwargs)
        compiled.append(text)
        return text

    monkeypatch.setattr(running_module, "compile_statement", counting)
    db.query_scope.cache.clear()
    counts = []
    for views in (1, 2, 3, 10_000):
        counts.append(await db.articles.where(lambda p: p.views == views).count())  # noqa: B023
    assert counts == [1, 1, 1, 0]
    assert len(compiled) == 1
    first = db.articles.where(lambda p: p.views == 1).order_by(lambda p: p.id).limit(3)
    second = db.articles.where(lambda p: p.views == 2).order_by(lambda p: p.id).limit(9)
    assert first.sql()[0] == second.sql()[0]
    assert first.sql()[1] == [1, 3] and second.sql()[1] == [2, 9]
    assert len(compiled) == 2


async def test_closure_values_that_change_the_shape_are_not_confused(db: Journal) -> None:
    def query(flag: bool, value: Any) -> Any:
        return db.articles.where(
            lambda p: (p.views == value) if flag else (p.editor_id == value))

    assert await query(True, 5).count() == 2
    assert await query(False, None).count() == ROWS + 4  # editor_id IS NULL
    assert await query(True, 5).count() == 2
    assert await query(False, 5).count() == 0
    sizes = {query(True, v).sql()[0] for v in (1, 2, 3)}
    assert len(sizes) == 1


async def test_repeated_statement_uses_one_prepared_statement(db: Journal, route: str) -> None:
    """Direct, a repeated query is prepared once per connection; through PgBouncer
    (``pgbouncer=True``) nothing named is prepared, so nothing is left on its server
    connections."""
    sql, _ = db.articles.where(lambda p: p.views == 7).limit(1).sql()
    async with db.transaction():  # one connection for all the statements below
        for views in range(20):
            await db.articles.where(lambda p: p.views == views).first_or_none()  # noqa: B023
        prepared = await session.fetchval(
            db.query_scope,
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", [sql])
    assert prepared == (1 if route == "direct" else 0)


async def test_large_to_list_leaves_the_gc_as_it_found_it(db: Journal) -> None:
    import gc

    assert gc.isenabled()
    rows = await bulk(db).to_list()
    assert len(rows) == ROWS and gc.isenabled()
    gc.disable()
    try:
        assert len(await bulk(db).to_list()) == ROWS
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
