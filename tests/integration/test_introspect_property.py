"""Property: for a random table — random column names (quotes, spaces, capitals), types,
nullability and Python defaults (any text, any number, dates, JSON, arrays, an enum with random
labels), a check, a partial expression index and a view (plain or materialized) over some of
the columns — ``ensure_created()`` then ``normalize_target(model) == introspect()``, and
``analyze()`` finds nothing to do.

200 examples when ``CI`` is set, 30 locally; each in its own schema of one module database.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import itertools
import os
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkgress import (
    ColumnType,
    DbModelConfig,
    PgClient,
    array,
    bigint,
    boolean,
    char,
    column,
    date,
    double_precision,
    integer,
    interval,
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
from linkgress.schema.from_model import schema_from_model
from linkgress.schema.introspect import introspect, normalize_target
from linkgress.schema.quoting import quote_ident
from linkgress.testing import run_async
from tests.integration.migrate_support import context, entity

EXAMPLES = 200 if os.environ.get("CI") else 30
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
               max_size=8)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-1000, 1000) | TEXT,
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(TEXT, inner, max_size=3), max_leaves=5)

# (type, annotation, defaults)
CASES: tuple[tuple[ColumnType, Any, st.SearchStrategy[Any]], ...] = (
    (integer(), int, st.integers(-(2**31), 2**31 - 1)),
    (bigint(), int, st.integers(-(2**63), 2**63 - 1)),
    (smallint(), int, st.integers(-(2**15), 2**15 - 1)),
    (numeric(12, 3), decimal.Decimal,
     st.decimals(-(10**8), 10**8, places=3, allow_nan=False, allow_infinity=False)),
    (double_precision(), float, st.floats()),
    (real(), float, st.floats(width=32)),
    (varchar(8), str, TEXT),
    (text(), str, TEXT),
    (char(3), str, st.text(st.characters(codec="ascii", exclude_characters="\x00"),
                           max_size=3)),
    (boolean(), bool, st.booleans()),
    (date(), dt.date, st.dates()),
    (time(), dt.time, st.times()),
    (timestamp(), dt.datetime, st.datetimes()),
    (timestamptz(), dt.datetime, st.datetimes(timezones=st.just(dt.UTC))),
    (interval(), dt.timedelta, st.timedeltas(dt.timedelta(days=-9999), dt.timedelta(days=9999))),
    (ColumnType("uuid"), uuid.UUID, st.uuids()),
    (jsonb(), Any, JSON),
    (array(integer()), list[int], st.lists(st.integers(-1000, 1000), max_size=3)),
    (array(text()), list[str], st.lists(TEXT, max_size=3)),
)
NAMES = st.text(st.sampled_from("abcXYZ _'\"-é1"), min_size=1, max_size=12).filter(
    lambda n: n != "id")


@st.composite
def columns(draw: st.DrawFn) -> list[tuple[str, Any, Any]]:
    """``(name, annotation, column(...))`` for 1-6 random columns, maybe one enum column."""
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    out = []
    for name in names:
        ctype, annotation, defaults = draw(st.sampled_from(CASES))
        nullable = draw(st.booleans())
        default = draw(st.none() | defaults)
        kwargs = {} if default is None else {"default": default}
        out.append((name, annotation | None if nullable else annotation,
                    column(ctype, name=name, nullable=nullable, **kwargs)))
    if draw(st.booleans()):
        labels = draw(st.lists(TEXT.filter(bool), min_size=1, max_size=4, unique=True))
        members = enum.Enum("RandomLabels", {f"M{i}": v for i, v in enumerate(labels)})  # type: ignore[misc]
        default = draw(st.none() | st.sampled_from(list(members)))
        out.append(("mood", members, column(default=default) if default else column()))
    return out


_schemas = itertools.count()


async def _check(dsn: str, cols: list[tuple[str, Any, Any]], with_index: bool,
                 view: tuple[int, bool] | None = None) -> None:
    schema = f"prop {next(_schemas)}"
    first = quote_ident(cols[0][0])
    entity_class = entity("Random", {"id": int,
                                     **{f"f{i}": (a, c) for i, (_, a, c) in enumerate(cols)}})

    def setup(model: DbModelConfig) -> None:
        model.has_default_schema(schema)
        builder = model.entity(entity_class).has_check("ck", f"{first} IS NOT NULL OR id > 0")
        if with_index:
            builder.has_index("ix", f"(({first} IS NULL))", "id",
                              where=f"{first} IS DISTINCT FROM NULL")
        if view is not None:
            count, materialized = view
            # (the enum column is named after its attribute)
            read = ", ".join(["id", *(quote_ident(f"f{i}" if n == "mood" else n)
                                      for i, (n, _, _) in enumerate(cols[:count]))])
            model.has_view("v", f"SELECT {read} FROM {quote_ident(schema)}.random "
                                f"WHERE {first} IS NOT NULL", materialized=materialized)

    db = context({"random": entity_class}, setup)(PgClient(dsn=dsn))
    try:
        await db.get_schema_manager(quiet=True).ensure_created()
        target = schema_from_model(db.model)
        async with db.client.acquire() as conn:
            normalised = await normalize_target(conn, target)
        current = await introspect(db.client, [schema])
        assert current.enums == normalised.enums
        (got,), (want,) = current.tables, normalised.tables
        for got_column, want_column in zip(got.columns, want.columns, strict=True):
            assert got_column == want_column
        assert got == want
        assert [(v.name, v.materialized) for v in current.views] == [
            (v.name, v.materialized) for v in target.views]
        assert await db.get_schema_manager(quiet=True).analyze() == []
    finally:
        await db.dispose()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cols=columns(), with_index=st.booleans(),
       view=st.none() | st.tuples(st.integers(0, 6), st.booleans()))
def test_any_created_table_introspects_as_its_normalised_model(
        linkgress_module_database: str, cols: list[tuple[str, Any, Any]],
        with_index: bool, view: tuple[int, bool] | None) -> None:
    run_async(_check, linkgress_module_database, cols, with_index, view)
