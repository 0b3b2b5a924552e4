"""Journaled migrations with ``atomic = False`` against real PostgreSQL: CREATE INDEX
CONCURRENTLY outside a transaction, under the migration lock; failure midway; dry run; the
scaffolder marking concurrent indexes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    MigrationError,
    MigrationRunner,
    MigrationScaffold,
    PgClient,
    column,
    varchar,
)
from linkgress.errors import MigrationLockTimeout
from linkgress.migrations.offline import offline_script
from linkgress.schema.executor import MIGRATION_LOCK_KEY
from tests.integration.cli_support import APP, Cli, table_exists


class Note(Entity):
    id: int
    title: str = column(varchar(100))


class Notes(DbContext):
    notes = DbContext.table(Note)


class NotesIndexed(DbContext):
    notes = DbContext.table(Note)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Note).has_index("ix_notes_title", "title", concurrently=True)


def migration(name: str, up: list[str], down: list[str], *, atomic: bool) -> str:
    body = "\n".join(f"        await schema.execute({sql!r})" for sql in up)
    undo = "\n".join(f"        await schema.execute({sql!r})" for sql in down) or "        pass"
    flag = "" if atomic else "    atomic = False\n\n"
    return ("from linkgress import Migration, SchemaBuilder\n\n\n"
            f"class {name}(Migration):\n{flag}"
            f"    async def up(self, schema: SchemaBuilder) -> None:\n{body}\n\n"
            f"    async def down(self, schema: SchemaBuilder) -> None:\n{undo}\n")


CREATE_ITEMS = migration("CreateItems", ["CREATE TABLE items (id int, name text)"],
                         ["DROP TABLE items"], atomic=True)
CONCURRENT = ["CREATE INDEX CONCURRENTLY ix_items_name ON items (name)"]
DROP_CONCURRENT = ["DROP INDEX CONCURRENTLY ix_items_name"]


def write(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(exist_ok=True)
    for name, source in files.items():
        (directory / f"{name}.py").write_text(source)


async def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def journal(dsn: str) -> list[str]:
    return [r[0] for r in await rows(dsn, "SELECT name FROM __linkgress_migrations ORDER BY id")]


VALID = ("SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
         "WHERE c.relname = 'ix_items_name'")


@pytest.fixture
async def notes(linkgress_database: str) -> AsyncIterator[DbContext]:
    db = Notes(PgClient(dsn=linkgress_database))
    yield db
    await db.dispose()


async def test_concurrent_index_in_nonatomic_file_runs_and_reverts(
        notes: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    lock_seen = ("CREATE TABLE lock_seen AS SELECT count(*) AS n FROM pg_locks "
                 "WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()")
    write(tmp_path, {"001_items": CREATE_ITEMS,
                     "002_index": migration("Index", [*CONCURRENT, lock_seen],
                                            [*DROP_CONCURRENT, "DROP TABLE lock_seen"],
                                            atomic=False)})
    runner = MigrationRunner(notes, migrations_directory=tmp_path)
    result = await runner.up()
    assert (result.applied, result.error) == (["001_items", "002_index"], None)
    assert await rows(linkgress_database, VALID) == [("ix_items_name", True)]
    assert await rows(linkgress_database, "SELECT n FROM lock_seen") == [(1,)]  # the lock held
    assert await journal(linkgress_database) == ["001_items", "002_index"]
    reverted = await runner.down(1)
    assert (reverted.reverted, reverted.error) == (["002_index"], None)
    assert await rows(linkgress_database, VALID) == []
    assert await journal(linkgress_database) == ["001_items"]


async def test_concurrent_index_in_atomic_file_is_a_clear_error(
        notes: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    write(tmp_path, {"001_items": CREATE_ITEMS,
                     "002_index": migration("Index", CONCURRENT, DROP_CONCURRENT, atomic=True)})
    result = await MigrationRunner(notes, migrations_directory=tmp_path).up()
    assert (result.applied, result.failed) == (["001_items"], ["002_index"])
    assert isinstance(result.error, MigrationError)
    message = str(result.error)
    assert "cannot run inside a transaction block" in message
    assert "atomic = False" in message
    assert await rows(linkgress_database, VALID) == []
    assert await journal(linkgress_database) == ["001_items"]


async def test_failure_midway_names_what_stays_applied(
        notes: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    half = migration("Half", ["CREATE TABLE half (id int)", *CONCURRENT,
                              "SELECT * FROM no_such_table"], [], atomic=False)
    later = migration("Later", ["CREATE TABLE later (id int)"], [], atomic=True)
    write(tmp_path, {"001_items": CREATE_ITEMS, "002_half": half, "003_later": later})
    runner = MigrationRunner(notes, migrations_directory=tmp_path)
    result = await runner.up()
    assert (result.applied, result.failed, result.pending) == (
        ["001_items"], ["002_half"], ["003_later"])
    message = str(result.error)
    assert "no_such_table" in message
    assert "these 2 statement(s) before the failure stay applied" in message
    assert "1. CREATE TABLE half (id int)" in message
    assert "2. CREATE INDEX CONCURRENTLY ix_items_name" in message
    assert "journal row was not written" in message
    assert "rolled back" not in message
    assert await rows(linkgress_database, VALID) == [("ix_items_name", True)]  # stayed applied
    assert await rows(linkgress_database, "SELECT to_regclass('half') IS NOT NULL") == [(True,)]
    assert await journal(linkgress_database) == ["001_items"]
    # Made safe to run again, the file completes and the run goes on.
    write(tmp_path, {"002_half": migration("Half", [
        "CREATE TABLE IF NOT EXISTS half (id int)",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_items_name ON items (name)"], [],
        atomic=False)})
    again = await runner.up()
    assert (again.applied, again.error) == (["002_half", "003_later"], None)
    assert await journal(linkgress_database) == ["001_items", "002_half", "003_later"]


async def test_nonatomic_waits_for_the_migration_lock(
        linkgress_database: str, tmp_path: Path) -> None:
    write(tmp_path, {"001_items": migration("Items", ["CREATE TABLE items (id int)"], [],
                                            atomic=False)})
    holder = await asyncpg.connect(linkgress_database)
    db = Notes(PgClient(dsn=linkgress_database))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        runner = MigrationRunner(db, migrations_directory=tmp_path, lock_wait_timeout=0.5)
        waited = await runner.up()
        assert waited.failed == ["001_items"]
        assert isinstance(waited.error, MigrationLockTimeout)
        assert "migration lock; held by pid" in str(waited.error)
        assert await rows(linkgress_database, "SELECT to_regclass('items')") == [(None,)]
        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        assert (await runner.up()).applied == ["001_items"]
    finally:
        await holder.close()
        await db.dispose()


async def test_dry_run_shows_nonatomic_sql_without_running_it(
        notes: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    write(tmp_path, {"001_items": CREATE_ITEMS,
                     "002_index": migration("Index", CONCURRENT, DROP_CONCURRENT, atomic=False)})
    result = await MigrationRunner(notes, migrations_directory=tmp_path).up(dry_run=True)
    assert result.error is None
    assert result.not_run == ["002_index"]
    assert result.sql["002_index"] == CONCURRENT
    assert result.sql["001_items"] == ["CREATE TABLE items (id int, name text)"]
    assert await rows(linkgress_database, "SELECT to_regclass('items')") == [(None,)]
    needs_db = migration("Reads", [], [], atomic=False).replace(
        "SchemaBuilder) -> None:\n\n",  # up()'s empty body: a query on the database
        "SchemaBuilder) -> None:\n        await schema.fetchval('SELECT 1')\n\n", 1)
    write(tmp_path, {"003_reads": needs_db})
    result = await MigrationRunner(notes, migrations_directory=tmp_path).up(dry_run=True)
    assert result.failed == ["003_reads"]
    assert "cannot be shown in a dry run" in str(result.error)


async def test_scaffolded_concurrent_index_is_nonatomic_and_runs(
        tmp_path: Path, linkgress_database: str) -> None:
    first = Notes(PgClient(dsn=linkgress_database))
    try:
        await first.get_schema_manager(quiet=True).migrate()
    finally:
        await first.dispose()
    db = NotesIndexed(PgClient(dsn=linkgress_database))
    try:
        path = await MigrationScaffold(db, migrations_directory=tmp_path).scaffold("index")
        source = path.read_text()
        assert "    atomic = False\n" in source
        assert "CREATE INDEX CONCURRENTLY" in source
        result = await MigrationRunner(db, migrations_directory=tmp_path).up()
        assert (result.applied, result.error) == ([path.stem], None)
        assert await db.get_schema_manager(quiet=True).analyze() == []
        assert (await MigrationRunner(db, migrations_directory=tmp_path).down(1)).error is None
        assert await rows(linkgress_database, "SELECT to_regclass('ix_notes_title')") == [(None,)]
    finally:
        await db.dispose()


async def test_offline_script_refuses_a_nonatomic_file(tmp_path: Path) -> None:
    write(tmp_path, {"001_items": CREATE_ITEMS,
                     "002_index": migration("Index", CONCURRENT, DROP_CONCURRENT, atomic=False)})
    with pytest.raises(MigrationError, match="002_index has atomic = False"):
        await offline_script(tmp_path)
    assert "CREATE TABLE items" in "\n".join(await offline_script(tmp_path, to="001_items"))


def test_cli_dry_run_marks_a_nonatomic_file(cli: Cli) -> None:
    write(cli.cwd / "migrations", {
        "001_index": migration("Index", ["CREATE TABLE items (id int, name text)"], [],
                               atomic=False)})
    dry = cli("migration", "up", "--dry-run", *APP)
    assert dry.returncode == 0, dry.stderr
    assert "Would run 001_index (atomic = False: runs outside a transaction; shown, not run)" \
        in dry.stdout
    assert "CREATE TABLE items (id int, name text);" in dry.stdout
    assert not table_exists(cli, "items")
    up = cli("migration", "up", *APP)
    assert up.returncode == 0, up.stderr
    assert table_exists(cli, "items")


async def test_lost_session_midway_is_a_migration_error_and_frees_the_lock(
        notes: DbContext, tmp_path: Path, linkgress_database: str) -> None:
    killed = migration("Killed", ["CREATE TABLE first (id int)",
                                  "SELECT pg_terminate_backend(pg_backend_pid())"], [],
                       atomic=False)
    write(tmp_path, {"001_killed": killed})
    runner = MigrationRunner(notes, migrations_directory=tmp_path, lock_wait_timeout=2)
    result = await runner.up()
    assert result.failed == ["001_killed"]
    assert isinstance(result.error, MigrationError)
    assert "1. CREATE TABLE first (id int)" in str(result.error)
    assert await rows(linkgress_database, "SELECT to_regclass('first') IS NOT NULL") == [(True,)]
    again = migration("Killed", ["CREATE TABLE IF NOT EXISTS first (id int)"], [], atomic=False)
    write(tmp_path, {"001_killed": again})
    assert (await runner.up()).applied == ["001_killed"]  # the lock went with the session
