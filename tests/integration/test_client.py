"""PgClient and ConnectionClient against a real PostgreSQL (from the linkgress pytest plugin)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import asyncpg
import pytest

import linkgress.client
from linkgress.client import (
    ConnectionClient,
    PgClient,
    create_database,
    drop_database,
    dsn_with_database,
)
from linkgress.errors import ClientClosedError, DatabaseError, LinkgressError
from linkgress.testing import run_async


async def _count_connections(admin_dsn: str, application_name: str) -> int:
    connection = await asyncpg.connect(admin_dsn)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            application_name,
        )
        return count
    finally:
        await connection.close()


async def test_statements(linkgress_client: PgClient) -> None:
    client = linkgress_client
    assert await client.execute("CREATE TABLE t (id int PRIMARY KEY, name text)") == "CREATE TABLE"
    assert await client.execute("INSERT INTO t VALUES ($1, $2)", 1, "one") == "INSERT 0 1"
    await client.executemany("INSERT INTO t VALUES ($1, $2)", [(2, "two"), (3, "three")])
    rows = await client.fetch("SELECT id, name FROM t ORDER BY id")
    assert [tuple(row) for row in rows] == [(1, "one"), (2, "two"), (3, "three")]
    row = await client.fetchrow("SELECT * FROM t WHERE id = $1", 2)
    assert row is not None and row["name"] == "two"
    assert await client.fetchrow("SELECT * FROM t WHERE id = $1", 99) is None
    assert await client.fetchval("SELECT id, name FROM t WHERE id = $1", 3, column=1) == "three"
    assert await client.fetchval("SELECT 1 WHERE false") is None
    status = await client.copy_records_to_table(
        "t", records=[(4, "four"), (5, None)], columns=["id", "name"], schema_name="public"
    )
    assert status == "COPY 2"
    assert await client.fetchval("SELECT count(*) FROM t") == 5


async def test_pool_is_created_lazily(linkgress_server_dsn: str, linkgress_database: str) -> None:
    application_name = f"lg_lazy_{secrets.token_hex(4)}"
    client = PgClient(
        dsn=linkgress_database, min_size=2, server_settings={"application_name": application_name}
    )
    try:
        assert await _count_connections(linkgress_server_dsn, application_name) == 0
        assert await client.fetchval("SELECT 41 + 1") == 42
        assert await _count_connections(linkgress_server_dsn, application_name) == 2
    finally:
        await client.close()
    assert await _count_connections(linkgress_server_dsn, application_name) == 0


async def test_concurrent_first_use_creates_one_pool(
    linkgress_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create_pool = asyncpg.create_pool
    calls = 0

    async def counting_create_pool(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)  # widen the window in which a second pool could be made
        return await real_create_pool(*args, **kwargs)

    monkeypatch.setattr(linkgress.client.asyncpg, "create_pool", counting_create_pool)
    async with PgClient(dsn=linkgress_database, max_size=3) as client:
        results = await asyncio.gather(*(client.fetchval("SELECT $1::int", i) for i in range(20)))
    assert results == list(range(20))
    assert calls == 1


async def test_closed_client_raises_clear_error(linkgress_database: str) -> None:
    client = PgClient(dsn=linkgress_database)
    assert await client.fetchval("SELECT 1") == 1
    await client.close()
    await client.close()  # twice is fine
    assert client.closed
    for use in (
        client.execute("SELECT 1"),
        client.fetch("SELECT 1"),
        client.fetchrow("SELECT 1"),
        client.fetchval("SELECT 1"),
        client.executemany("SELECT $1", [(1,)]),
        client.copy_records_to_table("t", records=[]),
    ):
        with pytest.raises(ClientClosedError, match="closed"):
            await use
    with pytest.raises(ClientClosedError):
        async with client.acquire():
            pass
    with pytest.raises(ClientClosedError):
        async with client.transaction():
            pass
    assert "closed" in repr(client)


async def test_close_waits_for_borrowed_connections(linkgress_database: str) -> None:
    client = PgClient(dsn=linkgress_database, max_size=1)
    async with client.acquire() as connection:
        closing = asyncio.create_task(client.close())
        await asyncio.sleep(0.1)
        assert not closing.done()  # waits for the borrowed connection ...
        assert await connection.fetchval("SELECT 1") == 1  # ... which still works
        with pytest.raises(ClientClosedError):
            await client.fetchval("SELECT 1")
        await client.close()  # a concurrent second close() returns at once
    await asyncio.wait_for(closing, 5)  # released on exit: close() completes


async def test_release_after_close_is_harmless(linkgress_database: str) -> None:
    client = PgClient(dsn=linkgress_database, max_size=1)
    connection = await client.acquire()
    closing = asyncio.create_task(client.close())
    await asyncio.sleep(0.05)
    closing.cancel()  # an impatient caller: asyncpg terminates the pool instead
    with pytest.raises(asyncio.CancelledError):
        await closing
    await client.release(connection)


async def test_never_used_client_can_be_closed(linkgress_database: str) -> None:
    client = PgClient(dsn=linkgress_database)
    await client.close()
    with pytest.raises(ClientClosedError):
        await client.fetchval("SELECT 1")


async def test_async_with_closes(linkgress_database: str) -> None:
    async with PgClient(dsn=linkgress_database) as client:
        assert await client.fetchval("SELECT current_database()") == client.database
    assert client.closed
    with pytest.raises(ClientClosedError):
        await client.execute("SELECT 1")


async def test_transaction_commits_and_rolls_back(linkgress_client: PgClient) -> None:
    client = linkgress_client
    await client.execute("CREATE TABLE t (id int)")
    async with client.transaction() as tx:
        assert isinstance(tx, ConnectionClient)
        await tx.execute("INSERT INTO t VALUES (1)")
        assert tx.connection.is_in_transaction()
    with pytest.raises(RuntimeError, match="boom"):
        async with client.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (2)")
            assert await tx.fetchval("SELECT count(*) FROM t") == 2
            raise RuntimeError("boom")
    assert await client.fetchval("SELECT array_agg(id) FROM t") == [1]


async def test_transaction_isolation_and_readonly(linkgress_client: PgClient) -> None:
    async with linkgress_client.transaction(isolation="serializable") as tx:
        assert await tx.fetchval("SHOW transaction_isolation") == "serializable"
    async with linkgress_client.transaction(readonly=True) as tx:
        with pytest.raises(DatabaseError, match="read-only transaction") as info:
            await tx.execute("CREATE TABLE nope (id int)")
        assert info.value.sqlstate == "25006"
        assert isinstance(info.value.__cause__, asyncpg.ReadOnlySQLTransactionError)


async def test_acquire_with_and_await(linkgress_database: str) -> None:
    async with PgClient(dsn=linkgress_database, min_size=1, max_size=1) as client:
        async with client.acquire() as connection:
            assert await connection.fetchval("SELECT 1") == 1
        connection = await client.acquire()
        try:
            assert await connection.fetchval("SELECT 2") == 2
        finally:
            await client.release(connection)
        # The single connection went back: acquiring again does not time out.
        async with client.acquire(timeout=5) as connection:
            assert await connection.fetchval("SELECT 3") == 3


async def test_cancelled_holder_returns_its_connection(linkgress_database: str) -> None:
    async with PgClient(dsn=linkgress_database, min_size=1, max_size=1) as client:
        entered = asyncio.Event()

        async def hold() -> None:
            async with client.acquire() as connection:
                entered.set()
                await connection.execute("SELECT pg_sleep(30)")

        task = asyncio.create_task(hold())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with client.acquire(timeout=5) as connection:
            assert await connection.fetchval("SELECT 1") == 1


async def test_query_logging(linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="linkgress.sql")
    async with PgClient(dsn=linkgress_database, log_queries=True) as client:
        await client.fetchval("SELECT $1::text || $2::text", "secret-a", "secret-b")
        await client.executemany("SELECT $1::int", [(1,), (2,), (3,)])
        async with client.transaction() as tx:
            await tx.execute("SELECT 1")
    messages = [r.getMessage() for r in caplog.records if r.name == "linkgress.sql"]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "linkgress.sql")
    assert "SELECT $1::text || $2::text [2 args]" in messages
    assert "SELECT $1::int [executemany: 3 rows]" in messages
    assert "SELECT 1 [0 args]" in messages
    assert not any("secret" in message for message in messages)


async def test_no_logging_by_default(
    linkgress_client: PgClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="linkgress.sql")
    assert linkgress_client.log_queries is False
    await linkgress_client.fetchval("SELECT 1")
    assert not [r for r in caplog.records if r.name == "linkgress.sql"]
    linkgress_client.log_queries = True  # switched on later, e.g. by a DbContext
    await linkgress_client.fetchval("SELECT 2")
    assert [r.getMessage() for r in caplog.records] == ["SELECT 2 [0 args]"]


async def test_statement_cache_disabled(linkgress_database: str) -> None:
    async with PgClient(dsn=linkgress_database, statement_cache_size=0, max_size=2) as client:
        for i in range(5):
            assert await client.fetchval("SELECT $1::int * 2", i) == i * 2
        async with client.transaction() as tx:
            assert await tx.fetchval("SELECT $1::text", "x") == "x"


async def test_connection_client_on_a_raw_connection(
    linkgress_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="linkgress.sql")
    connection = await asyncpg.connect(linkgress_database)
    try:
        client = ConnectionClient(connection, log_queries=True)
        assert client.connection is connection
        await client.execute("CREATE TABLE t (id int)")
        await client.executemany("INSERT INTO t VALUES ($1)", [(1,), (2,)])
        await client.copy_records_to_table("t", records=[(3,)])
        assert await client.fetchval("SELECT sum(id) FROM t") == 6
        assert len(await client.fetch("SELECT * FROM t")) == 3
        assert await client.fetchrow("SELECT * FROM t WHERE id = 9") is None
    finally:
        await connection.close()
    assert 'COPY "t" [records]' in [r.getMessage() for r in caplog.records]


async def test_with_database_connects_elsewhere(
    linkgress_database: str, linkgress_module_database: str
) -> None:
    async with PgClient(dsn=linkgress_database) as client:
        other_name = PgClient(dsn=linkgress_module_database).database
        async with client.with_database(other_name) as other:
            assert await other.fetchval("SELECT current_database()") == other_name
        assert await client.fetchval("SELECT current_database()") == client.database


async def test_create_and_drop_database_with_odd_name(linkgress_server_dsn: str) -> None:
    name = f'lg_test_{secrets.token_hex(4)} Mixed "Quoted" Name'
    exists = "SELECT count(*) FROM pg_database WHERE datname = $1"
    admin = PgClient(dsn=linkgress_server_dsn)
    try:
        await create_database(linkgress_server_dsn, name)
        try:
            assert await admin.fetchval(exists, name) == 1
            # a session left open does not block the drop
            connection = await asyncpg.connect(dsn_with_database(linkgress_server_dsn, name))
            assert await connection.fetchval("SELECT current_database()") == name
        finally:
            await drop_database(linkgress_server_dsn, name)
        assert await admin.fetchval(exists, name) == 0
        assert not await _alive(connection)  # WITH (FORCE) ended the open session
        await drop_database(linkgress_server_dsn, name)  # IF EXISTS: dropping again is fine
    finally:
        await admin.close()


async def _alive(connection: asyncpg.Connection) -> bool:
    try:
        await connection.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError):
        return False
    finally:
        connection.terminate()
    return True


async def test_client_is_bound_to_its_loop(linkgress_database: str) -> None:
    client = PgClient(dsn=linkgress_database)

    async def use() -> Any:
        return await client.fetchval("SELECT 1")

    try:
        assert await use() == 1
        with pytest.raises(LinkgressError, match="event loop"):
            run_async(use)
    finally:
        await client.close()


def test_fixtures_serve_sync_tests(linkgress_database: str, linkgress_server_dsn: str) -> None:
    async def check() -> str:
        async with PgClient(dsn=linkgress_database) as client:
            name: str = await client.fetchval("SELECT current_database()")
            return name

    name = run_async(check)
    assert name.startswith("lg_test_")
    assert dsn_with_database(linkgress_server_dsn, name) == linkgress_database


def test_module_database_is_shared_within_a_module(linkgress_module_database: str) -> None:
    assert PgClient(dsn=linkgress_module_database).database.startswith("lg_test_")
