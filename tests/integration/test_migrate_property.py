"""Property: for random models A and B over the same table names (columns with types, defaults,
uniques, checks, indexes with options, hash-partitioned tables), ``ensure_created(A)`` is up
to date at once (``analyze(A) == []``); rows inserted, ``migrate(B, allow_destructive=True)``
leaves a database that ``analyze(B)`` finds up to date, and the data of every column kept with
its type is intact. Columns include arrays, a domain (whose check B changes) and generated
columns (computed, never inserted). Each model may hold a view (plain or materialized) over
some columns of each table, so columns retyped or dropped under a view, views replaced and
views dropped are part of the property.

200 examples when ``CI`` is set, 30 locally. One database per test function, reset between
examples by dropping and recreating the schemas the examples use.
"""

from __future__ import annotations

import decimal
import enum
import os
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkgress import (
    ColumnType,
    DbModelConfig,
    array,
    bigint,
    column,
    integer,
    numeric,
    pg_type,
    text,
    varchar,
)
from linkgress.client import PgClient
from linkgress.testing import run_async
from tests.integration.migrate_support import context, entity, opened

EXAMPLES = 200 if os.environ.get("CI") else 30

Color3 = enum.Enum("Color", {"RED": "red", "GREEN": "green", "BLUE": "blue"})  # type: ignore[misc]
Color4 = enum.Enum(  # type: ignore[misc]
    "Color", {"RED": "red", "GREEN": "green", "BLUE": "blue", "GRAY": "gray"})


@dataclass(frozen=True)
class Family:
    """Column types that every value we insert fits, so any change between them succeeds."""

    name: str
    python: Any
    types: tuple[ColumnType | None, ...]
    defaults: tuple[Any, ...]
    check: str | None = None
    distinct_values: bool = True  # row values differ, so a UNIQUE constraint holds
    generated: str | None = None  # the expression of a generated column (never inserted)

    def value(self, row: int) -> Any:
        return {"int": row * 10, "text": f"v{row}", "num": decimal.Decimal(f"{row}.25"),
                "bool": row % 2 == 0, "color": "green" if row % 2 else "red",
                "arr": [row, row + 1], "dom": row * 10}[self.name]


FAMILIES = (
    Family("int", int, (integer(), bigint()), (None, 0, 7), "{c} >= 0"),
    Family("text", str, (varchar(20), varchar(50), text()), (None, "", "x")),
    Family("num", decimal.Decimal, (numeric(10, 2), numeric(12, 2)),
           (None, decimal.Decimal("0"), decimal.Decimal("1.50"))),
    Family("bool", bool, (None,), (None, True, False), distinct_values=False),
    Family("color", Color3, (None,), (None, Color3.RED), distinct_values=False),
    Family("arr", list[int], (array(integer()), array(bigint())), (None, [], [1, 2]),
           "cardinality({c}) >= 0"),
    Family("dom", int, (pg_type("posint"),), (None, 5), "{c} < 1000"),
    Family("gen", int, (integer(), bigint()), (None,), "{c} > 0", generated="id * 2"),
)
COLUMN_NAMES = ("c0", "c1", "c2", "c3", "c4")
TABLE_NAMES = ("t0", "t1", "t2")


@dataclass(frozen=True)
class ColumnSpec:
    family: Family
    type_index: int
    nullable: bool
    default: Any
    unique: bool
    indexed: bool
    checked: bool
    # A second index with options (issue 10): none, or its sort order / INCLUDE / opclass.
    index_options: tuple[tuple[str, Any], ...] = ()

    def declaration(self, name: str, *, later: bool) -> tuple[Any, Any]:
        python = self.family.python
        if self.family.name == "color" and later:
            python = Color4  # B's enum gains a label: add_enum_value
        annotation = python | None if self.nullable else python
        default = self.default
        if isinstance(default, enum.Enum):
            default = python[default.name]
        options: dict[str, Any] = {"unique": self.unique, "index": self.indexed,
                                   "generated": self.family.generated}
        if default is not None:
            options["default"] = default
        if self.checked and self.family.check:
            options["check"] = self.family.check.format(c=name)
        return annotation, column(self.family.types[self.type_index], **options)


@dataclass(frozen=True)
class Model:
    tables: dict[str, dict[str, ColumnSpec]] = field(default_factory=dict)
    # table -> (the columns its view "v_<table>" reads, materialized)
    views: dict[str, tuple[tuple[str, ...], bool]] = field(default_factory=dict)
    # Tables hash-partitioned on id in two partitions (the same in A and B: PostgreSQL cannot
    # change how a table is partitioned).
    partitioned: frozenset[str] = frozenset()


@st.composite
def view_specs(draw: st.DrawFn, tables: dict[str, dict[str, ColumnSpec]]
               ) -> dict[str, tuple[tuple[str, ...], bool]]:
    views = {}
    for table, columns in tables.items():
        if draw(st.booleans()):
            names = draw(st.lists(st.sampled_from(sorted(columns)), unique=True)) if columns else []
            views[table] = (tuple(names), draw(st.booleans()))
    return views


@st.composite
def column_specs(draw: st.DrawFn, family: Family) -> ColumnSpec:
    return ColumnSpec(
        family=family, type_index=draw(st.integers(0, len(family.types) - 1)),
        nullable=draw(st.booleans()), default=draw(st.sampled_from(family.defaults)),
        unique=family.distinct_values and draw(st.booleans()), indexed=draw(st.booleans()),
        checked=draw(st.booleans()), index_options=draw(index_options(family)))


@st.composite
def index_options(draw: st.DrawFn, family: Family) -> tuple[tuple[str, Any], ...]:
    """Nothing (no second index), or options of ``has_index``; equal options across A and B
    keep the index, different ones rebuild it."""
    if not draw(st.booleans()):
        return ()
    options: dict[str, Any] = {"descending": draw(st.booleans())}
    if draw(st.booleans()):
        options["nulls"] = draw(st.sampled_from(("first", "last")))
    if draw(st.booleans()):
        options["include"] = ("id",)
    if family.name == "text" and draw(st.booleans()):
        options["opclasses"] = "text_pattern_ops"
    return tuple(sorted(options.items()))


@st.composite
def model_pairs(draw: st.DrawFn) -> tuple[Model, Model]:
    """Two models over the same names; a column keeps its type family across A and B."""
    families = {c: draw(st.sampled_from(FAMILIES)) for c in COLUMN_NAMES}
    partitioned = frozenset(draw(st.lists(st.sampled_from(TABLE_NAMES), unique=True)))
    models = []
    for _ in range(2):
        tables = {}
        for t in draw(st.lists(st.sampled_from(TABLE_NAMES), min_size=1, unique=True)):
            names = draw(st.lists(st.sampled_from(COLUMN_NAMES), unique=True, max_size=4))
            # A unique constraint of a partitioned table must hold its key (id): none here.
            tables[t] = {c: replace(draw(column_specs(families[c])),
                                    unique=False) if t in partitioned
                         else draw(column_specs(families[c])) for c in sorted(names)}
        models.append(Model(tables, draw(view_specs(tables)), partitioned))
    return models[0], _addable(models[0], models[1])


def _addable(a: Model, b: Model) -> Model:
    """B with each column it adds to a table that already has rows made addable: PostgreSQL
    rightly refuses a NOT NULL column without a default there, and a UNIQUE one whose rows
    would all get the same default."""
    tables = {}
    for table, columns in b.tables.items():
        old = a.tables.get(table)
        tables[table] = {
            c: spec if old is None or c in old else replace(
                spec, unique=False, nullable=spec.nullable or spec.default is None)
            for c, spec in columns.items()}
    return Model(tables, b.views, b.partitioned)


def build_context(model: Model, *, later: bool) -> type[Any]:
    entities = {}
    for table, columns in model.tables.items():
        fields: dict[str, Any] = {"id": int}
        fields.update({c: spec.declaration(c, later=later) for c, spec in columns.items()})
        entities[table] = entity(table.upper(), fields)

    def setup(m: DbModelConfig) -> None:
        m.has_enum(Color4 if later else Color3, name="color")
        for table, (names, materialized) in model.views.items():
            m.has_view(f"v_{table}", f"SELECT {', '.join(['id', *names])} FROM {table} "
                                     "WHERE id > 0", materialized=materialized)
        m.has_domain("posint", integer(), check="VALUE >= 0" if later else "VALUE > -1")
        for table, columns in model.tables.items():
            if table in model.partitioned:
                builder = m.entity(entities[table]).partition_by("hash", "id")
                for r in (0, 1):
                    builder.has_partition(f"{table}_p{r}", f"WITH (MODULUS 2, REMAINDER {r})")
            for c, spec in columns.items():
                if spec.index_options:
                    m.entity(entities[table]).has_index(f"ix_{table}_{c}_options", c,
                                                        **dict(spec.index_options))

    return context(entities, setup)


async def _reset(dsn: str) -> None:
    client = PgClient(dsn=dsn)
    try:
        await client.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await client.close()


async def _insert_rows(dsn: str, model: Model) -> dict[str, list[tuple[Any, ...]]]:
    client = PgClient(dsn=dsn)
    inserted = {}
    try:
        for table, columns in model.tables.items():
            names = [c for c, spec in columns.items() if spec.family.generated is None]
            data = [tuple(columns[c].family.value(row) for c in names) for row in (1, 2, 3)]
            if names:
                marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
                await client.executemany(
                    f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", data)
            else:
                for _ in data:  # (only generated columns, or none)
                    await client.execute(f"INSERT INTO {table} DEFAULT VALUES")
            # A generated column holds its expression's value: id * 2.
            inserted[table] = [
                (i, *(row[names.index(c)] if c in names else i * 2 for c in columns))
                for i, row in enumerate(data, start=1)]
    finally:
        await client.close()
    return inserted


def _kept(a: Model, b: Model) -> dict[str, list[str]]:
    """Per table of both models: the columns both declare with the same type."""
    out = {}
    for table in a.tables.keys() & b.tables.keys():
        out[table] = [c for c, spec in a.tables[table].items()
                      if c in b.tables[table]
                      and b.tables[table][c].family.types[b.tables[table][c].type_index]
                      == spec.family.types[spec.type_index]]
    return out


async def _round_trip(dsn: str, a: Model, b: Model) -> None:
    await _reset(dsn)
    async with opened(build_context(a, later=False), dsn) as db:
        await db.get_schema_manager(quiet=True).ensure_created()
        created = await db.get_schema_manager(quiet=True).analyze()
        assert created == [], [op.describe() for op in created]
    inserted = await _insert_rows(dsn, a)
    async with opened(build_context(b, later=True), dsn) as db:
        sm = db.get_schema_manager(quiet=True)
        await sm.migrate(allow_destructive=True)
        remaining = await sm.analyze()
        assert remaining == [], [op.describe() for op in remaining]
        for table, kept in _kept(a, b).items():
            names = list(a.tables[table])
            got = await db.client.fetch(
                f"SELECT {', '.join(['id', *kept])} FROM {table} ORDER BY id")
            want = [(row[0], *(row[1 + names.index(c)] for c in kept))
                    for row in inserted[table]]
            assert [_plain(tuple(r)) for r in got] == [_plain(w) for w in want], table


def _plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.value if isinstance(v, enum.Enum) else v for v in row)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pair=model_pairs())
def test_migrate_reaches_any_model_and_keeps_data(linkgress_database: str,
                                                  pair: tuple[Model, Model]) -> None:
    run_async(_round_trip, linkgress_database, *pair)
