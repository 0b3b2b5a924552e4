"""SchemaBuilder against real PostgreSQL: every builder method, and the documented examples."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from linkgress import DbContext, MigrationRunner, PgClient
from tests.integration.test_journal import AppA, migration, tables, write


@pytest.fixture
async def app_a(linkgress_database: str) -> AsyncIterator[DbContext]:
    db = AppA(PgClient(dsn=linkgress_database))
    yield db
    await db.dispose()


BUILDER_UP = '''
        await schema.create_schema("shop")
        await schema.create_enum("kind", ["a", "b"], schema="shop")
        await schema.add_enum_value("kind", "c", after="b", schema="shop")
        await schema.create_sequence("ticket_seq", start=100, increment=5)
        await schema.create_table("owners", lambda t: [
            t.integer("id").identity().primary_key(),
            t.varchar("email", 100).not_null().unique(),
        ])
        await schema.create_table("items", lambda t: [
            t.bigint("id").identity("always").primary_key(),
            t.integer("owner_id").not_null().references("owners", schema="public",
                                                       on_delete="cascade").index(),
            t.enum("kind", "kind", schema="shop").not_null().default("b"),
            t.numeric("price", 10, 2).not_null().default(0).check("price >= 0"),
            t.column("tags", array(text())).not_null().default([]),
            t.jsonb("doc").comment("free-form"),
            t.timestamptz("created_at").not_null().default_sql("now()"),
        ], schema="shop", comment="things")
        await schema.add_column("items", "n", integer(), default=1, schema="shop")
        await schema.alter_column("items", "n", type=bigint(), default_sql="2", nullable=False,
                                  schema="shop")
        await schema.alter_column("items", "n", identity="by default", drop_default=True,
                                  schema="shop")
        await schema.alter_column("items", "n", identity="always", schema="shop")
        await schema.alter_column("items", "n", identity=None, schema="shop")
        await schema.alter_column("items", "doc", comment=None, schema="shop")
        await schema.rename_column("items", "n", "qty", schema="shop")
        await schema.create_index("owners", "ix_owners_lower_email", "(lower(email))",
                                  unique=True, where="email IS NOT NULL")
        await schema.add_check_constraint("owners", "owners_email_check", "email <> ''")
        await schema.create_table("legacy", lambda t: [t.integer("a"), t.integer("b")])
        await schema.add_primary_key("legacy", ("a", "b"))
        await schema.add_unique_constraint("legacy", "legacy_b_key", "b")
        await schema.create_foreign_key("legacy", "legacy_a_fkey", "a", "owners")
        await schema.drop_foreign_key("legacy", "legacy_a_fkey")
        await schema.drop_constraint("legacy", "legacy_b_key")
        await schema.rename_table("legacy", "old_legacy")
        await schema.drop_table("old_legacy")'''

BUILDER_DOWN = '''
        await schema.drop_index("owners", "ix_owners_lower_email")
        await schema.drop_table("items", schema="shop")
        await schema.drop_table("owners")
        await schema.drop_sequence("ticket_seq")
        await schema.drop_enum("kind", schema="shop")
        await schema.drop_schema("shop")'''


async def catalog_columns(dsn: str, table: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, "
            "col_description(a.attrelid, a.attnum) FROM pg_attribute a "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum", table)]
    finally:
        await conn.close()


async def test_schema_builder_methods_run_on_postgres(app_a: DbContext, tmp_path: Path,
                                                      linkgress_database: str) -> None:
    source = (migration("Everything", "pass", "pass")
              .replace("SchemaBuilder\n", "SchemaBuilder, array, bigint, integer, text\n")
              .replace("        pass\n\n", BUILDER_UP.lstrip("\n") + "\n\n", 1)
              .replace("        pass\n", BUILDER_DOWN.lstrip("\n") + "\n", 1))
    write(tmp_path, {"001_everything": source})
    runner = MigrationRunner(app_a, migrations_directory=tmp_path)
    result = await runner.up()
    assert result.applied == ["001_everything"], result.error
    assert await catalog_columns(linkgress_database, "shop.items") == [
        ("id", "bigint", True, None, "a", None),
        ("owner_id", "integer", True, None, "", None),
        ("kind", "shop.kind", True, "'b'::shop.kind", "", None),
        ("price", "numeric(10,2)", True, "0", "", None),
        ("tags", "text[]", True, "'{}'::text[]", "", None),
        ("doc", "jsonb", False, None, "", None),
        ("created_at", "timestamp with time zone", True, "now()", "", None),
        ("qty", "bigint", True, None, "", None),
    ]
    conn = await asyncpg.connect(linkgress_database)
    try:
        labels = await conn.fetchval("SELECT enum_range(NULL::shop.kind)::text")
        constraints = {r[0] for r in await conn.fetch(
            "SELECT conname FROM pg_constraint WHERE connamespace IN "
            "('public'::regnamespace, 'shop'::regnamespace)")}
        indexes = {r[0] for r in await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE schemaname IN ('public', 'shop')")}
        next_ticket = await conn.fetchval("SELECT nextval('ticket_seq')")
        comment = await conn.fetchval("SELECT obj_description('shop.items'::regclass)")
    finally:
        await conn.close()
    assert labels == "{a,b,c}" and next_ticket == 100 and comment == "things"
    assert {"owners_pkey", "owners_email_key", "owners_email_check", "items_pkey",
            "items_owner_id_fkey", "items_price_check"} <= constraints
    assert not {c for c in constraints if c.startswith("legacy")}
    assert {"ix_owners_lower_email", "ix_items_owner_id"} <= indexes
    reverted = await runner.down(1)
    assert reverted.reverted == ["001_everything"], reverted.error
    assert await tables(linkgress_database) == {"__linkgress_migrations",
                                                "__linkgress_schema_state"}


DOC = Path(__file__).resolve().parents[2] / "docs" / "journaled-migrations.md"


def doc_migration(class_name: str) -> str:
    """The docs' python block defining ``class_name``, with the imports it may leave out."""
    blocks = DOC.read_text().split("```python\n")[1:]
    block = next(b.split("```")[0] for b in blocks if f"class {class_name}(Migration)" in b)
    return "from linkgress import Migration, SchemaBuilder, varchar\n" + block


async def test_the_documented_migrations_run(app_a: DbContext, tmp_path: Path,
                                             linkgress_database: str) -> None:
    write(tmp_path, {"001_create_users": doc_migration("CreateUsersTable"),
                     "002_add_phone": doc_migration("AddPhone")})
    runner = MigrationRunner(app_a, migrations_directory=tmp_path)
    result = await runner.up()
    assert result.applied == ["001_create_users", "002_add_phone"], result.error
    assert [c[0] for c in await catalog_columns(linkgress_database, "users")] == [
        "id", "username", "email", "created_at", "phone_number"]
    assert (await runner.down(batch=True)).reverted == ["002_add_phone", "001_create_users"]
    assert "users" not in await tables(linkgress_database)
