"""Equal constant defaults printed differently are not changes (issue 10, bug 7); changed
values, and expressions that are not constant, still are — on a real server."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from linkgress import (
    DbContext,
    Entity,
    column,
    double_precision,
    integer,
    numeric,
    text,
    timestamptz,
)
from tests.integration.migrate_support import execute, opened, rows

TABLE_SQL = """
CREATE SEQUENCE thing_counter;
CREATE TABLE thing (
    id integer PRIMARY KEY,
    ratio double precision DEFAULT '5.2' NOT NULL,
    whole double precision DEFAULT 5 NOT NULL,
    quoted double precision DEFAULT '5' NOT NULL,
    price numeric(10,2) DEFAULT 0 NOT NULL,
    twice integer DEFAULT (1 + 1) NOT NULL,
    made timestamptz DEFAULT now() NOT NULL,
    label text DEFAULT 'hello' NOT NULL,
    counter integer DEFAULT nextval('thing_counter') NOT NULL);
INSERT INTO thing (id) VALUES (1)"""


class Thing(Entity):
    id: int = column(integer(), primary_key=True)
    ratio: float = column(double_precision(), default=5.2)
    whole: float = column(double_precision(), default=5.0)
    quoted: float = column(double_precision(), default=5.0)
    price: Decimal = column(numeric(10, 2), default=Decimal("0.00"))
    twice: int = column(integer(), default=2)
    made: dt.datetime = column(timestamptz(), default_sql="CURRENT_TIMESTAMP")
    label: str = column(text(), default="hello")
    counter: int = column(integer(), default_sql="nextval('thing_counter')")


class Things(DbContext):
    thing = DbContext.table(Thing)


async def test_equal_constants_written_differently_are_adopted(linkgress_database: str) -> None:
    await execute(linkgress_database, TABLE_SQL)
    async with opened(Things, linkgress_database) as db:
        sm = db.get_schema_manager()
        assert await sm.analyze() == []
        assert await sm.migrate() == []
        assert await sm.analyze() == []
    # the row took 1: the probes never ran nextval()
    assert await rows(linkgress_database, "SELECT nextval('thing_counter')") == [(2,)]
    assert await rows(linkgress_database, "SELECT count(*) FROM thing") == [(1,)]


def _changed(attr: str, **options: object) -> type[DbContext]:
    """``Things`` with ``attr`` declared with other ``column()`` options."""
    annotations = dict(Thing.__annotations__)
    namespace: dict[str, object] = {"__annotations__": annotations}
    defaults = {
        "id": column(integer(), primary_key=True),
        "ratio": column(double_precision(), default=5.2),
        "whole": column(double_precision(), default=5.0),
        "quoted": column(double_precision(), default=5.0),
        "price": column(numeric(10, 2), default=Decimal("0.00")),
        "twice": column(integer(), default=2),
        "made": column(timestamptz(), default_sql="CURRENT_TIMESTAMP"),
        "label": column(text(), default="hello"),
        "counter": column(integer(), default_sql="nextval('thing_counter')"),
    }
    defaults[attr] = column(**options)  # type: ignore[arg-type]
    namespace.update(defaults)
    entity = type("Thing", (Entity,), namespace)
    return type("ChangedThings", (DbContext,), {"thing": DbContext.table(entity)})


@pytest.mark.parametrize(("attr", "options"), [
    ("twice", {"type": integer(), "default": 7}),
    ("label", {"type": text(), "default": "there"}),
    ("price", {"type": numeric(10, 2), "default": Decimal("5.5")}),
    ("whole", {"type": double_precision(), "default": 5.5}),
    ("made", {"type": timestamptz(), "default_sql": "clock_timestamp()"}),
    ("counter", {"type": integer(), "default_sql": "(nextval('thing_counter') + 0)"}),
])
async def test_a_changed_value_is_still_a_change(linkgress_database: str, attr: str,
                                                 options: dict[str, object]) -> None:
    await execute(linkgress_database, TABLE_SQL)
    async with opened(_changed(attr, **options), linkgress_database) as db:
        sm = db.get_schema_manager()
        (op,) = await sm.analyze()
        assert op.type == "alter_column" and attr in op.describe()
        await sm.migrate()
        assert await sm.analyze() == []
    # the row took 1: the probes never ran nextval()
    assert await rows(linkgress_database, "SELECT nextval('thing_counter')") == [(2,)]
