"""Journaled migrations against real PostgreSQL: runner, journal, status, dry run, baseline,
concurrency, managed state, and the scaffold round trip."""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from linkgress import (
    DatabaseClient,
    DbContext,
    Entity,
    MigrationError,
    MigrationRunner,
    MigrationScaffold,
    PgClient,
    column,
    text,
    varchar,
)
from linkgress.errors import DatabaseError, MigrationFileError
from linkgress.migrations import NoChangesError
from linkgress.schema.introspect import introspect

# -- models -------------------------------------------------------------------------------------


class User(Entity):
    id: int
    username: str = column(varchar(100))
    email: str = column(text(), unique=True)
    legacy: str | None = column(varchar(10))


class AppA(DbContext):
    users = DbContext.table(User)


class PostStatus(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


class UserB(Entity):
    id: int
    username: str = column(varchar(100))
    email: str = column(text(), unique=True)
    phone_number: str | None = column(varchar(20))


class Post(Entity):
    id: int
    title: str = column(varchar(200))
    user_id: int = column(references=UserB, on_delete="cascade", index=True)
    status: PostStatus = column(default=PostStatus.DRAFT)


class AppB(DbContext):
    """A -> B: drop users.legacy, add users.phone_number, new enum, new table posts + FK + index."""

    users = DbContext.table(UserB)
    posts = DbContext.table(Post)


class Hooked(DbContext):
    users = DbContext.table(User)

    async def on_migration_start(self, client: DatabaseClient) -> None:
        await client.execute("CREATE TABLE IF NOT EXISTS started (at timestamptz)")


# -- helpers ------------------------------------------------------------------------------------


def migration(name: str, up: str, down: str = "pass") -> str:
    """A migration file's source; ``up``/``down`` lines continue at method-body indentation."""
    return (
        "from linkgress import Migration, SchemaBuilder\n\n\n"
        f"class {name}(Migration):\n"
        "    async def up(self, schema: SchemaBuilder) -> None:\n"
        f"        {up}\n\n"
        "    async def down(self, schema: SchemaBuilder) -> None:\n"
        f"        {down}\n")


CREATE_A = migration("CreateA", 'await schema.create_table("a", lambda t: '
                     '[t.integer("id").identity().primary_key(), t.text("x")])',
                     'await schema.drop_table("a")')
CREATE_B = migration("CreateB", 'await schema.execute("CREATE TABLE b (id int)")',
                     'await schema.execute("DROP TABLE b")')
CREATE_C = migration("CreateC", 'await schema.add_column("a", "y", varchar(5))',
                     'await schema.drop_column("a", "y")').replace(
    "SchemaBuilder\n", "SchemaBuilder, varchar\n")
FAILING = migration("Failing", 'await schema.execute("CREATE TABLE half (id int)")\n'
                    '        await schema.execute("SELECT * FROM no_such_table")')


def write(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(exist_ok=True)
    for name, source in files.items():
        (directory / f"{name}.py").write_text(source)


async def tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {r[0] for r in await conn.fetch(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE relkind = 'r' AND nspname NOT IN ('pg_catalog', 'information_schema')")}
    finally:
        await conn.close()


async def journal(dsn: str, table: str = "public.__linkgress_migrations") -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(
            f"SELECT name, batch FROM {table} ORDER BY id")]
    finally:
        await conn.close()


async def managed_tables(dsn: str) -> dict[str, list[str]]:
    """Recorded managed state: table name -> its column names."""
    conn = await asyncpg.connect(dsn)
    try:
        raw = await conn.fetchval("SELECT snapshot::text FROM __linkgress_schema_state")
    finally:
        await conn.close()
    return {t["name"]: [c["name"] for c in t["columns"]] for t in json.loads(raw)["tables"]}


@pytest.fixture
async def app_a(linkgress_database: str) -> AsyncIterator[DbContext]:
    db = AppA(PgClient(dsn=linkgress_database))
    yield db
    await db.dispose()


# -- up / down / status -------------------------------------------------------------------------


async def test_up_applies_pending_files_as_one_batch(app_a: DbContext, tmp_path: Path,
                                                     linkgress_database: str) -> None:
    write(tmp_path, {"001_a": CREATE_A, "002_b": CREATE_B})
    runner = MigrationRunner(app_a, migrations_directory=tmp_path)
    first = await runner.up()
    assert (first.applied, first.skipped, first.failed, first.error) == (
        ["001_a", "002_b"], [], [], None)
    assert {"a", "b", "__linkgress_migrations"} <= await tables(linkgress_database)
    write(tmp_path, {"003_c": CREATE_C})
    second = await runner.up()
    assert (second.applied, second.skipped) == (["003_c"], ["001_a", "002_b"])
    assert await journal(linkgress_database) == [("001_a", 1), ("002_b", 1), ("003_c", 2)]
    assert (await runner.up()).applied == []


async def test_failure_rolls_back_that_file_and_stops(app_a: DbContext, tmp_path: Path,
                                                      linkgress_database: str) -> None:
    write(tmp_path, {"001_a": CREATE_A, "002_fail": FAILING, "003_b": CREATE_B})
    result = await MigrationRunner(app_a, migrations_directory=tmp_path).up()
    assert (result.applied, result.failed, result.pending) == (["001_a"], ["002_fail"], ["003_b"])
    assert isinstance(result.error, MigrationError)
    assert "no_such_table" in str(result.error)
    assert "SELECT * FROM no_such_table" in str(result.error)
    assert isinstance(result.error.__cause__, DatabaseError)
    assert isinstance(result.error.__cause__.__cause__, asyncpg.UndefinedTableError)
    with pytest.raises(MigrationError):
        result.raise_for_error()
    assert "half" not in await tables(linkgress_database)  # rolled back with its journal row
    assert await journal(linkgress_database) == [("001_a", 1)]


async def test_down_reverts_newest_first_and_by_batch(app_a: DbContext, tmp_path: Path,
                                                      linkgress_database: str) -> None:
    write(tmp_path, {"001_a": CREATE_A, "002_b": CREATE_B})
    runner = MigrationRunner(app_a, migrations_directory=tmp_path)
    await runner.up()
    write(tmp_path, {"003_c": CREATE_C})
    await runner.up()
    one = await runner.down(1)
    assert one.reverted == ["003_c"]
    assert await journal(linkgress_database) == [("001_a", 1), ("002_b", 1)]
    await runner.up()  # 003_c again, as batch 2
    batch = await runner.down(batch=True)
    assert batch.reverted == ["003_c"]
    batch = await runner.down(batch=True)
    assert batch.reverted == ["002_b", "001_a"]
    assert not {"a", "b"} & await tables(linkgress_database)
    assert await journal(linkgress_database) == []
    assert (await runner.down(1)).reverted == []  # nothing left to revert
    with pytest.raises(ValueError, match="at least 1"):
        await runner.down(0)


async def test_status_reports_pending_applied_edited_and_missing(
        app_a: DbContext, tmp_path: Path) -> None:
    write(tmp_path, {"001_a": CREATE_A, "002_b": CREATE_B})
    runner = MigrationRunner(app_a, migrations_directory=tmp_path)
    await runner.up()
    write(tmp_path, {"003_c": CREATE_C})
    (tmp_path / "001_a.py").write_text(CREATE_A + "\n# edited after it was applied\n")
    (tmp_path / "002_b.py").unlink()
    by_name = {e.name: e for e in await runner.status()}
    assert list(by_name) == ["001_a", "002_b", "003_c"]
    a, b, c = by_name["001_a"], by_name["002_b"], by_name["003_c"]
    assert (a.applied, a.batch, a.checksum_mismatch, a.file_missing) == (True, 1, True, False)
    assert a.applied_at is not None
    assert (b.applied, b.checksum_mismatch, b.file_missing) == (True, False, True)
    assert (c.applied, c.applied_at, c.batch, c.file_missing) == (False, None, None, False)
    with pytest.raises(MigrationFileError, match="002_b: no such file"):
        await runner.down(2)


async def test_malformed_file_is_reported_before_anything_runs(
        app_a: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    write(tmp_path, {"001_a": CREATE_A, "002_bad": "x = 1\n"})
    with pytest.raises(MigrationFileError, match=r"002_bad\.py"):
        await MigrationRunner(app_a, migrations_directory=tmp_path).up()
    assert await tables(linkgress_database) == set()  # not even the journal


async def test_journal_name_and_schema_are_configurable(app_a: DbContext, tmp_path: Path,
                                                        linkgress_database: str) -> None:
    write(tmp_path, {"001_a": CREATE_A})
    runner = MigrationRunner(app_a, migrations_directory=tmp_path, journal_table="history",
                             journal_schema="meta")
    await runner.up()
    assert await journal(linkgress_database, "meta.history") == [("001_a", 1)]
    assert "__linkgress_migrations" not in await tables(linkgress_database)
    assert [e.applied for e in await runner.status()] == [True]


# -- dry run, baseline, hooks, state, concurrency -----------------------------------------------


async def test_dry_run_returns_the_sql_and_changes_nothing(
        app_a: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    write(tmp_path, {"001_a": CREATE_A, "002_c": CREATE_C})
    result = await MigrationRunner(app_a, migrations_directory=tmp_path).up(dry_run=True)
    assert result.dry_run and result.pending == ["001_a", "002_c"] and result.applied == []
    assert result.sql["001_a"][0].startswith('CREATE TABLE "public"."a" (')
    assert result.sql["002_c"] == [
        'ALTER TABLE "public"."a" ADD COLUMN "y" character varying(5)']
    assert await tables(linkgress_database) == set()
    write(tmp_path, {"003_fail": FAILING})
    failing = await MigrationRunner(app_a, migrations_directory=tmp_path).up(dry_run=True)
    assert (failing.failed, failing.pending) == (["003_fail"], ["001_a", "002_c", "003_fail"])
    assert isinstance(failing.error, MigrationError) and "no_such_table" in str(failing.error)
    assert await tables(linkgress_database) == set()


async def test_plain_up_on_an_empty_database_just_runs_the_files(
        app_a: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    write(tmp_path, {"001_a": CREATE_A})
    result = await MigrationRunner(app_a, migrations_directory=tmp_path).up()
    assert result.applied == ["001_a"] and result.baselined == []
    assert "users" not in await tables(linkgress_database)  # the model was not created


async def test_baseline_creates_the_model_and_records_files_without_running_them(
        app_a: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    write(tmp_path, {"001_fail": FAILING, "002_b": CREATE_B})
    runner = MigrationRunner(app_a, migrations_directory=tmp_path)
    result = await runner.up(baseline=True)
    assert (result.baselined, result.applied, result.batch) == (["001_fail", "002_b"], [], 1)
    assert result.baseline
    assert "users" in await tables(linkgress_database)
    assert not {"half", "b"} & await tables(linkgress_database)
    assert await journal(linkgress_database) == [("001_fail", 1), ("002_b", 1)]
    assert await app_a.get_schema_manager().analyze() == []
    # With a journal in place, baseline=True is a plain up(): new files run.
    write(tmp_path, {"003_c": migration("C", 'await schema.execute("CREATE TABLE c (i int)")')})
    again = await runner.up(baseline=True)
    assert (again.baselined, again.applied, again.baseline) == ([], ["003_c"], False)


async def test_on_migration_start_runs_before_up(tmp_path: Path, linkgress_database: str) -> None:
    write(tmp_path, {"001_uses_hook": migration(
        "UsesHook", 'await schema.execute("INSERT INTO started VALUES (now())")')})
    db = Hooked(PgClient(dsn=linkgress_database))
    try:
        result = await MigrationRunner(db, migrations_directory=tmp_path).up()
    finally:
        await db.dispose()
    assert result.applied == ["001_uses_hook"], result.error


async def test_managed_state_follows_up_and_down(app_a: DbContext, tmp_path: Path,
                                                 linkgress_database: str) -> None:
    create_users = migration("Users", 'await schema.create_table("users", lambda t: [\n'
                             '            t.integer("id").identity().primary_key(),\n'
                             '            t.varchar("username", 100).not_null(),\n'
                             '        ])', 'await schema.drop_table("users")')
    write(tmp_path, {"001_users": create_users})
    runner = MigrationRunner(app_a, migrations_directory=tmp_path)
    await runner.up()
    # Only the model's objects that exist: users with id and username (no email, legacy yet).
    assert await managed_tables(linkgress_database) == {"users": ["id", "username"]}
    await runner.down(1)
    assert await managed_tables(linkgress_database) == {}


async def test_concurrent_runners_apply_each_migration_once(
        tmp_path: Path, linkgress_database: str) -> None:
    slow = 'await schema.execute("SELECT pg_sleep(0.05)")\n        '
    write(tmp_path, {f"00{i}_m": migration(
        f"M{i}", slow + f'await schema.execute("CREATE TABLE t{i} (id int)")')
        for i in range(1, 6)})
    results = []

    async def run_one() -> None:
        db = AppA(PgClient(dsn=linkgress_database))
        try:
            results.append(await MigrationRunner(db, migrations_directory=tmp_path).up())
        finally:
            await db.dispose()

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(run_one)
    applied = [name for r in results for name in r.applied]
    assert sorted(applied) == [f"00{i}_m" for i in range(1, 6)]
    assert all(r.error is None for r in results)
    assert [name for name, _ in await journal(linkgress_database)] == sorted(applied)


# -- the scaffold round trip --------------------------------------------------------------------


async def schema_of(db: DbContext) -> Any:
    return await introspect(db.client, ["public"])


async def test_scaffold_round_trip(tmp_path: Path, linkgress_database: str) -> None:
    """A created -> model B -> scaffold -> up -> analyze(B) == [] -> down(1) -> catalog == A."""
    a, b = AppA(PgClient(dsn=linkgress_database)), AppB(PgClient(dsn=linkgress_database))
    try:
        await a.get_schema_manager().ensure_created()
        catalog_a = await schema_of(a)
        path = await MigrationScaffold(b, migrations_directory=tmp_path).scaffold("to b")
        source = path.read_text()
        assert "await schema.create_table(\"posts\", lambda t: [" in source
        assert "await schema.drop_column(\"users\", \"legacy\")" in source
        runner = MigrationRunner(b, migrations_directory=tmp_path)
        result = await runner.up()
        assert result.applied == [path.stem], result.error
        assert await b.get_schema_manager().analyze() == []
        with pytest.raises(NoChangesError):
            await MigrationScaffold(b, migrations_directory=tmp_path).scaffold("nothing")
        reverted = await runner.down(1)
        assert reverted.reverted == [path.stem], reverted.error
        assert await schema_of(a) == catalog_a
    finally:
        await a.dispose()
        await b.dispose()


class ItemKind(enum.Enum):
    SMALL = "small"
    LARGE = "large"


class Item(Entity):
    id: int
    name: str = column(varchar(100))
    price: int = column(default=0)
    note: str | None


class ShopA(DbContext):
    items = DbContext.table(Item)

    def setup_model(self, model: Any) -> None:
        model.entity(Item).to_table("items", schema="shop")


class ItemB(Entity):
    id: int
    name: str = column(varchar(200))         # widened
    price: int = column(default=5)           # new default
    note: str                                # now NOT NULL
    sku: str | None = column(unique=True)    # new column + unique constraint
    kind: ItemKind = column(default=ItemKind.SMALL)


class ShopB(DbContext):
    items = DbContext.table(ItemB)

    def setup_model(self, model: Any) -> None:
        model.entity(ItemB).to_table("items", schema="shop").has_index(
            "ix_items_name", "name", where="price > 0")


async def test_scaffold_round_trip_with_altered_columns_in_another_schema(
        tmp_path: Path, linkgress_database: str) -> None:
    a, b = ShopA(PgClient(dsn=linkgress_database)), ShopB(PgClient(dsn=linkgress_database))
    try:
        await a.get_schema_manager().ensure_created()
        before = await introspect(a.client, ["shop"])
        path = await MigrationScaffold(b, migrations_directory=tmp_path).scaffold("shop b")
        assert "await schema.alter_column(" in path.read_text()
        runner = MigrationRunner(b, migrations_directory=tmp_path)
        assert (await runner.up()).applied == [path.stem]
        assert await b.get_schema_manager().analyze() == []
        assert (await runner.down(1)).reverted == [path.stem]
        assert await introspect(a.client, ["shop"]) == before
        assert await a.get_schema_manager().analyze() == []
    finally:
        await a.dispose()
        await b.dispose()


class WithView(DbContext):
    users = DbContext.table(User)

    async def on_migration_complete(self, client: DatabaseClient) -> None:
        await client.execute("CREATE OR REPLACE VIEW b_ids AS SELECT id FROM b")


async def test_on_migration_complete_runs_with_the_last_migration(
        tmp_path: Path, linkgress_database: str) -> None:
    # The view needs table b, which only the second file creates.
    write(tmp_path, {"001_a": CREATE_A, "002_b": CREATE_B})
    db = WithView(PgClient(dsn=linkgress_database))
    try:
        result = await MigrationRunner(db, migrations_directory=tmp_path).up()
    finally:
        await db.dispose()
    assert result.applied == ["001_a", "002_b"], result.error
    conn = await asyncpg.connect(linkgress_database)
    try:
        assert await conn.fetchval("SELECT to_regclass('b_ids') IS NOT NULL")
    finally:
        await conn.close()


async def test_waiting_for_a_held_lock_times_out_and_reports_it(
        app_a: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    from linkgress import MigrationLockTimeout
    from linkgress.schema.executor import MIGRATION_LOCK_KEY

    write(tmp_path, {"001_a": CREATE_A})
    holder = await asyncpg.connect(linkgress_database)
    try:
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
            runner = MigrationRunner(app_a, migrations_directory=tmp_path,
                                     lock_wait_timeout=0.2)
            result = await runner.up()
    finally:
        await holder.close()
    assert (result.applied, result.failed) == ([], ["001_a"])
    assert isinstance(result.error, MigrationLockTimeout)
    assert "held by pid" in str(result.error)
    assert "a" not in await tables(linkgress_database)
