"""The differ's operations, rendered and applied to real PostgreSQL.

For every scenario: build the ``before`` schema, seed rows, apply ``diff(before, after)`` in one
transaction, then check (1) the catalog equals that of a schema created from scratch from
``after`` — migrating and creating give the same database — and (2) the rows in kept columns
survived. Each scenario gets its own pair of PostgreSQL schemas in one module database.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from linkgress.model.types import (
    array,
    bigint,
    enum_type,
    integer,
    numeric,
    text,
    varchar,
)
from linkgress.schema.ddl import render_all
from linkgress.schema.diff import diff
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Sequence,
    Table,
    UniqueConstraint,
)

CATALOG = """
SELECT 'column' AS kind, c.relname || '.' || a.attname AS name,
       concat_ws(' | ', format_type(a.atttypid, a.atttypmod), a.attnotnull::text,
                 pg_get_expr(d.adbin, d.adrelid), a.attidentity::text,
                 col_description(c.oid, a.attnum)) AS def
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'table', c.relname, coalesce(obj_description(c.oid, 'pg_class'), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind = 'r'
UNION ALL
SELECT 'constraint', rel.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
  FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = rel.relnamespace WHERE n.nspname = $1
UNION ALL
SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = $1
UNION ALL
SELECT 'enum', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
  JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 GROUP BY t.typname
UNION ALL
SELECT 'sequence', sequencename,
       concat_ws(' ', data_type, start_value, min_value, max_value, increment_by, cycle,
                 cache_size)
  FROM pg_sequences s WHERE schemaname = $1 AND NOT EXISTS (
       SELECT 1 FROM pg_depend dep WHERE dep.objid = format('%I.%I', s.schemaname,
              s.sequencename)::regclass AND dep.deptype IN ('a', 'i'))
"""


@dataclass
class Scenario:
    """``before`` and ``after`` built for a schema name; rows to seed and checks to run."""

    before: Callable[[str], Schema]
    after: Callable[[str], Schema]
    seed: list[str] = field(default_factory=list)
    checks: list[tuple[str, Any]] = field(default_factory=list)  # (query, expected fetch)


def _t(s: str, name: str, *columns: Column, **kw: Any) -> Table:
    ident = Column(name="id", type=integer(), nullable=False, identity="by default")
    return Table(schema=s, name=name, columns=(ident, *columns),
                 primary_key=PrimaryKey(name=f"{name}_pkey", columns=("id",)), **kw)


def _db(s: str, *tables: Table, **kw: Any) -> Schema:
    return Schema(schemas=(s,), tables=tables, **kw)


def _c(name: str, type_: Any = None, **kw: Any) -> Column:
    return Column(name=name, type=type_ or text(), **kw)


def _users(s: str, *extra: Column, **kw: Any) -> Table:
    return _t(s, "users", _c("name", varchar(20), nullable=False), *extra, **kw)


def _mood(s: str, *values: str) -> EnumType:
    return EnumType(schema=s, name="mood", values=values)


def _people(s: str, *values: str, default: str = "'ok'") -> Schema:
    table = _t(s, "people", _c("mood", enum_type("mood", schema=s), nullable=False,
                               default=default),
               _c("past", array(enum_type("mood", schema=s))),
               # literals of the enum in a check and a predicate: rebuilt around a recreate
               checks=(CheckConstraint(name="ck_mood", expression="(mood <> 'happy' OR id > 0)"),),
               indexes=(Index(name="ix_mood", columns=("mood",)),
                        Index(name="ix_happy", columns=("id",), where="(mood = 'happy')")))
    return _db(s, table, enums=(_mood(s, *values),))


def _orders(s: str, id_type: Any, on_delete: str = "NO ACTION") -> Schema:
    users = replace(_users(s), columns=(Column(name="id", type=id_type, nullable=False,
                                               identity="by default"), *_users(s).columns[1:]))
    fk = ForeignKey(name="orders_user_id_fkey", columns=("user_id",), ref_schema=s,
                    ref_table="users", ref_columns=("id",), on_delete=on_delete)
    orders = _t(s, "orders", _c("user_id", id_type, nullable=False), foreign_keys=(fk,))
    return _db(s, users, orders)


SEED_USERS = ["INSERT INTO {s}.users (name) VALUES ('alice'), ('bob')"]
NAMES = ("SELECT name FROM {s}.users ORDER BY id", [("alice",), ("bob",)])
SEQ = Sequence(schema="x", name="order_no", start=10)

SCENARIOS: dict[str, Scenario] = {
    "add and drop columns": Scenario(
        lambda s: _db(s, _users(s, _c("old", integer()))),
        lambda s: _db(s, _users(s, _c("phone", varchar(20)), _c("score", integer(),
                                                               nullable=False, default="0"))),
        SEED_USERS, [NAMES, ("SELECT score FROM {s}.users ORDER BY id", [(0,), (0,)])]),
    "alter type, nullability, default, comment": Scenario(
        lambda s: _db(s, _users(s, _c("bio", varchar(10)), _c("n", integer(), nullable=False),
                                _c("price", numeric(10, 2), default="1.5"))),
        lambda s: _db(s, _users(s, _c("bio", text(), comment="about"), _c("n", bigint()),
                                _c("price", numeric(8, 1)))),
        ["INSERT INTO {s}.users (name, n) VALUES ('alice', 1), ('bob', 2)",
         "UPDATE {s}.users SET bio = 'hi', n = 7, price = 2.25"],
        [NAMES, ("SELECT bio, n, price::text FROM {s}.users WHERE id = 1",
                 [("hi", 7, "2.3")])]),
    "identity added and dropped": Scenario(
        lambda s: _db(s, _t(s, "a", _c("n", integer(), nullable=False))),
        lambda s: _db(s, replace(_t(s, "a", _c("n", integer(), nullable=False,
                                                identity="always")),
                                 columns=(_c("id", integer(), nullable=False),
                                          _c("n", integer(), nullable=False,
                                             identity="always")))),
        ["INSERT INTO {s}.a (n) VALUES (5)"],
        [("SELECT id, n FROM {s}.a", [(1, 5)]),
         # the new identity continues after the values the column already holds
         ("INSERT INTO {s}.a (id) VALUES (2) RETURNING n", [(6,)])]),
    "identity kind switched": Scenario(
        lambda s: _db(s, _t(s, "b")),
        lambda s: _db(s, replace(_t(s, "b"), columns=(
            Column(name="id", type=integer(), nullable=False, identity="always"),))),
        ["INSERT INTO {s}.b DEFAULT VALUES", "INSERT INTO {s}.b DEFAULT VALUES"],
        [("INSERT INTO {s}.b DEFAULT VALUES RETURNING id", [(3,)])]),
    "rename hint keeps the data": Scenario(
        lambda s: _db(s, _users(s, _c("fullname", varchar(30)))),
        lambda s: _db(s, _users(s, _c("display_name", varchar(60), renamed_from="fullname"))),
        ["INSERT INTO {s}.users (name, fullname) VALUES ('a', 'Alice A')"],
        [("SELECT display_name FROM {s}.users", [("Alice A",)])]),
    "enum labels added in place": Scenario(
        lambda s: _people(s, "happy", "ok"),
        lambda s: _people(s, "calm", "happy", "meh", "ok", "sad"),
        ["INSERT INTO {s}.people (mood, past) VALUES ('happy', '{{ok,happy}}')"],
        [("SELECT mood::text, past::text FROM {s}.people", [("happy", "{ok,happy}")])]),
    "enum label removed": Scenario(
        lambda s: _people(s, "happy", "ok", "sad"),
        lambda s: _people(s, "ok", "happy"),
        ["INSERT INTO {s}.people (mood, past) VALUES ('happy', '{{ok}}')",
         "INSERT INTO {s}.people DEFAULT VALUES"],
        [("SELECT mood::text, past::text FROM {s}.people ORDER BY id",
          [("happy", "{ok}"), ("ok", None)])]),
    "sequences": Scenario(
        lambda s: _db(s, sequences=(replace(SEQ, schema=s), replace(SEQ, schema=s, name="b"))),
        lambda s: _db(s, sequences=(replace(SEQ, schema=s, increment=5, cache=3),
                                    replace(SEQ, schema=s, name="c")))),
    "constraints and indexes replaced": Scenario(
        lambda s: _db(s, _users(s, _c("email"), uniques=(
            UniqueConstraint(name="u_email", columns=("email",)),), checks=(
            CheckConstraint(name="c_name", expression="(length(name) > 0)"),), indexes=(
            Index(name="ix_name", columns=("name",)),
            Index(name="ix_gone", columns=("email",))))),
        lambda s: _db(s, _users(s, _c("email"), uniques=(
            UniqueConstraint(name="u_email", columns=("email", "name")),), checks=(
            CheckConstraint(name="c_name", expression="(length(name) > 1)"),), indexes=(
            Index(name="ix_name", columns=("(lower((name)::text))",), unique=True,
                  where="(email IS NOT NULL)"),))),
        SEED_USERS, [NAMES]),
    "referenced key retyped": Scenario(
        lambda s: _orders(s, integer()), lambda s: _orders(s, bigint(), "CASCADE"),
        [*SEED_USERS, "INSERT INTO {s}.orders (user_id) VALUES (1), (2)"],
        [("SELECT count(*) FROM {s}.orders", [(2,)])]),
    "primary key replaced under a foreign key": Scenario(
        lambda s: _orders(s, integer()),
        lambda s: replace(_orders(s, integer()), tables=(
            replace(_orders(s, integer()).tables[0],
                    primary_key=PrimaryKey(name="users_pk", columns=("id",))),
            _orders(s, integer()).tables[1])),
        SEED_USERS, [NAMES]),
    "tables dropped": Scenario(
        lambda s: _orders(s, integer()), lambda s: _db(s, _t(s, "other", comment="kept"))),
}


@pytest_asyncio.fixture
async def conn(linkgress_module_database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(linkgress_module_database)
    try:
        yield connection
    finally:
        await connection.close()


async def _apply(conn: asyncpg.Connection, current: Schema, target: Schema,
                 managed: Schema | None = None) -> None:
    async with conn.transaction():
        for sql in render_all(diff(current, target, managed=managed).operations):
            await conn.execute(sql)


async def _catalog(conn: asyncpg.Connection, schema: str) -> list[tuple[str, str, str]]:
    rows = await conn.fetch(CATALOG, schema)
    return sorted((r["kind"], r["name"], (r["def"] or "").replace(schema, "S")) for r in rows)


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_migrating_equals_creating(conn: asyncpg.Connection, name: str) -> None:
    scenario, tag = SCENARIOS[name], secrets.token_hex(4)
    migrated, created = f"m_{tag}", f"c_{tag}"
    before = scenario.before(migrated)
    await _apply(conn, Schema(), before)
    for sql in scenario.seed:
        await conn.execute(sql.format(s=migrated))
    await _apply(conn, before, scenario.after(migrated), managed=before)
    await _apply(conn, Schema(), scenario.after(created))
    assert await _catalog(conn, migrated) == await _catalog(conn, created)
    for query, expected in scenario.checks:
        rows = await conn.fetch(query.format(s=migrated))
        assert [tuple(r) for r in rows] == expected


async def test_removing_a_label_still_in_use_fails_and_changes_nothing(
        conn: asyncpg.Connection) -> None:
    s = f"m_{secrets.token_hex(4)}"
    before = _people(s, "happy", "ok", "sad")
    await _apply(conn, Schema(), before)
    await conn.execute(f"INSERT INTO {s}.people (mood) VALUES ('sad')")
    snapshot = await _catalog(conn, s)
    with pytest.raises(asyncpg.InvalidTextRepresentationError, match="sad"):
        await _apply(conn, before, _people(s, "happy", "ok"), managed=before)
    assert await _catalog(conn, s) == snapshot


async def test_unmanaged_objects_survive_a_migration(conn: asyncpg.Connection) -> None:
    s = f"m_{secrets.token_hex(4)}"
    target = _db(s, _users(s))
    await _apply(conn, Schema(), target)
    await conn.execute(f"CREATE TABLE {s}.spatial_ref_sys (srid int)")
    await conn.execute(f"ALTER TABLE {s}.users ADD COLUMN legacy int")
    await conn.execute(f"CREATE INDEX ix_dba ON {s}.users (name, legacy)")
    before = await _catalog(conn, s)
    current = _db(s, _users(s, _c("legacy", integer()),
                            indexes=(Index(name="ix_dba", columns=("name", "legacy")),)),
                  _t(s, "spatial_ref_sys"))
    result = diff(current, target, managed=target)
    assert result.operations == []
    assert len(result.notes) == 3
    assert await _catalog(conn, s) == before


async def test_a_new_label_is_usable_once_committed(conn: asyncpg.Connection) -> None:
    # PostgreSQL refuses a label added in the same transaction; committing the AddEnumValue
    # operations first (what migrate() does) makes the rest of the plan work.
    s = f"m_{secrets.token_hex(4)}"
    before, after = _people(s, "happy", "ok"), _people(s, "happy", "ok", "meh", default="'meh'")
    await _apply(conn, Schema(), before)
    plan = diff(before, after, managed=before).operations
    assert [op.type for op in plan] == ["add_enum_value", "alter_column"]
    with pytest.raises(asyncpg.UnsafeNewEnumValueUsageError):
        async with conn.transaction():
            for sql in render_all(plan):
                await conn.execute(sql)
    for step in ([plan[0]], plan[1:]):
        async with conn.transaction():
            for sql in render_all(step):
                await conn.execute(sql)
    await conn.execute(f"INSERT INTO {s}.people DEFAULT VALUES")
    assert await conn.fetchval(f"SELECT mood::text FROM {s}.people") == "meh"


async def test_recreate_around_introspected_checks_and_indexes(
        linkgress_module_database: str) -> None:
    # With snapshots read back from the catalogs (casts printed by PostgreSQL), the plan is
    # applied and the database then matches the target exactly.
    from linkgress.client import PgClient
    from linkgress.schema.introspect import introspect, normalize_target

    s = f"m_{secrets.token_hex(4)}"
    client = PgClient(dsn=linkgress_module_database)
    try:
        async with client.acquire() as conn:
            await _apply(conn, Schema(), _people(s, "happy", "ok", "sad"))
            await conn.execute(f"INSERT INTO {s}.people (mood) VALUES ('happy'), ('ok')")
            async with conn.transaction():
                target = await normalize_target(conn, _people(s, "ok", "happy"))
                current = await introspect(client, [s], connection=conn)
                plan = diff(current, target, managed=current).operations
                assert "recreate_enum" in [op.type for op in plan]
                for sql in render_all(plan):
                    await conn.execute(sql)
            after = await introspect(client, [s], connection=conn)
            assert diff(after, target, managed=after).operations == []
            assert await conn.fetchval(f"SELECT count(*) FROM {s}.people") == 2
    finally:
        await client.close()
