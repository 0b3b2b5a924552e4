"""ensure_created() / ensure_deleted() against real PostgreSQL, checked through the catalogs."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

import asyncpg
import pytest

from linkgress import (
    DatabaseClient,
    DbContext,
    DbModelConfig,
    Entity,
    MigrationError,
    PgClient,
    bigint,
    char,
    column,
    inet,
    json,
    numeric,
    real,
    smallint,
    timestamp,
    varchar,
)
from tests.integration.catalog import dump


class Mood(enum.Enum):
    HAPPY = "happy"
    QUOTE = "it's"
    SPACED = "with space"


class Account(Entity):
    id: int = column(bigint())
    name: str
    favorite_sink_id: int | None = column(references="Sink", on_delete="set null")


class Sink(Entity):
    id: int
    i: int = column(default=0)
    neg: int = column(default=-5)
    big: int = column(bigint(), default=10)
    small: int = column(smallint())
    num: decimal.Decimal = column(numeric(10, 2), default=decimal.Decimal("1.50"))
    r: float = column(real())
    d: float = column(default=0.5)
    vc: str = column(varchar(50), default="")
    ch: str = column(char(3), default="abc")
    t: str = column(default="it's")
    b: bool = column(default=True)
    dte: dt.date | None
    tm: dt.time | None
    ts: dt.datetime = column(timestamp(), default_sql="CURRENT_TIMESTAMP")
    tstz: dt.datetime = column(default_sql="now()")
    iv: dt.timedelta | None
    u: uuid.UUID = column(default_sql="gen_random_uuid()")
    j: dict[str, Any] | None = column(json())
    jb: dict[str, Any] = column(default={"a": 1})
    by: bytes | None
    ip: str | None = column(inet())
    arr: list[int] = column(default=[])
    tags: list[str] | None
    mood: Mood = column(default=Mood.QUOTE)
    select: str | None = column(comment="it's a comment")
    mixed: str | None = column(name="Mixed Case")
    account_id: int | None = column(references=Account, on_delete="cascade",
                                    on_update="cascade", index=True)
    order_no: int = column(bigint(), default_sql="nextval('\"Billing Dept\".order_no')")


class KitchenSink(DbContext):
    accounts = DbContext.table(Account)
    sinks = DbContext.table(Sink)

    def setup_model(self, model: DbModelConfig) -> None:
        model.has_sequence("order_no", schema="Billing Dept", start=100, increment=5)
        model.entity(Account).to_table("accounts", schema="Billing Dept").has_comment("money")
        (model.entity(Sink)
         .has_index("ix_sinks_lower_vc", "(lower(vc))", unique=True, where="vc <> ''")
         .has_index("ix_sinks_jb", "jb", method="gin")
         .has_index("ix_sinks_t", "t", method="hash")
         .has_index("ix_sinks_ts", "ts", method="brin")
         .has_index("ix_sinks_multi", "i", lambda s: s.neg)
         .has_unique("uq_sinks_small_big", "small", "big")
         .has_check("ck_sinks_i_positive", "i >= 0"))


EXPECTED_TYPES = {
    "id": "integer", "i": "integer", "neg": "integer", "big": "bigint", "small": "smallint",
    "num": "numeric(10,2)", "r": "real", "d": "double precision",
    "vc": "character varying(50)", "ch": "character(3)", "t": "text", "b": "boolean",
    "dte": "date", "tm": "time without time zone", "ts": "timestamp without time zone",
    "tstz": "timestamp with time zone", "iv": "interval", "u": "uuid", "j": "json",
    "jb": "jsonb", "by": "bytea", "ip": "inet", "arr": "integer[]", "tags": "text[]",
    "mood": "mood", "select": "text", "Mixed Case": "text", "account_id": "integer",
    "order_no": "bigint",
}

EXPECTED_DEFAULTS = {
    "i": "0", "neg": "'-5'::integer", "big": "10", "num": "1.50", "d": "0.5",
    "vc": "''::character varying", "ch": "'abc'::bpchar", "t": "'it''s'::text",
    "b": "true", "ts": "CURRENT_TIMESTAMP", "tstz": "now()", "u": "gen_random_uuid()",
    "jb": "'{\"a\": 1}'::jsonb", "arr": "'{}'::integer[]", "mood": "'it''s'::mood",
    "order_no": "nextval('\"Billing Dept\".order_no'::regclass)",
}


@pytest.fixture
async def db(linkgress_database: str) -> Any:
    context = KitchenSink(PgClient(dsn=linkgress_database))
    yield context
    await context.dispose()


def _by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


async def test_ensure_created_builds_exactly_the_declared_schema(
        db: KitchenSink, linkgress_database: str) -> None:
    await db.get_schema_manager().ensure_created()
    cat = await dump(linkgress_database)

    assert {s["name"] for s in cat["schemas"]} >= {"public", "Billing Dept"}
    columns = {r["column"]: r for r in cat["columns"] if r["table"] == "sinks"}
    assert {k: v["type"] for k, v in columns.items()} == EXPECTED_TYPES
    defaults = {k: v["default"] for k, v in columns.items() if v["default"] is not None}
    assert defaults == EXPECTED_DEFAULTS
    nullable = {k for k, v in columns.items() if not v["not_null"]}
    assert nullable == {"dte", "tm", "iv", "j", "by", "ip", "tags", "select", "Mixed Case",
                        "account_id"}
    assert columns["id"]["identity"] == "d"
    assert columns["select"]["comment"] == "it's a comment"

    enums = _by(cat["enums"], "name")
    assert enums["mood"]["labels"] == ["happy", "it's", "with space"]

    (seq,) = [s for s in cat["sequences"] if s["name"] == "order_no"]
    assert (seq["schema"], seq["start_value"], seq["increment_by"]) == ("Billing Dept", 100, 5)

    cons = _by(cat["constraints"], "table", "name")
    assert cons[("sinks", "sinks_pkey")]["definition"] == "PRIMARY KEY (id)"
    assert cons[("sinks", "uq_sinks_small_big")]["definition"] == "UNIQUE (small, big)"
    assert cons[("sinks", "ck_sinks_i_positive")]["definition"] == "CHECK ((i >= 0))"
    assert cons[("sinks", "sinks_account_id_fkey")]["definition"] == (
        'FOREIGN KEY (account_id) REFERENCES "Billing Dept".accounts(id) '
        "ON UPDATE CASCADE ON DELETE CASCADE")
    assert cons[("accounts", "accounts_favorite_sink_id_fkey")]["definition"] == (
        "FOREIGN KEY (favorite_sink_id) REFERENCES sinks(id) ON DELETE SET NULL")

    idx = {r["name"]: r["definition"] for r in cat["indexes"] if r["table"] == "sinks"}
    assert idx["ix_sinks_lower_vc"] == ("CREATE UNIQUE INDEX ix_sinks_lower_vc ON public.sinks "
                                        "USING btree (lower((vc)::text)) WHERE ((vc)::text <> ''"
                                        "::text)")
    assert idx["ix_sinks_jb"].endswith("USING gin (jb)")
    assert idx["ix_sinks_t"].endswith("USING hash (t)")
    assert idx["ix_sinks_ts"].endswith("USING brin (ts)")
    assert idx["ix_sinks_multi"].endswith("USING btree (i, neg)")
    assert idx["ix_sinks_account_id"].endswith("USING btree (account_id)")

    comments = _by(cat["table_comments"], "table")
    assert comments["accounts"]["comment"] == "money"


async def test_defaults_produce_the_declared_values(db: KitchenSink) -> None:
    await db.get_schema_manager().ensure_created()
    row = await db.client.fetchrow(
        "INSERT INTO sinks (small, r) VALUES (1, 2.5) RETURNING *")
    assert row is not None
    assert (row["i"], row["neg"], row["num"], row["vc"], row["t"], row["b"]) == (
        0, -5, decimal.Decimal("1.50"), "", "it's", True)
    assert (row["mood"], row["arr"], row["order_no"]) == ("it's", [], 100)


async def test_ensure_created_is_idempotent(db: KitchenSink, linkgress_database: str) -> None:
    manager = db.get_schema_manager()
    first = await manager.ensure_created()
    assert len(first) > 10
    before = await dump(linkgress_database)
    assert await manager.ensure_created() == []
    assert await dump(linkgress_database) == before


class Hooked(KitchenSink):
    calls: list[str] = []

    async def on_migration_start(self, client: DatabaseClient) -> None:
        self.calls.append("start")
        await client.execute("CREATE EXTENSION IF NOT EXISTS plpgsql")

    async def on_migration_complete(self, client: DatabaseClient) -> None:
        self.calls.append("complete")
        await client.execute("CREATE OR REPLACE VIEW sink_count AS SELECT count(*) FROM sinks")


async def test_hooks_run_in_order_and_the_view_sees_the_tables(linkgress_database: str) -> None:
    Hooked.calls = []
    async with Hooked(PgClient(dsn=linkgress_database)) as db:
        await db.get_schema_manager().ensure_created()
        assert Hooked.calls == ["start", "complete"]
        assert await db.client.fetchval("SELECT count FROM sink_count") == 0


class FailingHook(KitchenSink):
    async def on_migration_complete(self, client: DatabaseClient) -> None:
        raise RuntimeError("boom")


async def test_a_failing_hook_rolls_everything_back(linkgress_database: str) -> None:
    before = await dump(linkgress_database)
    async with FailingHook(PgClient(dsn=linkgress_database)) as db:
        with pytest.raises(MigrationError, match="on_migration_complete hook failed") as info:
            await db.get_schema_manager().ensure_created()
        assert isinstance(info.value.__cause__, RuntimeError)
    assert await dump(linkgress_database) == before


class FailingStart(KitchenSink):
    async def on_migration_start(self, client: DatabaseClient) -> None:
        raise RuntimeError("no extension for you")


async def test_a_failing_start_hook_changes_nothing(linkgress_database: str) -> None:
    before = await dump(linkgress_database)
    async with FailingStart(PgClient(dsn=linkgress_database)) as db:
        with pytest.raises(MigrationError, match="on_migration_start hook failed"):
            await db.get_schema_manager().ensure_created()
    assert await dump(linkgress_database) == before


async def test_a_failing_statement_rolls_everything_back(linkgress_database: str) -> None:
    conn = await asyncpg.connect(linkgress_database)
    try:  # a table whose name clashes with one of our indexes: CREATE INDEX must fail
        await conn.execute('CREATE TABLE "ix_sinks_jb" (x int)')
    finally:
        await conn.close()
    before = await dump(linkgress_database)
    async with KitchenSink(PgClient(dsn=linkgress_database)) as db:
        with pytest.raises(MigrationError) as info:
            await db.get_schema_manager().ensure_created()
    assert info.value.sql is not None and "ix_sinks_jb" in info.value.sql
    assert isinstance(info.value.__cause__, asyncpg.PostgresError)
    assert await dump(linkgress_database) == before


async def test_ensure_deleted_drops_only_what_linkgress_manages(
        db: KitchenSink, linkgress_database: str) -> None:
    conn = await asyncpg.connect(linkgress_database)
    try:
        pristine = await dump(linkgress_database)
        await conn.execute("""
            CREATE SCHEMA keep_me;
            CREATE TABLE public.unrelated (x int);
            CREATE TYPE public.other_enum AS ENUM ('a');
            CREATE FUNCTION public.answer() RETURNS int LANGUAGE sql AS 'SELECT 42';
        """)
        before = await dump(linkgress_database)
        manager = db.get_schema_manager()
        await manager.ensure_created()
        await conn.execute('CREATE TABLE "Billing Dept".dba_table (y int)')
        await manager.ensure_deleted()
        after = await dump(linkgress_database)
        # Everything of ours is gone, the schema survives because the DBA table lives there.
        assert {s["name"] for s in after["schemas"]} == {
            s["name"] for s in before["schemas"]} | {"Billing Dept"}
        assert [(r["schema"], r["table"]) for r in after["columns"]] == [
            ("Billing Dept", "dba_table"), ("public", "unrelated")]
        assert after["enums"] == before["enums"]
        assert after["functions"] == before["functions"]
        assert after["sequences"] == before["sequences"]
        await conn.execute('DROP TABLE "Billing Dept".dba_table')
        await manager.ensure_created()
        await manager.ensure_deleted()
        assert await dump(linkgress_database) == before  # empty schema dropped, state table too
        assert {s["name"] for s in before["schemas"]} == {
            s["name"] for s in pristine["schemas"]} | {"keep_me"}
    finally:
        await conn.close()


async def test_ensure_deleted_also_drops_objects_only_the_record_knows(
        linkgress_database: str) -> None:
    before = await dump(linkgress_database)
    async with KitchenSink(PgClient(dsn=linkgress_database)) as db:
        await db.get_schema_manager().ensure_created()

    class Lonely(Entity):
        id: int

    class Smaller(DbContext):  # a later model that declares none of the recorded objects
        lonely = DbContext.table(Lonely)

    async with Smaller(PgClient(dsn=linkgress_database)) as smaller:
        await smaller.get_schema_manager().ensure_deleted()
    assert await dump(linkgress_database) == before


async def test_ensure_deleted_on_an_empty_database_is_a_no_op(db: KitchenSink) -> None:
    assert await db.get_schema_manager().ensure_deleted() == []


async def test_the_managed_state_is_recorded(db: KitchenSink) -> None:
    manager = db.get_schema_manager()
    await manager.ensure_created()
    async with db.client.acquire() as conn:
        recorded = await manager.executor.read_state(conn)
    assert recorded == manager.target_schema()


async def test_a_view_made_by_the_hook_goes_with_its_table_unless_cascade_false(
        linkgress_database: str) -> None:
    before = await dump(linkgress_database)
    async with Hooked(PgClient(dsn=linkgress_database)) as db:
        manager = db.get_schema_manager()
        await manager.ensure_created()
        created = await dump(linkgress_database)
        with pytest.raises(MigrationError, match=r"refused: .* view sink_count; nothing was"):
            await manager.ensure_deleted(cascade=False)
        assert await dump(linkgress_database) == created  # nothing was dropped
        operations = await manager.ensure_deleted()
        assert any(op.type == "drop_table" and "CASCADE" in op.describe() for op in operations)
        assert operations.cascaded == ["view sink_count"]
    assert await dump(linkgress_database) == before  # the view went with its table
