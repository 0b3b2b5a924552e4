"""The unmanaged objects of the schemas a context uses are always notes (issue 10, bug 11) —
also when the context declares no table there — on a real server."""

from __future__ import annotations

import logging

import pytest

from linkgress import DbContext, DbModelConfig, Entity, column, integer
from tests.integration.migrate_support import execute, opened, rows

FOREIGN_SQL = """
CREATE TABLE legacy (id integer PRIMARY KEY, n integer);
CREATE TABLE legacy_log (id integer);
CREATE FUNCTION legacy_touch() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.n := coalesce(NEW.n, 0) + 1; RETURN NEW; END $$;
CREATE TRIGGER legacy_touch BEFORE INSERT ON legacy FOR EACH ROW EXECUTE FUNCTION legacy_touch();
CREATE RULE legacy_no_delete AS ON DELETE TO legacy_log DO INSTEAD NOTHING;
ALTER TABLE legacy ENABLE ROW LEVEL SECURITY;
CREATE POLICY legacy_all ON legacy USING (true);
CREATE TYPE pair AS (a integer, b integer);
CREATE VIEW legacy_view AS SELECT id FROM legacy;
INSERT INTO legacy (id) VALUES (1)"""

EXPECTED = [
    "unmanaged table 'public.legacy' left alone",
    "unmanaged table 'public.legacy_log' left alone",
    "unmanaged view 'public.legacy_view' left alone",
    "unmanaged function 'public.legacy_touch()' left alone",
    "unmanaged trigger 'legacy_touch' on table 'public.legacy' left alone",
    "unmanaged rule 'legacy_no_delete' on table 'public.legacy_log' left alone",
    "unmanaged policy 'legacy_all' on table 'public.legacy' left alone",
    "unmanaged composite type 'public.pair' left alone",
]


class Empty(DbContext):
    """A context that declares nothing (its default schema is public)."""


class Thing(Entity):
    id: int = column(integer(), primary_key=True)


class Elsewhere(DbContext):
    """A context whose only table lives in another schema, its default schema left public."""

    things = DbContext.table(Thing)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Thing).in_schema("app")


@pytest.mark.parametrize("context", [Empty, Elsewhere])
async def test_unmanaged_objects_of_the_default_schema_are_notes(
        linkgress_database: str, context: type[DbContext],
        caplog: pytest.LogCaptureFixture) -> None:
    await execute(linkgress_database, FOREIGN_SQL)
    async with opened(context, linkgress_database) as db:
        sm = db.get_schema_manager()
        result = await sm.analyze_full()
        assert sorted(n for n in result.notes if "'public." in n) == sorted(EXPECTED)
        with caplog.at_level(logging.INFO, logger="linkgress.migrate"):
            await sm.migrate()
        logged = [r.getMessage() for r in caplog.records]
        assert all(f"note: {n}" in logged for n in EXPECTED)
        assert await sm.analyze() == []
    assert await rows(linkgress_database, "SELECT id, n FROM legacy") == [(1, 1)]
