"""Introspection and normalisation against real PostgreSQL.

The invariant: after ``ensure_created()``, the model's schema, normalised by PostgreSQL, equals
what introspection reads — for every type, default form, identity, key, constraint, index kind
and awkward name the model supports.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import ipaddress
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    ModelError,
    PgClient,
    UniqueViolation,
    array,
    bigint,
    boolean,
    bytea,
    char,
    column,
    date,
    double_precision,
    inet,
    integer,
    interval,
    json,
    jsonb,
    numeric,
    real,
    smallint,
    text,
    time,
    timestamp,
    timestamptz,
    varchar,
)
from linkgress import (
    uuid as uuid_type,
)
from linkgress.model.types import enum_type
from linkgress.schema.from_model import schema_from_model
from linkgress.schema.introspect import introspect, normalize_target
from linkgress.schema.introspect.reader import fetch_concurrently
from linkgress.schema.snapshot import Schema, Table
from tests.integration.catalog import dump


class Mood(enum.Enum):
    HAPPY = "happy"
    QUOTE = "it's"
    SPACED = "with space"
    UPPER = "Upper"


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Pair(Entity):
    """Composite primary key, in a schema whose name needs quoting."""

    a: int
    b: str = column(varchar(10))
    label: str | None = column(comment="it's the \"label\"")


class Account(Entity):
    id: int = column(bigint(), identity="always")
    name: str = column(unique=True)
    level: Level = column(default=Level.LOW)


class EveryType(Entity):
    id: int
    i: int = column(default=0)
    neg: int = column(default=-5)
    cast: int = column(default_sql="'7'::integer")
    big: int = column(bigint(), default=-9_000_000_000)
    small: int = column(smallint(), default=3)
    num: decimal.Decimal = column(numeric(10, 2), default=decimal.Decimal("1.50"))
    num_neg: decimal.Decimal = column(numeric(12, 4), default=decimal.Decimal("-2.5"))
    num_p: decimal.Decimal | None = column(numeric(8))
    num_any: decimal.Decimal | None = column(numeric())
    r: float = column(real(), default=1.25)
    d: float = column(double_precision(), default=-0.5)
    inf: float = column(default=float("inf"))
    vc: str = column(varchar(50), default="")
    vc_free: str | None = column(varchar())
    ch: str = column(char(3), default="abc")
    ch1: str | None = column(char())
    t: str = column(text(), default="it's")
    backslash: str = column(default="a\\b")
    b: bool = column(boolean(), default=True)
    b_false: bool = column(default=False)
    dte: dt.date = column(date(), default=dt.date(2024, 2, 29))
    today: dt.date = column(date(), default_sql="CURRENT_DATE")
    tm: dt.time | None = column(time())
    ts: dt.datetime = column(timestamp(), default_sql="CURRENT_TIMESTAMP")
    ts_fixed: dt.datetime = column(timestamp(), default=dt.datetime(2020, 1, 2, 3, 4, 5))
    tstz: dt.datetime = column(timestamptz(), default_sql="now()")
    iv: dt.timedelta = column(interval(), default=dt.timedelta(days=1, seconds=30))
    iv_sql: dt.timedelta = column(interval(), default_sql="'1 day'::interval")
    u: uuid.UUID = column(uuid_type(), default_sql="gen_random_uuid()")
    u_fixed: uuid.UUID = column(default=uuid.UUID("12345678-1234-5678-1234-567812345678"))
    j: Any = column(json(), default={"k": [1, "x"]})
    jb: dict[str, Any] = column(jsonb(), default={"a": 1})
    jb_sql: dict[str, Any] = column(jsonb(), default_sql="'{}'::jsonb")
    by: bytes = column(bytea(), default=b"\x00\xff")
    ip: str = column(inet(), default=ipaddress.ip_address("10.0.0.1"))
    arr: list[int] = column(array(integer()), default=[])
    arr_vals: list[int] = column(array(integer()), default=[1, -2])
    tags: list[str] | None = column(array(text()))
    grid: list[list[int]] | None = column(array(integer(), dims=2))
    vc_arr: list[str] = column(array(varchar(5)), default=["ab"])
    mood: Mood = column(default=Mood.QUOTE)
    moods: list[Mood] = column(default=[Mood.HAPPY, Mood.SPACED])
    mood_null: Mood | None
    nothing: int | None = column(default=None, comment="")
    null_cast: str | None = column(default_sql="NULL::text")
    level_typed: str | None = column(enum_type("level", schema="Billing Dept"))
    select: str | None = column(comment="it's a comment")
    mixed: str | None = column(name="Mixed Case")
    order_no: int = column(bigint(), default_sql="nextval('\"Billing Dept\".\"Order No\"')")
    account_id: int | None = column(references=Account, on_delete="cascade",
                                    on_update="cascade", index=True)


class Link(Entity):
    """Foreign keys with every action, composite and cross-schema."""

    id: int = column(smallint())
    pair_a: int = column(default=0)
    pair_b: str = column(varchar(10), default="x")
    restrict_id: int | None = column(references=EveryType, on_delete="restrict")
    null_id: int | None = column(references=EveryType, on_delete="set null",
                                 on_update="restrict")
    default_id: int | None = column(references=EveryType, on_delete="set default",
                                    on_update="set null")
    plain_id: int | None = column(references=EveryType)
    account_id: int = column(bigint(), references=Account, on_delete="no action",
                             on_update="set default", default=1)


class Everything(DbContext):
    pairs = DbContext.table(Pair)
    accounts = DbContext.table(Account)
    every = DbContext.table(EveryType)
    links = DbContext.table(Link)

    nulls_not_distinct = True

    def setup_model(self, model: DbModelConfig) -> None:
        model.has_enum(Mood, name="Mood Type")
        model.has_enum(Level, schema="Billing Dept")
        model.has_sequence("Order No", schema="Billing Dept", start=100, increment=5)
        model.has_sequence("down", data_type="integer", start=-1, increment=-1)
        model.has_sequence("bounded", data_type="smallint", min_value=10, max_value=1000,
                           start=10, cache=5, cycle=True)
        (model.entity(Pair).to_table('pair "table"', schema="Billing Dept")
         .has_key("a", "b", name="pair pk").has_comment("pairs; it's quoted"))
        model.entity(Account).to_table("Accounts", schema="Billing Dept")
        (model.entity(EveryType).to_table("every type")
         .has_index("ix_lower_vc", "(lower(vc))", unique=True, where="vc <> ''")
         .has_index("ix_jb", "jb", method="gin")
         .has_index("ix_arr", "arr", method="gin")
         .has_index("ix_t_hash", "t", method="hash")
         .has_index("ix_ts_brin", "ts", method="brin")
         .has_index("ix_fts", "(to_tsvector('simple', t))", method="gist")
         .has_index("ix_ip_spgist", "ip", method="spgist")
         .has_index("ix_multi", "i", lambda e: e.neg, "(i + neg)", "mixed")
         .has_index("ix_select", "select", where="\"select\" IS NOT NULL AND i > 0")
         .has_index("ix_partial_in", "mood", where="mood IN ('happy', 'it''s')")
         .has_unique("uq_small_big", "small", "big")
         .has_check("ck_i", "i >= 0")
         .has_check("ck_in", "small IN (1, 2, 3)")
         .has_check("ck_between", "r BETWEEN 0 AND 100 OR d < 0")
         .has_check("ck_mood", "mood <> 'with space'")
         .has_check("ck_len", "char_length(vc) < 40 AND \"select\" IS DISTINCT FROM 'x'")
         .has_check("ck_ts", "ts > '2000-01-01'")
         .has_comment("every \"type\""))
        if self.nulls_not_distinct:
            model.entity(EveryType).has_index("ix_nnd", "vc_free", unique=True,
                                              nulls_not_distinct=True)
        (model.entity(Link).to_table("links", schema="Billing Dept")
         .has_key("id", name="links_pkey"))
        (model.entity(Link).has_one("pair", Pair).with_foreign_key("pair_a", "pair_b")
         .on_delete("cascade").on_update("cascade"))


class EverythingOld(Everything):
    """The same model for servers before PostgreSQL 15 (no NULLS NOT DISTINCT)."""

    nulls_not_distinct = False


async def _server_major(client: PgClient) -> int:
    async with client.acquire() as conn:
        return conn.get_server_version().major


@pytest.fixture
async def everything(linkgress_client: PgClient) -> AsyncIterator[Everything]:
    major = await _server_major(linkgress_client)
    context = (Everything if major >= 15 else EverythingOld)(linkgress_client)
    await context.get_schema_manager().ensure_created()
    yield context


async def _normalised(client: PgClient, target: Schema) -> Schema:
    async with client.acquire() as conn:
        return await normalize_target(conn, target)


def assert_same_tables(actual: Schema, expected: Schema) -> None:
    """Table by table, field by field, so a failure names what differs."""
    assert [t.key for t in actual.tables] == [t.key for t in expected.tables]
    for got, want in zip(actual.tables, expected.tables, strict=True):
        assert_same_table(got, want)


def assert_same_table(got: Table, want: Table) -> None:
    for got_col, want_col in zip(got.columns, want.columns, strict=True):
        assert got_col == want_col, f"{got.qualified_name}.{want_col.name}"
    assert got.primary_key == want.primary_key, got.qualified_name
    assert got.uniques == want.uniques, got.qualified_name
    assert got.checks == want.checks, got.qualified_name
    assert got.indexes == want.indexes, got.qualified_name
    assert got.foreign_keys == want.foreign_keys, got.qualified_name
    assert got.comment == want.comment, got.qualified_name
    assert got == want


async def test_a_created_database_reads_back_exactly_as_the_normalised_model(
        everything: Everything) -> None:
    client = everything.client
    target = schema_from_model(everything.model)
    current = await introspect(client, target.schemas)
    normalised = await _normalised(client, target)

    assert current.schemas == normalised.schemas == ("Billing Dept", "public")
    assert current.enums == normalised.enums
    assert current.sequences == normalised.sequences
    assert_same_tables(current, normalised)
    assert current == normalised
    assert current.notes == ()


async def test_introspection_reads_the_declared_details(everything: Everything) -> None:
    current = await introspect(everything.client, ["public", "Billing Dept"])
    every = current.table("public", "every type")
    assert every is not None
    assert [c.name for c in every.columns] == [
        c.name for c in everything.model.entity(EveryType).columns]  # attnum order
    grid, moods, mood = every.column("grid"), every.column("moods"), every.column("mood")
    assert grid is not None and grid.type.sql == "integer[][]"
    assert moods is not None and moods.type.sql == '"public"."Mood Type"[]'
    assert mood is not None and mood.type.is_enum and mood.default == "'it''s'::\"Mood Type\""
    ident = every.column("id")
    assert ident is not None and (ident.identity, ident.default) == ("by default", None)
    indexes = {ix.name: ix for ix in every.indexes}
    assert indexes["ix_lower_vc"].columns == ("(lower((vc)::text))",)
    assert indexes["ix_lower_vc"].where == "((vc)::text <> ''::text)"
    assert {ix.method for ix in every.indexes} >= {"btree", "gin", "hash", "brin", "gist",
                                                   "spgist"}
    pair = current.table("Billing Dept", 'pair "table"')
    assert pair is not None and pair.primary_key is not None
    assert pair.primary_key.columns == ("a", "b")
    links = current.table("Billing Dept", "links")
    assert links is not None
    actions = {fk.name: (fk.on_delete, fk.on_update) for fk in links.foreign_keys}
    assert sorted(set(actions.values())) == sorted({
        ("CASCADE", "CASCADE"), ("RESTRICT", "NO ACTION"), ("SET NULL", "RESTRICT"),
        ("SET DEFAULT", "SET NULL"), ("NO ACTION", "NO ACTION"), ("NO ACTION", "SET DEFAULT")})
    (composite,) = [fk for fk in links.foreign_keys if len(fk.columns) == 2]
    assert (composite.ref_schema, composite.ref_table, composite.ref_columns) == (
        "Billing Dept", 'pair "table"', ("a", "b"))
    bounded = next(s for s in current.sequences if s.name == "bounded")
    assert (bounded.min_value, bounded.max_value, bounded.cache, bounded.cycle) == (
        10, 1000, 5, True)


async def test_normalising_needs_no_existing_objects_and_leaves_nothing_behind(
        linkgress_client: PgClient, linkgress_database: str) -> None:
    major = await _server_major(linkgress_client)
    context = (Everything if major >= 15 else EverythingOld)(linkgress_client)
    target = schema_from_model(context.model)
    before = await dump(linkgress_database)
    fresh = await _normalised(linkgress_client, target)  # no schema, enum or sequence yet
    assert await dump(linkgress_database) == before

    await context.get_schema_manager().ensure_created()
    created = await dump(linkgress_database)
    async with linkgress_client.acquire() as conn, conn.transaction():
        again = await normalize_target(conn, target)
        # the caller's transaction is intact and usable
        assert await conn.fetchval("SELECT count(*) FROM \"every type\"") == 0
    assert await dump(linkgress_database) == created
    assert fresh == again == await introspect(linkgress_client, target.schemas)


async def test_normalising_a_model_that_adds_an_enum_label(everything: Everything,
                                                           linkgress_database: str) -> None:
    # The database's enum lacks the label the model's default uses (the migration will add
    # it): normalisation sets the enum aside inside its savepoint only.
    await everything.client.execute("DROP TABLE \"Billing Dept\".links")
    await everything.client.execute("ALTER TABLE \"Billing Dept\".\"Accounts\" "
                                     "ALTER COLUMN level DROP DEFAULT")
    await everything.client.execute("ALTER TABLE \"every type\" DROP COLUMN level_typed")
    await everything.client.execute("ALTER TABLE \"Billing Dept\".\"Accounts\" "
                                     "DROP COLUMN level")
    await everything.client.execute("DROP TYPE \"Billing Dept\".level")
    await everything.client.execute("CREATE TYPE \"Billing Dept\".level AS ENUM ('high')")
    before = await dump(linkgress_database)
    target = schema_from_model(everything.model)
    normalised = await _normalised(everything.client, target)
    accounts = normalised.table("Billing Dept", "Accounts")
    assert accounts is not None
    level = accounts.column("level")
    assert level is not None and level.default == "'low'::\"Billing Dept\".level"
    assert await dump(linkgress_database) == before


class Broken(DbContext):
    pairs = DbContext.table(Pair)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Pair).has_key("a", "b").has_check("ck_typo", "labl <> ''")


async def test_sql_postgresql_rejects_is_a_model_error_naming_the_object(
        linkgress_client: PgClient) -> None:
    target = schema_from_model(Broken(linkgress_client).model)
    async with linkgress_client.acquire() as conn, conn.transaction():
        with pytest.raises(ModelError, match=r"table 'pairs'.*labl"):
            await normalize_target(conn, target)
        assert await conn.fetchval("SELECT 1") == 1  # still usable


async def test_sequential_concurrent_and_on_a_connection_agree(
        everything: Everything) -> None:
    client = everything.client
    schemas = ["public", "Billing Dept", "missing"]
    concurrent = await introspect(client, schemas)
    assert concurrent == await introspect(client, schemas, concurrent=False)
    async with client.acquire() as conn:
        assert concurrent == await introspect(client, schemas, connection=conn)
    single = PgClient(dsn=client.dsn, max_size=1)  # one pooled connection: no deadlock
    try:
        assert concurrent == await introspect(single, schemas)
    finally:
        await single.close()


async def test_a_busy_pool_slows_concurrent_introspection_down_but_never_blocks_it(
        everything: Everything) -> None:
    # Two connections, one held elsewhere: the helper waits for a connection that only comes
    # back after introspection; it is cancelled once the first reader has done all the work.
    client = PgClient(dsn=everything.client.dsn, max_size=2)
    try:
        async with client.acquire():
            with anyio.fail_after(30):
                schema = await introspect(client, ["public", "Billing Dept"])
        assert schema == await introspect(everything.client, ["public", "Billing Dept"])
    finally:
        await client.close()


async def test_introspecting_on_a_connection_reads_inside_its_transaction(
        linkgress_client: PgClient) -> None:
    async with linkgress_client.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TABLE uncommitted (id int PRIMARY KEY)")
        inside = await introspect(linkgress_client, ["public"], connection=conn)
        outside = await introspect(linkgress_client, ["public"])
    assert [t.name for t in inside.tables] == ["uncommitted"]
    assert outside.tables == ()


async def test_concurrent_readers_share_one_snapshot(linkgress_client: PgClient) -> None:
    # The helpers get their pooled connections only after another session committed a table:
    # they still do not see it, because they read the snapshot the first reader exported
    # before that commit.
    probe = ("SELECT pg_sleep(0.3), pg_backend_pid() AS pid, "
             "pg_current_snapshot()::text AS snapshot, "
             "(SELECT count(*) FROM pg_class WHERE relname = 'late') AS late, $1::int AS n")
    client = PgClient(dsn=linkgress_client.dsn, min_size=4, max_size=4)
    results: dict[str, list[Any]] = {}

    async def read() -> None:
        results.update(await fetch_concurrently(
            client, lambda _major: {f"q{i}": probe for i in range(4)}, (1,), 4))

    try:
        held = [await client.acquire() for _ in range(3)]
        async with anyio.create_task_group() as group:
            group.start_soon(read)
            await anyio.sleep(0.1)  # the first reader exported its snapshot and is sleeping
            await linkgress_client.execute("CREATE TABLE late (id int)")
            for conn in held:
                await client.release(conn)
    finally:
        await client.close()
    rows = [r[0] for r in results.values()]
    assert len({r["pid"] for r in rows}) > 1
    assert len({r["snapshot"] for r in rows}) == 1
    assert {r["late"] for r in rows} == {0}
    assert await linkgress_client.fetchval("SELECT count(*) FROM pg_class "
                                           "WHERE relname = 'late'") == 1


async def test_what_introspection_leaves_out(linkgress_client: PgClient) -> None:
    await linkgress_client.execute("""
        CREATE TABLE owned (id serial PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY);
        CREATE SEQUENCE standalone;
        CREATE TABLE ext_table (id int);
        CREATE TYPE ext_enum AS ENUM ('a');
        CREATE SEQUENCE ext_seq;
        ALTER EXTENSION plpgsql ADD TABLE ext_table;
        ALTER EXTENSION plpgsql ADD TYPE ext_enum;
        ALTER EXTENSION plpgsql ADD SEQUENCE ext_seq;
        CREATE TABLE measurements (at date NOT NULL, v int) PARTITION BY RANGE (at);
        CREATE TABLE measurements_2024 PARTITION OF measurements
            FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE __linkgress_migrations (id int);
        CREATE TABLE __linkgress_schema_state (id int);
        CREATE TABLE audit_log (id int);
        CREATE SCHEMA other;
        CREATE TABLE other.audit_log (id int);
        CREATE TABLE other.kept (id int);
    """)
    try:
        schema = await introspect(linkgress_client, ["public", "other"],
                                  exclude=["public.audit_*"])
        assert [t.qualified_name for t in schema.tables] == [
            "other.audit_log", "other.kept", "measurements", "owned"]
        assert [s.name for s in schema.sequences] == ["standalone"]
        assert schema.enums == ()
        owned = schema.table("public", "owned")
        assert owned is not None
        # serial: the owned sequence and its nextval() default are part of the type
        assert (owned.columns[0].type.serial, owned.columns[0].default) == (True, None)
        assert (owned.columns[1].identity, owned.columns[1].default) == ("always", None)
        assert [t.name for t in (await introspect(
            linkgress_client, ["other"], exclude=["kept"])).tables] == ["audit_log"]
    finally:
        await linkgress_client.execute("""
            ALTER EXTENSION plpgsql DROP TABLE ext_table;
            ALTER EXTENSION plpgsql DROP TYPE ext_enum;
            ALTER EXTENSION plpgsql DROP SEQUENCE ext_seq;""")


async def test_unique_nulls_not_distinct_constraint_and_invalid_index(
        linkgress_client: PgClient) -> None:
    if await _server_major(linkgress_client) < 15:
        pytest.skip("NULLS NOT DISTINCT needs PostgreSQL 15")
    await linkgress_client.execute("""
        CREATE TABLE t (a int, b int, c text, CONSTRAINT uq_ab UNIQUE NULLS NOT DISTINCT (a, b),
                        CONSTRAINT uq_b UNIQUE (b));
        CREATE INDEX ix_b_desc ON t (b DESC);
        CREATE INDEX ix_b_incl ON t (b) INCLUDE (a);
        CREATE INDEX ix_c_pattern ON t (c text_pattern_ops);
        CREATE INDEX ix_c ON t (c);
        INSERT INTO t VALUES (1, 1), (1, 2);""")
    with pytest.raises(UniqueViolation):
        await linkgress_client.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_a ON t (a)")
    schema = await introspect(linkgress_client, ["public"])
    (table,) = schema.tables
    assert [(u.name, u.columns, u.nulls_not_distinct) for u in table.uniques] == [
        ("uq_ab", ("a", "b"), True), ("uq_b", ("b",), False)]
    assert [(ix.name, ix.columns) for ix in table.indexes] == [
        ("ix_a", ("a",)), ("ix_b_desc", ("b",)), ("ix_b_incl", ("b",)), ("ix_c", ("c",)),
        ("ix_c_pattern", ("c",))]
    notes = "\n".join(schema.notes)
    assert "'ix_a' on t is INVALID" in notes
    # Sort order, INCLUDE columns and operator classes are read, not notes.
    options = {ix.name: (ix.descending, ix.include, ix.opclasses) for ix in table.indexes}
    assert options["ix_b_desc"] == ((True,), (), ())
    assert options["ix_b_incl"] == ((), ("a",), ())
    assert options["ix_c_pattern"] == ((), (), ("text_pattern_ops",))
    assert options["ix_c"] == ((), (), ())
