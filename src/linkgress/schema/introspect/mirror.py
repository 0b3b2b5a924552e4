"""Normalisation's pure half: which temporary objects mirror the model, and how PostgreSQL's
printing of them is folded back into the model's :class:`Schema`.

Printing depends only on a few things, so the mirror is deduplicated (it runs on every
``migrate()``, and a model of 500 tables must not cost 500 temporary tables):

- a column default prints the same whatever its table or column name: every distinct
  ``(type, default)`` pair becomes one column of a shared "defaults" table (chunks of
  :data:`MAX_COLUMNS`);
- a check expression, index expression or index predicate depends only on the types of the
  columns it names: tables whose columns agree (no name with two different types) share one
  "shape" table holding the union of their columns, which carries each distinct check and
  index once. Indexes on plain columns need no printing. (A check naming a column its own
  table lacks may pass here thanks to another table's column; it then fails, clearly, when
  the migration applies it. Everything valid prints exactly as on the real table.)

When PostgreSQL rejects the deduplicated script, :func:`blame_statements` gives the plain
one-mirror-per-table statements, run one by one to name the model object at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from linkgress.model.types import ColumnType
from linkgress.schema.ddl import check_clause, create_index_sql
from linkgress.schema.introspect.domains import mirror_statements, temp_name
from linkgress.schema.introspect.parse import Row, canonical_schema
from linkgress.schema.quoting import quote_ident, quote_literal, quote_qualified
from linkgress.schema.rawsql import check_options, column_options, index_options
from linkgress.schema.snapshot import Column, Index, Schema, Table

TEMP_PREFIX = "__linkgress_norm_"
MAX_COLUMNS = 1000  # PostgreSQL allows 1,600 columns per table

IndexKey = Index


@dataclass(frozen=True)
class Statement:
    """One setup statement and what it is for (named in the error if PostgreSQL rejects it).

    ``options`` are the raw SQL options of the model it carries, as ``(what, text)``: named
    when PostgreSQL refuses the statement for holding a second one.
    """

    sql: str
    what: str
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Existing:
    """What normalisation must know about the database: schemas, enum labels, relations."""

    schemas: frozenset[str] = frozenset()
    enums: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    relations: frozenset[tuple[str, str]] = frozenset()
    domains: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def from_rows(cls, rows: Sequence[Row]) -> Existing:
        """From the rows of :data:`catalog.EXISTING_ENUMS_AND_SEQUENCES`."""
        return cls(
            schemas=frozenset(r["schema"] for r in rows if r["kind"] == "schema"),
            enums={(r["schema"], r["name"]): tuple(r["labels"])
                   for r in rows if r["kind"] == "enum"},
            relations=frozenset((r["schema"], r["name"]) for r in rows
                                if r["kind"] == "relation"),
            domains=frozenset((r["schema"], r["name"]) for r in rows if r["kind"] == "domain"))


@dataclass
class Printed:
    """What PostgreSQL printed for one temporary table."""

    columns: dict[str, Column] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)


@dataclass
class MirrorPlan:
    """The setup statements and where each model detail is mirrored.

    ``columns`` maps ``(type sql, default)`` to ``(temp table, column)``; ``checks`` maps
    ``(table position, check name)`` and ``indexes`` ``(table position, index position)`` to
    ``(temp table, constraint or index name)``.
    """

    statements: list[Statement] = field(default_factory=list)
    temp_tables: list[str] = field(default_factory=list)
    temp_domains: list[str] = field(default_factory=list)
    columns: dict[tuple[str, str | None], tuple[str, str]] = field(default_factory=dict)
    checks: dict[tuple[int, str], tuple[str, str]] = field(default_factory=dict)
    indexes: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)
    generated: dict[tuple[int, str], tuple[str, str]] = field(default_factory=dict)


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def type_statements(target: Schema, existing: Existing) -> list[Statement]:
    """Schemas, enums and sequences the mirror's types and defaults need but the database
    lacks; an enum lacking one of the target's labels is set aside (renamed) and recreated."""
    out: list[Statement] = []
    needed = [e.schema for e in target.enums] + [s.schema for s in target.sequences] \
        + [d.schema for d in target.domains]
    for name in dict.fromkeys(needed):
        if name not in existing.schemas:
            out.append(Statement(f"CREATE SCHEMA {quote_ident(name)}", f"schema {name!r}"))
    for position, enum in enumerate(target.enums):
        labels = existing.enums.get(enum.key)
        if labels is not None and set(enum.values) <= set(labels):
            continue  # the existing type accepts every label the target may use
        what = f"enum {_label(enum.schema, enum.name)!r}"
        if labels is not None:  # lacks a label: set it aside, within the savepoint only
            out.append(Statement(f"ALTER TYPE {quote_qualified(enum.schema, enum.name)} "
                                 f"RENAME TO {quote_ident(f'{TEMP_PREFIX}enum_{position}')}",
                                 what))
        values = ", ".join(quote_literal(v) for v in enum.values)
        out.append(Statement(f"CREATE TYPE {quote_qualified(enum.schema, enum.name)} "
                             f"AS ENUM ({values})", what))
    out += [Statement(sql, "domains") for sql in mirror_statements(target, existing.domains)]
    for seq in target.sequences:
        if seq.key not in existing.relations:
            out.append(Statement(f"CREATE SEQUENCE {quote_qualified(seq.schema, seq.name)}",
                                 f"sequence {_label(seq.schema, seq.name)!r}"))
    return out


@lru_cache(maxsize=4096)
def type_sql(ctype: ColumnType) -> str:
    """``ctype.sql``, computed once per distinct type (a large model repeats a few types)."""
    return ctype.sql


def needs_printing(index: Index) -> bool:
    """True when the index has an expression element, a predicate, an operator class or a
    collation (PostgreSQL says whether those are the defaults)."""
    return (index.where is not None or bool(index.opclasses) or bool(index.collations)
            or any(e.startswith("(") for e in index.columns))


def _add_defaults_tables(target: Schema, plan: MirrorPlan) -> None:
    # Serial columns print as themselves (their default is part of the type).
    pairs = list(dict.fromkeys((type_sql(c.type), c.default) for t in target.tables
                               for c in t.columns if not c.type.serial))
    for chunk, start in enumerate(range(0, len(pairs), MAX_COLUMNS)):
        temp = f"{TEMP_PREFIX}d{chunk}"
        items = []
        for n, (sql, default) in enumerate(pairs[start:start + MAX_COLUMNS]):
            items.append(f"c{n} {sql}" + ("" if default is None else f" DEFAULT {default}"))
            plan.columns[(sql, default)] = (temp, f"c{n}")
        plan.temp_tables.append(temp)
        plan.statements.append(Statement(
            f"CREATE TEMPORARY TABLE {quote_ident(temp)} ({', '.join(items)})",
            "column types and defaults"))


@dataclass
class _Shape:
    """Columns (name -> type) shared by the tables mirrored on one temporary table."""

    temp: str
    columns: dict[str, str] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)  # expression -> temp constraint
    # (expression, type) of a generated column -> the temp column mirroring it
    generated: dict[tuple[str, str], str] = field(default_factory=dict)
    indexes: dict[IndexKey, tuple[str, Index]] = field(default_factory=dict)

    def accepts(self, columns: dict[str, str]) -> bool:
        """True when every column either is new here or has the same type here."""
        new = sum(1 for name in columns if name not in self.columns)
        return (len(self.columns) + new <= MAX_COLUMNS
                and all(self.columns.get(n, t) == t for n, t in columns.items()))


def _index_key(index: Index) -> IndexKey:
    # Everything but the name: equal indexes of tables of one shape share one mirror.
    return replace(index, name="", concurrently=False)


def _shape_for(shapes: list[_Shape], table: Table) -> _Shape:
    columns = {c.name: type_sql(c.type) for c in table.columns}
    shape = next((s for s in shapes if s.accepts(columns)), None)
    if shape is None:
        shape = _Shape(f"{TEMP_PREFIX}s{len(shapes)}")
        shapes.append(shape)
    for name, sql in columns.items():
        shape.columns.setdefault(name, sql)
    return shape


def _group_by_shape(target: Schema, plan: MirrorPlan) -> list[_Shape]:
    shapes: list[_Shape] = []
    for i, table in enumerate(target.tables):
        printable = [(j, ix) for j, ix in enumerate(table.indexes) if needs_printing(ix)]
        generated = [c for c in table.columns if c.generated is not None]
        if not table.checks and not printable and not generated:
            continue
        shape = _shape_for(shapes, table)
        for col in generated:
            key = (str(col.generated), type_sql(col.type))
            name = shape.generated.setdefault(key, f"{TEMP_PREFIX}g{len(shape.generated)}")
            plan.generated[(i, col.name)] = (shape.temp, name)
        for check in table.checks:
            name = shape.checks.setdefault(check.expression, f"ck{len(shape.checks)}")
            plan.checks[(i, check.name)] = (shape.temp, name)
        for j, index in printable:
            name = f"{shape.temp}_{len(shape.indexes)}"
            name, _ = shape.indexes.setdefault(_index_key(index), (name, index))
            plan.indexes[(i, j)] = (shape.temp, name)
    return shapes


def _add_shape_tables(target: Schema, plan: MirrorPlan) -> None:
    for shape in _group_by_shape(target, plan):
        items = [f"{quote_ident(name)} {sql}" for name, sql in shape.columns.items()]
        items.extend(f"{quote_ident(name)} {sql} GENERATED ALWAYS AS ({expression}) STORED"
                     for (expression, sql), name in shape.generated.items())
        items.extend(f"CONSTRAINT {name} CHECK ({expression})"
                     for expression, name in shape.checks.items())
        plan.temp_tables.append(shape.temp)
        plan.statements.append(Statement(
            f"CREATE TEMPORARY TABLE {quote_ident(shape.temp)} ({', '.join(items)})",
            "check constraints"))
        for name, index in shape.indexes.values():
            mirror = replace(index, name=name, concurrently=False)
            plan.statements.append(Statement(create_index_sql("pg_temp", shape.temp, mirror),
                                             "indexes"))


def mirror_plan(target: Schema, existing: Existing) -> MirrorPlan:
    """Everything normalisation creates in its savepoint, in order, and the lookups."""
    plan = MirrorPlan(statements=type_statements(target, existing),
                      temp_domains=[temp_name(i) for i in range(len(target.domains))])
    _add_defaults_tables(target, plan)
    _add_shape_tables(target, plan)
    return plan


def blame_statements(target: Schema, existing: Existing) -> list[Statement]:
    """One statement per model object, each naming it: run one by one on the error path to
    find what PostgreSQL rejects. Per table: its columns' types, then each default, each check
    and each index on their own."""
    out = type_statements(target, existing)
    for i, table in enumerate(target.tables):
        out.extend(_blame_table(f"{TEMP_PREFIX}b{i}", table))
    return out


def _blame_table(temp: str, table: Table) -> list[Statement]:
    label = _label(table.schema, table.name)
    on = f"on table {label!r}"
    plain = [f"{quote_ident(c.name)} {type_sql(c.type)}" for c in table.columns]
    generated = [c for c in table.columns if c.generated is not None]
    out = [Statement(f"CREATE TEMPORARY TABLE {quote_ident(temp)} ({', '.join(plain)})",
                     f"column types of table {label!r}")]
    alter = f"ALTER TABLE {quote_ident(temp)}"
    out.extend(Statement(f"{alter} ALTER COLUMN {quote_ident(c.name)} SET DEFAULT {c.default}",
                         f"default of column {label + '.' + c.name!r}",
                         tuple(column_options((c,))))
               for c in table.columns if c.default is not None and c.identity is None)
    out.extend(Statement(f"{alter} ADD COLUMN {quote_ident(TEMP_PREFIX + c.name)} "
                         f"{type_sql(c.type)} GENERATED ALWAYS AS ({c.generated}) STORED",
                         f"generated expression of column {label + '.' + c.name!r}",
                         (("generated", str(c.generated)),))
               for c in generated)
    out.extend(Statement(f"{alter} ADD {check_clause(c)}", f"check {c.name!r} {on}",
                         tuple(check_options((c,))))
               for c in table.checks)
    for j, index in enumerate(table.indexes):
        mirror = replace(index, name=f"{temp}_{j}", concurrently=False)
        out.append(Statement(create_index_sql("pg_temp", temp, mirror),
                             f"index {index.name!r} {on}", tuple(index_options(index))))
    return out


def _column(column: Column, printed: tuple[ColumnType, str | None] | None) -> Column:
    comment = column.comment or None  # COMMENT ... IS '' removes the comment
    ctype, default = printed if printed is not None else (column.type, column.default)
    if column.type.serial:
        ctype, default = column.type, None
    if column.identity is not None:
        default = None
    if (ctype, default, comment) == (column.type, column.default, column.comment):
        return column
    # Built directly: dataclasses.replace() is several times slower, and this runs per column.
    return Column(name=column.name, type=ctype, nullable=column.nullable, default=default,
                  identity=column.identity, comment=comment, renamed_from=column.renamed_from,
                  generated=column.generated, identity_start=column.identity_start,
                  identity_increment=column.identity_increment, using=column.using)


def _printed_columns(plan: MirrorPlan, printed: dict[str, Printed]
                     ) -> dict[tuple[str, str | None], tuple[ColumnType, str | None]]:
    out = {}
    for pair, (temp, name) in plan.columns.items():
        got = printed.get(temp, Printed()).columns.get(name)
        if got is not None:
            out[pair] = (got.type, got.default)
    return out


def _index(position: tuple[int, int], index: Index, plan: MirrorPlan,
           printed: dict[str, Printed]) -> Index:
    slot = plan.indexes.get(position)
    got = printed.get(slot[0], Printed()).indexes.get(slot[1]) if slot else None
    if got is None:
        return index
    return replace(index, columns=got.columns, where=got.where, opclasses=got.opclasses,
                   collations=got.collations)


def _generated(position: int, column: Column, plan: MirrorPlan,
               printed: dict[str, Printed]) -> Column:
    slot = plan.generated.get((position, column.name))
    got = printed.get(slot[0], Printed()).columns.get(slot[1]) if slot else None
    return column if got is None else replace(column, generated=got.generated)


def apply_printed(target: Schema, plan: MirrorPlan, printed: dict[str, Printed]) -> Schema:
    """``target`` with types, defaults, check expressions and index elements/predicates
    replaced by PostgreSQL's printing of their mirrors, in canonical order. An empty comment
    becomes None, as PostgreSQL stores it."""
    by_pair = _printed_columns(plan, printed)
    tables = []
    for i, table in enumerate(target.tables):
        checks = []
        for check in table.checks:
            temp, name = plan.checks[(i, check.name)]
            expression = printed.get(temp, Printed()).checks.get(name, check.expression)
            checks.append(replace(check, expression=expression))
        tables.append(replace(
            table, comment=table.comment or None,
            columns=tuple(_generated(i, _column(c, by_pair.get((type_sql(c.type), c.default))),
                                     plan, printed)
                          for c in table.columns),
            checks=tuple(checks),
            indexes=tuple(_index((i, j), ix, plan, printed)
                          for j, ix in enumerate(table.indexes))))
    return canonical_schema(replace(target, tables=tuple(tables)))
