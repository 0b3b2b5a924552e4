"""``db.transaction()`` against real PostgreSQL: commit, rollback, savepoints, options, what
tasks started inside a transaction see (asyncio.gather), streams, and connection hygiene."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from linkgress import PgClient
from linkgress.errors import DatabaseError, TransactionError
from linkgress.query import session
from tests.integration.mutation_models import Club, Member, reset


@pytest_asyncio.fixture
async def small(routed_module_database: str, club: Club) -> AsyncIterator[Club]:
    """A second context on the same database whose pool has a single connection: anything
    that leaks a connection makes the next statement hang (guarded by timeouts)."""
    await reset(club)
    db = Club(PgClient(dsn=routed_module_database, min_size=0, max_size=1))
    try:
        yield db
    finally:
        await db.dispose()


async def handles(db: Club) -> list[str]:
    """Handles as committed, read on a connection outside any transaction of ``db``."""
    rows = await db.client.fetch("SELECT handle FROM members ORDER BY handle")
    return [r["handle"] for r in rows]


async def backend(db: Club) -> int:
    return int(await session.fetchval(db.query_scope, "SELECT pg_backend_pid()", []))


async def test_commit_on_normal_exit_and_isolation_from_others(db: Club) -> None:
    async with db.transaction():
        await db.members.insert(Member(handle="a"))
        assert await db.members.count() == 1  # visible inside
        assert await handles(db) == []  # not committed yet: invisible outside
    assert await handles(db) == ["a"]


async def test_rollback_on_exception_which_propagates(db: Club) -> None:
    with pytest.raises(ZeroDivisionError):
        async with db.transaction():
            await db.members.insert(Member(handle="a"))
            await db.members.where(lambda u: u.handle == "a").update({"score": 5})
            1 / 0  # noqa: B018
    assert await handles(db) == []


async def test_all_statements_use_one_connection(db: Club) -> None:
    async with db.transaction():
        pid = await backend(db)
        xid = await session.fetchval(db.query_scope, "SELECT txid_current()", [])
        await db.members.insert_many([Member(handle=f"m{i}") for i in range(200)])  # COPY
        assert await backend(db) == pid
        assert await session.fetchval(db.query_scope, "SELECT txid_current()", []) == xid
    assert len(await handles(db)) == 200


async def test_nested_block_is_a_savepoint(db: Club) -> None:
    async with db.transaction() as outer:
        assert not outer.is_savepoint
        await db.members.insert(Member(handle="outer"))
        with pytest.raises(RuntimeError, match="inner"):
            async with db.transaction() as inner:
                assert inner.is_savepoint
                await db.members.insert(Member(handle="inner"))
                raise RuntimeError("inner")
        async with db.transaction():
            await db.members.insert(Member(handle="kept"))
        assert await db.members.count() == 2
    assert await handles(db) == ["kept", "outer"]


async def test_savepoint_recovers_from_a_failed_statement(db: Club) -> None:
    async with db.transaction():
        await db.members.insert(Member(handle="a"))
        with pytest.raises(DatabaseError):
            async with db.transaction():
                await db.members.insert(Member(handle="a"))  # unique violation
        # the savepoint rolled back, so the transaction is usable again
        await db.members.insert(Member(handle="b"))
    assert await handles(db) == ["a", "b"]


async def test_failure_in_outer_block_undoes_committed_savepoints(db: Club) -> None:
    with pytest.raises(LookupError):
        async with db.transaction():
            async with db.transaction():
                await db.members.insert(Member(handle="inner"))
            raise LookupError
    assert await handles(db) == []


async def test_isolation_and_readonly_options(db: Club) -> None:
    async with db.transaction(isolation="serializable"):
        level = await session.fetchval(db.query_scope, "SHOW transaction_isolation", [])
        assert level == "serializable"
    with pytest.raises(DatabaseError) as info:
        async with db.transaction(isolation="repeatable_read", readonly=True):
            assert await db.members.count() == 0  # reading is fine
            await db.members.insert(Member(handle="x"))
    assert info.value.sqlstate == "25006"  # read_only_sql_transaction
    async with db.transaction():
        with pytest.raises(TransactionError, match="outermost"):
            async with db.transaction(readonly=True):
                pass
    level = await session.fetchval(db.query_scope, "SHOW transaction_isolation", [])
    assert level == "read committed"


async def test_gathered_queries_join_the_transaction_one_at_a_time(db: Club) -> None:
    async with db.transaction():
        pid = await backend(db)
        xid = await session.fetchval(db.query_scope, "SELECT txid_current()", [])

        async def work(i: int) -> tuple[int, int]:
            await db.members.insert(Member(handle=f"g{i}"))
            row = await session.fetchrow(
                db.query_scope, "SELECT pg_backend_pid() AS pid, txid_current() AS xid", [])
            assert row is not None
            return row["pid"], row["xid"]

        results = await asyncio.gather(*(work(i) for i in range(20)))
        assert set(results) == {(pid, xid)}
        assert await db.members.count() == 20
        assert await handles(db) == []
    assert len(await handles(db)) == 20


async def test_gathered_queries_are_rolled_back_with_the_transaction(db: Club) -> None:
    async def insert(i: int) -> None:
        await db.members.insert(Member(handle=f"g{i}"))

    with pytest.raises(ValueError, match="boom"):
        async with db.transaction():
            await asyncio.gather(*(insert(i) for i in range(10)))
            raise ValueError("boom")
    assert await handles(db) == []


async def test_child_tasks_cannot_open_savepoints(db: Club) -> None:
    async def nested() -> None:
        async with db.transaction():
            pass

    async with db.transaction():
        with pytest.raises(TransactionError, match="task"):
            await asyncio.gather(nested())
        await db.members.insert(Member(handle="still usable"))
    assert await handles(db) == ["still usable"]


async def test_a_task_outliving_its_transaction_gets_an_error(db: Club) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def late() -> int:
        started.set()
        await release.wait()
        return await db.members.count()

    async with db.transaction():
        task = asyncio.ensure_future(late())
        await started.wait()
    release.set()
    with pytest.raises(TransactionError, match="ended"):
        await task


async def test_tasks_started_outside_do_not_see_the_transaction(db: Club) -> None:
    inside = asyncio.Event()
    checked = asyncio.Event()
    seen: list[int] = []

    async def outsider() -> None:
        await inside.wait()
        seen.append(await db.members.count())  # its own connection: the insert is invisible
        checked.set()

    task = asyncio.ensure_future(outsider())
    async with db.transaction():
        await db.members.insert(Member(handle="a"))
        inside.set()
        await checked.wait()
    await task
    assert seen == [0]


async def test_two_contexts_never_share_a_transaction(db: Club, small: Club) -> None:
    async with db.transaction():
        await db.members.insert(Member(handle="a"))
        assert await small.members.count() == 0
    assert await small.members.count() == 1


async def test_a_transaction_object_is_single_use(db: Club) -> None:
    tx = db.transaction()
    async with tx:
        pass
    with pytest.raises(TransactionError, match="once"):
        async with tx:
            pass


async def test_connections_are_given_back(small: Club) -> None:
    for i in range(5):
        async with small.transaction():
            await small.members.insert(Member(handle=f"c{i}"))
        with pytest.raises(KeyError):
            async with small.transaction():
                raise KeyError
    async with asyncio.timeout(10):
        assert await small.members.count() == 5


async def test_stream_inside_a_transaction_sees_its_rows_and_allows_queries(
    db: Club,
) -> None:
    async with db.transaction():
        await db.members.insert_many([Member(handle=f"s{i:04}") for i in range(2500)])
        seen = 0
        query = db.members.order_by(lambda u: u.handle)
        async for member in query.stream(prefetch=300):
            seen += 1
            if seen % 500 == 0:  # other statements of the transaction between batches
                await db.members.where(lambda u, i=member.id: u.id == i).update({"score": 1})
        assert seen == 2500
        assert await db.members.where(lambda u: u.score == 1).count() == 5
    assert len(await handles(db)) == 2500


async def test_stream_outside_a_transaction_releases_its_connection(small: Club) -> None:
    await small.members.insert_many([Member(handle=f"s{i:04}") for i in range(1000)])
    handles_seen = [m.handle async for m in small.members.order_by(lambda u: u.handle).stream(
        prefetch=64)]
    assert handles_seen == [f"s{i:04}" for i in range(1000)]
    async with asyncio.timeout(10):
        async for _ in small.members.stream(prefetch=10):
            break  # leaving early
        assert await small.members.count() == 1000


async def test_cancelled_stream_releases_its_connection(small: Club) -> None:
    await small.members.insert_many([Member(handle=f"s{i}") for i in range(500)])
    iterating = asyncio.Event()

    async def consume() -> None:
        async for _ in small.members.stream(prefetch=10):
            iterating.set()
            await asyncio.sleep(3600)

    task = asyncio.ensure_future(consume())
    await iterating.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(10):
        assert await small.members.count() == 500


async def test_error_inside_stream_rolls_back_and_releases(small: Club) -> None:
    with pytest.raises(DatabaseError):
        async for _ in session.cursor(
                small.query_scope, "SELECT 1 / (g - 5) FROM generate_series(1, 9) g", [],
                prefetch=2):
            pass
    async with asyncio.timeout(10):
        assert await small.members.count() == 0


async def test_a_statement_cancelled_inside_a_transaction_rolls_it_back(small: Club) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3), small.transaction():
            await small.members.insert(Member(handle="x"))
            await session.execute(small.query_scope, "SELECT pg_sleep(10)", [])
    async with asyncio.timeout(5):  # the only connection is back, and the insert is gone
        assert await small.members.count() == 0
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await session.execute(small.query_scope, "SELECT pg_sleep(10)", [])
    async with asyncio.timeout(5):
        assert await small.members.count() == 0
