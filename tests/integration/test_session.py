"""The execution edge against real PostgreSQL: borrowed connections are shared fairly with other
users of the pool, carry no session state between users, and statements are logged without
their values."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from linkgress import PgClient, park
from linkgress.query import session
from tests.integration.mutation_models import HOSTILE, Club, Member, open_club, reset


@pytest_asyncio.fixture(scope="module")
async def schema(routed_module_database: str) -> AsyncIterator[str]:
    db = await open_club(routed_module_database)
    await db.dispose()
    yield routed_module_database


@pytest_asyncio.fixture
async def pair(schema: str) -> AsyncIterator[Club]:
    """A context whose pool holds two connections."""
    db = Club(PgClient(dsn=schema, min_size=0, max_size=2))
    await reset(db)
    try:
        yield db
    finally:
        await db.dispose()


async def test_orm_statements_always_leave_a_connection_to_other_users(pair: Club) -> None:
    await asyncio.gather(*(pair.members.count() for _ in range(10)))  # both connections used
    async with asyncio.timeout(5), pair.client.acquire() as connection:
        assert await connection.fetchval("SELECT 1") == 1
        assert await pair.members.count() == 0  # the ORM still works meanwhile


async def test_idle_borrowed_connections_go_back_to_the_pool(pair: Club) -> None:
    await asyncio.gather(*(pair.members.count() for _ in range(10)))
    await asyncio.sleep(park.PARK_IDLE_SECONDS * 3)
    async with asyncio.timeout(5), pair.client.acquire() as a, pair.client.acquire() as b:
        assert await a.fetchval("SELECT 1") == await b.fetchval("SELECT 1") == 1


async def test_session_state_set_by_user_code_does_not_leak(pair: Club) -> None:
    async with pair.transaction() as tx:
        await tx.connection.execute("SET work_mem = '1234kB'")  # session-level, outlives COMMIT
        assert await session.fetchval(pair.query_scope, "SHOW work_mem", []) == "1234kB"
    seen = {await session.fetchval(pair.query_scope, "SHOW work_mem", []) for _ in range(20)}
    seen |= set(await asyncio.gather(
        *(session.fetchval(pair.query_scope, "SHOW work_mem", []) for _ in range(6))))
    assert "1234kB" not in seen


async def test_a_one_connection_pool_still_serves_everyone(schema: str) -> None:
    db = Club(PgClient(dsn=schema, min_size=0, max_size=1))
    try:
        await db.members.insert(Member(handle="solo"))
        async with asyncio.timeout(5), db.client.acquire() as connection:
            assert await connection.fetchval("SELECT count(*) FROM members") == 1
        results = await asyncio.wait_for(
            asyncio.gather(*(db.members.count() for _ in range(5))), 5)
        assert results == [1] * 5
    finally:
        await reset(db)
        await db.dispose()


async def test_statements_are_logged_without_values(
    pair: Club, caplog: pytest.LogCaptureFixture
) -> None:
    pair.client.log_queries = True
    with caplog.at_level(logging.INFO, logger="linkgress.sql"):
        await pair.members.insert(Member(handle=HOSTILE))
        await pair.members.insert_many([Member(handle=f"m{i}") for i in range(150)])
        async with pair.transaction():
            await pair.members.where(lambda m: m.handle == HOSTILE).update({"score": 1})
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "linkgress.sql")
    assert 'INSERT INTO "public"."members"' in text
    assert 'COPY "public"."members" FROM STDIN' in text
    assert 'UPDATE "public"."members"' in text
    assert "[1 args]" in text
    assert HOSTILE not in text and "m149" not in text
