"""Row locks against real PostgreSQL: ``for_update(skip_locked=True)`` queue workers on
separate connections never take the same row, ``nowait=True`` fails with
``LockNotAvailable``, ``for_share`` lets readers share, and a lock outside a transaction is
refused before anything runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from linkgress import (
    DatabaseError,
    DbContext,
    Entity,
    LockNotAvailable,
    PgClient,
    QueryBuildError,
    column,
    text,
)

JOBS = 120


class Job(Entity):
    id: int
    payload: str = column(text())
    done: bool = column(default=False)
    worker: str | None = column(text())


class Queue(DbContext):
    jobs = DbContext.table(Job)


@pytest_asyncio.fixture(scope="module")
async def queues(routed_module_database: str) -> AsyncIterator[tuple[Queue, Queue]]:
    """Two contexts on the same database, each with its own client (its own connections)."""
    first = Queue(PgClient(dsn=routed_module_database))
    second = Queue(PgClient(dsn=routed_module_database))
    await first.get_schema_manager().ensure_created()
    try:
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


@pytest_asyncio.fixture
async def pair(queues: tuple[Queue, Queue]) -> tuple[Queue, Queue]:
    db = queues[0]
    await db.client.execute("TRUNCATE jobs RESTART IDENTITY")
    await db.jobs.insert_many([Job(payload=f"job {n}") for n in range(1, JOBS + 1)])
    return queues


def claim(db: Queue, size: int = 10) -> Any:
    """The queue-claim query of the docs."""
    return (db.jobs.where(lambda j: j.done == False)  # noqa: E712
            .order_by(lambda j: j.id).for_update(skip_locked=True).limit(size))


async def work(db: Queue, name: str, taken: list[list[int]]) -> None:
    """Claim batches of 10 and mark them done until none is left; each batch is held a
    moment so that the other worker runs into the locked rows."""
    while True:
        async with db.transaction():
            batch = await claim(db).to_list()
            if not batch:
                return
            ids = [job.id for job in batch]
            await asyncio.sleep(0.005)
            await mark_done(db, ids, name)
        taken.append(ids)


async def mark_done(db: Queue, ids: list[int], name: str) -> None:
    await db.jobs.where(lambda j: j.id.in_(ids)).update({"done": True, "worker": name})


async def test_two_workers_never_take_the_same_row(pair: tuple[Queue, Queue]) -> None:
    first, second = pair
    by_first: list[list[int]] = []
    by_second: list[list[int]] = []
    await asyncio.wait_for(asyncio.gather(work(first, "first", by_first),
                                          work(second, "second", by_second)), 60)
    ids_first = [i for batch in by_first for i in batch]
    ids_second = [i for batch in by_second for i in batch]
    assert len(by_first) + len(by_second) >= JOBS // 10  # many rounds
    assert by_first and by_second  # both workers claimed batches
    assert set(ids_first).isdisjoint(ids_second)
    assert sorted(ids_first + ids_second) == list(range(1, JOBS + 1))  # each row once
    owner = dict(await first.jobs.select(lambda j: (j.id, j.worker)).to_list())
    assert all(owner[i] == "first" for i in ids_first)
    assert all(owner[i] == "second" for i in ids_second)


async def test_a_second_worker_skips_the_rows_the_first_holds(pair: tuple[Queue, Queue]
                                                              ) -> None:
    first, second = pair
    async with first.transaction():
        held = [j.id for j in await claim(first).to_list()]
        async with second.transaction():
            skipped = [j.id for j in await claim(second).to_list()]
    assert held == list(range(1, 11))
    assert skipped == list(range(11, 21))


async def test_nowait_raises_lock_not_available(pair: tuple[Queue, Queue]) -> None:
    first, second = pair
    async with first.transaction():
        await first.jobs.where(lambda j: j.id == 1).for_update().first()
        with pytest.raises(LockNotAvailable) as caught:
            async with second.transaction():
                await second.jobs.where(lambda j: j.id == 1).for_update(nowait=True).first()
        assert isinstance(caught.value, DatabaseError)
        assert caught.value.sqlstate == "55P03"
        assert "FOR UPDATE NOWAIT" in (caught.value.sql or "")
        # Another row is free: NOWAIT takes it at once.
        async with second.transaction():
            other = await second.jobs.where(lambda j: j.id == 2).for_update(nowait=True).first()
    assert other.id == 2


async def test_shared_locks_coexist_and_block_an_update_lock(pair: tuple[Queue, Queue]
                                                              ) -> None:
    first, second = pair
    async with first.transaction():
        mine = await first.jobs.where(lambda j: j.id <= 3).for_share().to_list()
        async with second.transaction():
            theirs = await second.jobs.where(lambda j: j.id <= 3).for_share(nowait=True) \
                .to_list()
        with pytest.raises(LockNotAvailable):
            async with second.transaction():
                await second.jobs.where(lambda j: j.id == 3).for_update(nowait=True).to_list()
    assert [j.id for j in mine] == [j.id for j in theirs] == [1, 2, 3]


async def test_a_locked_row_can_still_be_read(pair: tuple[Queue, Queue]) -> None:
    first, second = pair
    async with first.transaction():
        rows = await first.jobs.where(lambda j: j.id == 5).for_update(of=first.jobs).to_list()
        free = await second.jobs.where(lambda j: j.id == 5).first()  # a plain read never waits
    assert [j.id for j in rows] == [5] and free.id == 5


async def test_a_stream_locks_inside_a_transaction(pair: tuple[Queue, Queue]) -> None:
    first, second = pair
    async with first.transaction():
        seen = [job.id async for job in claim(first, 4).stream(prefetch=2)]
        async with second.transaction():  # the streamed rows stay locked
            skipped = [j.id for j in await claim(second, 2).to_list()]
    assert seen == [1, 2, 3, 4] and skipped == [5, 6]


async def test_for_update_outside_a_transaction_is_refused(pair: tuple[Queue, Queue]) -> None:
    first, _ = pair
    query = claim(first)
    with pytest.raises(QueryBuildError, match="needs a transaction"):
        await query.to_list()
    async with first.transaction():  # the same query, run inside a block, works
        assert len(await query.to_list()) == 10


async def test_claim_and_mark_in_one_statement_needs_no_transaction(
        pair: tuple[Queue, Queue]) -> None:
    first, second = pair
    async with first.transaction():
        await claim(first, 5).to_list()  # holds jobs 1-5
        rows = await claim(second, 3).update({"done": True, "worker": "second"}) \
            .returning(lambda j: j.id)
    assert sorted(rows) == [6, 7, 8]
