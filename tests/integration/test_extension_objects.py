"""Objects an extension owns (``pg_depend`` deptype 'e') in the model's schema are never the
model's: not dropped, not altered, not even with ``manage_all=True`` — what a Citus coordinator
needs (its metadata tables, sequences and types are members of the ``citus`` extension). Citus is
not available here; ``ALTER EXTENSION ... ADD`` makes objects members the same way."""

from __future__ import annotations

from linkgress import DbContext, Entity, column, text
from tests.integration.migrate_support import execute, opened, rows


class Order(Entity):
    id: int
    note: str = column(text())


class Shop(DbContext):
    orders = DbContext.table(Order)


EXTENSION_SQL = """
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TABLE dist_metadata (id bigserial PRIMARY KEY, shard citext NOT NULL);
CREATE INDEX dist_metadata_shard ON dist_metadata (shard);
CREATE SEQUENCE dist_shardid_seq;
CREATE TYPE dist_state AS ENUM ('active', 'inactive');
ALTER EXTENSION citext ADD TABLE dist_metadata;
ALTER EXTENSION citext ADD SEQUENCE dist_metadata_id_seq;
ALTER EXTENSION citext ADD SEQUENCE dist_shardid_seq;
ALTER EXTENSION citext ADD TYPE dist_state;
INSERT INTO dist_metadata (shard) VALUES ('s1');
CREATE TABLE dba_table (id int)"""

MEMBERS = """
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relname LIKE 'dist%' ORDER BY 1"""


async def test_extension_owned_objects_are_never_dropped_even_with_manage_all(
        linkgress_database: str) -> None:
    await execute(linkgress_database, EXTENSION_SQL)
    async with opened(Shop, linkgress_database) as db:
        sm = db.get_schema_manager()
        await sm.ensure_created()
        result = await sm.analyze_full(manage_all=True)
        # the plain table nobody declared is a drop under manage_all; the members are not
        assert [(op.type, op.describe()) for op in result.operations] == [
            ("drop_table", "Drop table 'dba_table'")]
        assert not [n for n in result.notes if "dist_" in n]
        assert any("dba_table" in n for n in (await sm.analyze_full()).notes)
        assert [op.type for op in await sm.migrate(manage_all=True, allow_destructive=True)] \
            == ["drop_table"]
        assert await sm.analyze_full(manage_all=True) == await sm.analyze_full()
    assert await rows(linkgress_database, MEMBERS) == [
        ("dist_metadata",), ("dist_metadata_id_seq",), ("dist_metadata_pkey",),
        ("dist_metadata_shard",), ("dist_shardid_seq",)]
    assert await rows(linkgress_database, "SELECT shard::text FROM dist_metadata") == [("s1",)]
    assert await rows(linkgress_database, "SELECT to_regtype('dist_state') IS NOT NULL") \
        == [(True,)]
