"""A raw SQL model option (``has_index(where=...)``, ``has_check``, ``default_sql=``) never runs
a second statement: PostgreSQL refuses it, the user gets a linkgress error naming the option,
and a table outside the model (the canary) survives — through ``ensure_created()``,
``migrate()`` and a journaled migration.

Each payload is syntactically valid as a whole where linkgress puts it (in the real DDL and
in normalisation's mirror), so with statements sent through the simple query protocol it
*would* drop the canary.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from linkgress import DbModelConfig, LinkgressError, MigrationError, MigrationRunner
from tests.integration.migrate_support import context, entity, execute, opened, rows

DROP = "DROP TABLE canary"
WHERE = f"true; {DROP}"
CHECK = f"true)); {DROP}; CREATE TEMPORARY TABLE lg_dummy (x int CHECK (true"
DEFAULT = f"0); {DROP}; CREATE TEMPORARY TABLE lg_dummy (id int DEFAULT 0"
ADD_CHECK = f"true); {DROP}; SELECT (1"

Victim = entity("Victim", {"id": int, "name": str, "v": int | None})


def _where(m: DbModelConfig) -> None:
    m.entity(Victim).has_index("ix_victim_name", "name", where=WHERE)


def _check(m: DbModelConfig) -> None:
    m.entity(Victim).has_check("ck_victim", CHECK)


def _default(m: DbModelConfig) -> None:
    m.entity(Victim).property("v").has_default_sql(DEFAULT)


CASES: list[tuple[str, Callable[[DbModelConfig], None], str]] = [
    ("where", _where, "index 'ix_victim_name' where="),
    ("check", _check, "check 'ck_victim'"),
    ("default_sql", _default, "default of column 'v'"),
]
IDS = [c[0] for c in CASES]


async def _canary(dsn: str) -> None:
    await execute(dsn, "CREATE TABLE canary (id int)")
    await execute(dsn, "INSERT INTO canary VALUES (1)")


async def _canary_survives(dsn: str) -> None:
    assert await rows(dsn, "SELECT id FROM canary") == [(1,)]
    assert await rows(dsn, "SELECT to_regclass('victim') IS NULL") == [(True,)]


def _assert_names_the_option(error: LinkgressError, what: str) -> None:
    message = str(error)
    assert "cannot insert multiple commands" in message
    assert what in message
    assert DROP in message
    assert not isinstance(error, asyncpg.PostgresError)


@pytest.mark.parametrize(("name", "setup", "what"), CASES, ids=IDS)
async def test_ensure_created_refuses_a_second_statement(
        linkgress_database: str, name: str, setup: Callable[[DbModelConfig], None],
        what: str) -> None:
    await _canary(linkgress_database)
    async with opened(context({"victim": Victim}, setup), linkgress_database) as db:
        with pytest.raises(MigrationError) as info:
            await db.get_schema_manager().ensure_created()
    _assert_names_the_option(info.value, what)
    assert isinstance(info.value.__cause__, asyncpg.PostgresSyntaxError)
    await _canary_survives(linkgress_database)


@pytest.mark.parametrize(("name", "setup", "what"), CASES, ids=IDS)
async def test_migrate_refuses_a_second_statement(
        linkgress_database: str, name: str, setup: Callable[[DbModelConfig], None],
        what: str) -> None:
    await _canary(linkgress_database)
    async with opened(context({"victim": Victim}, setup), linkgress_database) as db:
        sm = db.get_schema_manager()
        # Normalisation mirrors the model's raw SQL first (in a rolled-back savepoint): the
        # refusal comes from there, before any operation is applied.
        with pytest.raises(MigrationError) as info:
            await sm.migrate()
        _assert_names_the_option(info.value, what)
        with pytest.raises(MigrationError):
            await sm.analyze()
    await _canary_survives(linkgress_database)


async def test_migrate_of_a_new_index_on_an_existing_table_refuses_too(
        linkgress_database: str) -> None:
    await _canary(linkgress_database)
    async with opened(context({"victim": Victim}), linkgress_database) as db:
        await db.get_schema_manager().migrate()
    async with opened(context({"victim": Victim}, _where), linkgress_database) as db:
        with pytest.raises(MigrationError, match="index 'ix_victim_name' where="):
            await db.get_schema_manager().migrate()
    assert await rows(linkgress_database, "SELECT id FROM canary") == [(1,)]


def _migration_file(body: str) -> str:
    return ("from linkgress import Migration, SchemaBuilder\n\n\n"
            "class Stacked(Migration):\n"
            "    async def up(self, schema: SchemaBuilder) -> None:\n"
            f"        {body}\n\n"
            "    async def down(self, schema: SchemaBuilder) -> None:\n"
            "        pass\n")


JOURNALED = [
    ("where", f'await schema.create_index("canary", "ix_canary", "id", where={WHERE!r})',
     "index 'ix_canary' where="),
    ("check", f'await schema.add_check_constraint("canary", "ck_canary", {ADD_CHECK!r})',
     "check 'ck_canary'"),
]


@pytest.mark.parametrize(("name", "body", "what"), JOURNALED, ids=[j[0] for j in JOURNALED])
async def test_schema_builder_refuses_a_second_statement(
        linkgress_database: str, tmp_path: Path, name: str, body: str, what: str) -> None:
    await _canary(linkgress_database)
    (tmp_path / "001_stacked.py").write_text(_migration_file(body))
    async with opened(context({"victim": Victim}), linkgress_database) as db:
        result = await MigrationRunner(db, migrations_directory=tmp_path).up()
    assert result.failed == ["001_stacked"]
    assert isinstance(result.error, MigrationError)
    _assert_names_the_option(result.error, what)
    assert "migration 001_stacked failed in up()" in str(result.error)
    assert await rows(linkgress_database, "SELECT id FROM canary") == [(1,)]


async def test_schema_builder_execute_keeps_several_statements_of_the_authors_sql(
        linkgress_database: str, tmp_path: Path) -> None:
    body = ('await schema.execute("INSERT INTO canary VALUES (2); '
            'INSERT INTO canary VALUES (3)")')
    await _canary(linkgress_database)
    (tmp_path / "001_data.py").write_text(_migration_file(body))
    async with opened(context({"victim": Victim}), linkgress_database) as db:
        result = await MigrationRunner(db, migrations_directory=tmp_path).up()
    assert result.error is None
    assert await rows(linkgress_database, "SELECT id FROM canary ORDER BY id") == [
        (1,), (2,), (3,)]


async def test_raw_options_with_one_statement_still_work(linkgress_database: str) -> None:
    def setup(m: DbModelConfig) -> None:
        m.entity(Victim).has_index("ix_victim_name", "(lower(name))", where="name <> ';'") \
            .has_check("ck_victim", "v IS NULL OR v >= 0") \
            .property("v").has_default_sql("length(';')")

    async with opened(context({"victim": Victim}, setup), linkgress_database) as db:
        await db.get_schema_manager().ensure_created()
        sm = db.get_schema_manager()
        assert await sm.analyze() == []
        assert await sm.migrate() == []
        await db.victim.insert({"name": "a"})  # type: ignore[attr-defined]
    assert await rows(linkgress_database, "SELECT name, v FROM victim") == [("a", 1)]
