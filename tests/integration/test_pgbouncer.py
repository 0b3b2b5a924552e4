"""Through a real PgBouncer in transaction pooling mode (tests/integration/pgbouncer.py): the
ORM, stream(), transactions, migrate() and the journal runner with ``pgbouncer=True``; the
default client's failure names PgBouncer and the option."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkgress import (
    DatabaseError,
    DbContext,
    DbModelConfig,
    Entity,
    MigrationError,
    PgClient,
    column,
    varchar,
)
from linkgress.dsn import parse_dsn
from tests.integration.mutation_models import Club, Member, club_on
from tests.integration.pgbouncer import PgBouncer, running_pgbouncer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bouncer(linkgress_server_dsn: str) -> Iterator[PgBouncer]:
    """PgBouncer with 4 server connections per database: fewer than the clients' pools."""
    with running_pgbouncer(linkgress_server_dsn, pool_size=4) as started:
        yield started


@pytest.fixture(scope="module")
def single(linkgress_server_dsn: str) -> Iterator[PgBouncer]:
    """PgBouncer with one server connection per database: what one client leaves behind on
    it, the next statement through it sees."""
    with running_pgbouncer(linkgress_server_dsn, pool_size=1) as started:
        yield started


def _database(dsn: str) -> str:
    name = parse_dsn(dsn).database
    assert name is not None
    return name


async def _lookups(db: Club, count: int = 200, tasks: int = 20) -> list[BaseException]:
    """``count`` ORM lookups from ``tasks`` concurrent tasks; the exceptions they raised."""
    failures: list[BaseException] = []

    async def worker() -> None:
        for _ in range(count // tasks):
            try:
                found = await db.members.where(lambda m: m.handle == "ann").first()
                assert found.handle == "ann"
            except Exception as exc:
                failures.append(exc)

    await asyncio.gather(*(worker() for _ in range(tasks)))
    return failures


async def test_two_hundred_orm_lookups_through_pgbouncer_all_succeed(
        bouncer: PgBouncer, linkgress_database: str) -> None:
    async with club_on(linkgress_database) as direct:
        await direct.members.insert(Member(handle="ann"))
    async with Club(PgClient(dsn=bouncer.dsn(_database(linkgress_database)))) as db:
        assert db.client.pgbouncer
        assert await _lookups(db) == []
        # Writes, transactions, savepoints and stream() too.
        async with db.transaction():
            await db.members.insert(Member(handle="bo"))
            async with db.transaction():
                await db.members.insert(Member(handle="cy"))
            handles = [m.handle async for m in db.members.order_by(lambda m: m.handle).stream(
                prefetch=1)]
        assert handles == ["ann", "bo", "cy"]
        assert [m.handle async for m in db.members.where(lambda m: m.handle != "bo")
                .order_by(lambda m: m.handle).stream(prefetch=1)] == ["ann", "cy"]
        # Per-transaction settings are transaction-local: safe behind transaction pooling.
        for tenant in ("1", "2"):
            async with db.transaction(settings={"app.tenant_id": tenant}) as tx:
                assert await tx.client.fetchval(
                    "SELECT current_setting('app.tenant_id')") == tenant


async def test_the_default_clients_failure_names_pgbouncer_and_the_option(
        bouncer: PgBouncer, linkgress_database: str) -> None:
    async with club_on(linkgress_database) as direct:
        await direct.members.insert(Member(handle="ann"))
    dsn = bouncer.dsn(_database(linkgress_database), pgbouncer=False)
    async with Club(PgClient(dsn=dsn)) as db:
        assert not db.client.pgbouncer
        failures = await _lookups(db)
    assert failures, "200 lookups through PgBouncer with named prepared statements all worked"
    for failure in failures:
        assert isinstance(failure, DatabaseError), repr(failure)
        assert "PgBouncer" in str(failure) and "pgbouncer=True" in str(failure)
        assert "?pgbouncer=true" in str(failure) and "LINKGRESS_PGBOUNCER=1" in str(failure)


async def test_stream_leaves_no_prepared_statement_on_the_server(
        single: PgBouncer, linkgress_database: str) -> None:
    async with club_on(linkgress_database) as direct:
        await direct.members.insert(Member(handle="ann"))
    async with Club(PgClient(dsn=single.dsn(_database(linkgress_database)))) as db:
        assert [m.handle async for m in db.members.stream()] == ["ann"]
        async with db.transaction():
            assert [m.handle async for m in db.members.stream()] == ["ann"]
        # One server connection behind PgBouncer: this runs where the cursors ran. A named
        # statement left there would collide with another process's of the same name.
        assert await db.client.fetchval("SELECT count(*) FROM pg_prepared_statements") == 0


MIGRATOR = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, {root!r})
    from linkgress import PgClient
    from tests.integration.mutation_models import Club

    async def main():
        async with Club(PgClient(dsn={dsn!r})) as db:
            applied = await db.get_schema_manager().migrate()
        print(len(applied), flush=True)

    asyncio.run(main())
""")


async def test_four_concurrent_migrators_through_pgbouncer_one_applies(
        bouncer: PgBouncer, linkgress_database: str, tmp_path: Path) -> None:
    script = tmp_path / "migrator.py"
    script.write_text(MIGRATOR.format(root=str(ROOT),
                                      dsn=bouncer.dsn(_database(linkgress_database))))

    async def migrator() -> tuple[int | None, bytes, bytes]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(script), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 120)
        return process.returncode, out, err

    results = await asyncio.gather(*(migrator() for _ in range(4)))
    for code, _, err in results:
        assert code == 0, err.decode()
    counts = sorted(int(out) for _, out, _ in results)
    assert counts[:3] == [0, 0, 0] and counts[3] > 0, counts
    async with club_on(linkgress_database) as direct:
        assert await direct.get_schema_manager().analyze() == []


class Memo(Entity):
    id: int
    title: str = column(varchar(100))


class Memos(DbContext):
    memos = DbContext.table(Memo)


class IndexedMemo(Entity):
    id: int
    title: str = column(varchar(100))


class IndexedMemos(DbContext):
    memos = DbContext.table(IndexedMemo)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(IndexedMemo).has_index("ix_memos_title", "title", concurrently=True)


async def test_concurrent_index_builds_are_refused_through_pgbouncer_with_a_clear_error(
        bouncer: PgBouncer, linkgress_database: str) -> None:
    async with Memos(PgClient(dsn=linkgress_database)) as direct:
        await direct.get_schema_manager().migrate()
    dsn = bouncer.dsn(_database(linkgress_database))
    async with IndexedMemos(PgClient(dsn=dsn)) as db:
        with pytest.raises(MigrationError, match="PgBouncer") as caught:
            await db.get_schema_manager().migrate()
    assert "ix_memos_title" in str(caught.value) and "direct connection" in str(caught.value)
    # The rest of the migration committed; a direct migrate() builds the index.
    async with IndexedMemos(PgClient(dsn=linkgress_database)) as direct:
        assert [op.type for op in await direct.get_schema_manager().migrate()] == [
            "create_index"]


async def test_journaled_migrations_up_and_down_through_pgbouncer(
        bouncer: PgBouncer, linkgress_database: str, tmp_path: Path) -> None:
    from linkgress import MigrationRunner
    from tests.integration.test_journal import AppA, journal, migration, tables, write

    write(tmp_path, {
        f"00{i}_t{i}": migration(f"T{i}", f'await schema.execute("CREATE TABLE t{i} (id int)")',
                                 f'await schema.execute("DROP TABLE t{i}")')
        for i in (1, 2)})
    async with AppA(PgClient(dsn=bouncer.dsn(_database(linkgress_database)))) as db:
        runners = [MigrationRunner(db, migrations_directory=tmp_path) for _ in range(3)]
        results = await asyncio.gather(*(runner.up() for runner in runners))
        assert sorted(n for r in results for n in r.applied) == ["001_t1", "002_t2"]
        assert all(r.error is None for r in results)
        assert {"t1", "t2"} <= await tables(linkgress_database)
        await runners[0].down(1)
    assert [name for name, _ in await journal(linkgress_database)] == ["001_t1"]
    assert "t2" not in await tables(linkgress_database)
