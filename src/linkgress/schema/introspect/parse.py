"""Catalog rows -> canonical snapshot values. Pure: rows in (asyncpg records or plain dicts),
frozen values out, so every rule here is unit-tested on recorded rows.

The rows are those of the queries in :mod:`.catalog`. Both sides of a comparison go through
these functions: :func:`~linkgress.schema.introspect.introspect` for the database, and
:func:`~linkgress.schema.introspect.normalize_target` for the model's temporary mirror.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Protocol

from linkgress.model.types import ColumnType, split_modifier
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    Domain,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Table,
    TablePartition,
    UniqueConstraint,
    canonical_index,
)
from linkgress.schema.snapshot import Sequence as SequenceDef

# linkgress's own bookkeeping tables: never part of a schema it compares.
MANAGED_TABLES = frozenset({"__linkgress_schema_state", "__linkgress_migrations"})

FK_ACTION_CODES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
                   "d": "SET DEFAULT"}
FK_MATCH_CODES = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
IDENTITY_CODES = {"a": "always", "d": "by default"}

SERIAL_TYPES = frozenset({"smallint", "integer", "bigint"})

# (min, max) of the types a sequence may have.
SEQUENCE_RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}

# format_type() output: a head, optional modifiers, an optional tail ("timestamp(3) with time
# zone"), array brackets stripped beforehand.
_MODIFIER = re.compile(r"\(([^()]*)\)$")
_TYPE_TEXT = re.compile(r"^(?P<head>[^(]*?)\s*\((?P<params>[0-9, ]+)\)(?P<tail>.*)$")


class Row(Protocol):
    """A catalog row: an ``asyncpg.Record`` or a plain dict."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True)
class CatalogRows:
    """The rows of every introspection query (see :mod:`.catalog`)."""

    schemas: Sequence[Row] = ()
    enums: Sequence[Row] = ()
    sequences: Sequence[Row] = ()
    tables: Sequence[Row] = ()
    columns: Sequence[Row] = ()
    constraints: Sequence[Row] = ()
    indexes: Sequence[Row] = ()
    views: Sequence[Row] = ()
    others: Sequence[Row] = ()
    domains: Sequence[Row] = ()


def parse_type_text(text: str) -> ColumnType:
    """A built-in type as ``format_type()`` prints it -> :class:`ColumnType` (no array dims).

    ``character varying(50)`` -> ``("character varying", (50,))``;
    ``timestamp(3) with time zone`` -> ``("timestamp with time zone", (3,))``.
    """
    while text.endswith("[]"):
        text = text[:-2]
    match = _TYPE_TEXT.match(text)
    if match is None:
        return ColumnType(" ".join(text.split()))
    name = " ".join(f"{match['head']} {match['tail']}".split())
    params = tuple(int(p) for p in match["params"].split(",") if p.strip())
    return ColumnType(name, params)


def parse_column_type(row: Row) -> ColumnType:
    """A column's :class:`ColumnType` from a ``COLUMNS`` row.

    Types outside ``pg_catalog`` (enums, domains) are named by schema and name; an array's
    dimensions come from ``attndims`` (``format_type`` prints ``[]`` once, whatever they are).
    """
    dims = max(int(row["dims"] or 0), 1) if row["is_array"] else 0
    return _column_type(row["type"], dims, row["type_schema"], row["type_name"],
                        row["type_kind"])


@lru_cache(maxsize=4096)
def _column_type(text: str, dims: int, type_schema: str, type_name: str,
                 type_kind: str) -> ColumnType:
    # Cached: a large schema repeats a few dozen types thousands of times (ColumnType is frozen).
    if type_schema != "pg_catalog":
        # Extension types and domains keep their printed modifier: geometry(Point,4326).
        match = _MODIFIER.search(text.removesuffix("[]"))
        params, modifier = split_modifier(match[1]) if match else ((), None)
        return ColumnType(type_name, params, dims, type_schema, type_kind == "e",
                          modifier=modifier)
    base = parse_type_text(text)
    return ColumnType(base.name, base.params, dims)


def parse_column(row: Row) -> Column:
    """A :class:`Column` from a ``COLUMNS`` row. Identity, serial and generated columns have
    no default (the model side agrees: an identity column's ``default`` is None, a serial
    column's ``nextval`` default is part of its type, and a generated column's expression is
    its ``generated``)."""
    identity = IDENTITY_CODES.get(row["identity"] or "")
    generated = row["default"] if row["generated"] else None
    default = None if identity is not None or generated is not None else row["default"]
    ctype = parse_column_type(row)
    if _is_serial(row, ctype):
        ctype, default = replace(ctype, serial=True), None
    start, increment = identity_options(row) if identity is not None else (None, None)
    return Column(name=row["name"], type=ctype, nullable=bool(row["nullable"]),
                  default=default, identity=identity, comment=row["comment"],
                  generated=generated, identity_start=start, identity_increment=increment)


def identity_options(row: Row) -> tuple[int | None, int | None]:
    """An identity's ``(start, increment)``, None where PostgreSQL's default (1, and a start
    of 1 going up or -1 going down), as the model states them."""
    try:
        options = row["identity_options"]
    except KeyError:  # rows recorded before this column existed
        return None, None
    if not options:
        return None, None
    start, increment = int(options[0]), int(options[1])
    return (None if start == (1 if increment > 0 else -1) else start,
            None if increment == 1 else increment)


def _is_serial(row: Row, ctype: ColumnType) -> bool:
    # An integer column whose default is nextval() of the sequence it owns (see catalog).
    try:
        owned = bool(row["serial"])
    except KeyError:
        return False
    return owned and ctype.name in SERIAL_TYPES and not ctype.dims and ctype.schema is None


def parse_domain(row: Row) -> Domain:
    """A :class:`Domain` from a :data:`DOMAINS` row. Several checks compare as one ``AND``."""
    checks = list(row["checks"] or ())
    check = checks[0] if len(checks) == 1 else (
        " AND ".join(f"({c})" for c in checks) if checks else None)
    return Domain(schema=row["schema"], name=row["name"], base_type=parse_column_type(row),
                  not_null=bool(row["not_null"]), default=row["default"], check=check,
                  check_names=tuple(row["check_names"] or ()))


def parse_enum(row: Row) -> EnumType:
    """An :class:`EnumType` from an ``ENUMS`` row (labels in their sort order)."""
    return EnumType(schema=row["schema"], name=row["name"], values=tuple(row["labels"]))


def normalize_sequence(seq: SequenceDef) -> SequenceDef:
    """Bounds equal to the type's implicit ``NO MINVALUE`` / ``NO MAXVALUE`` become None, so
    ``min_value=1`` on an ascending sequence and "no minimum" compare equal."""
    low, high = SEQUENCE_RANGES.get(seq.data_type, SEQUENCE_RANGES["bigint"])
    implicit_min, implicit_max = (1, high) if seq.increment > 0 else (low, -1)
    return replace(seq,
                   min_value=None if seq.min_value == implicit_min else seq.min_value,
                   max_value=None if seq.max_value == implicit_max else seq.max_value)


def parse_sequence(row: Row) -> SequenceDef:
    """A :class:`~linkgress.schema.snapshot.Sequence` from a ``SEQUENCES`` row."""
    return normalize_sequence(SequenceDef(
        schema=row["schema"], name=row["name"], data_type=row["data_type"],
        start=int(row["start"]), increment=int(row["increment"]),
        min_value=int(row["min_value"]), max_value=int(row["max_value"]),
        cache=int(row["cache"]), cycle=bool(row["cycle"])))


def index_element(name: str | None, expression: str | None) -> str:
    """An index key as :class:`Index` holds it: a column name, or an expression in
    parentheses. PostgreSQL already parenthesises non-function expressions."""
    if expression is None:
        if name is None:
            raise ValueError("an index key is neither a column nor an expression")
        return name
    return expression if expression.startswith("(") else f"({expression})"


def parse_index(row: Row) -> Index:
    """An :class:`Index` from an ``INDEXES`` row, its options in canonical form."""
    elements = tuple(index_element(n, e) for n, e in zip(row["columns"], row["expressions"],
                                                           strict=True))
    return canonical_index(Index(
        name=row["name"], columns=elements, unique=bool(row["is_unique"]),
        method=row["method"], where=row["where"],
        nulls_not_distinct=bool(row["nulls_not_distinct"]), **_index_options(row)))


def _index_options(row: Row) -> dict[str, Any]:
    # Rows recorded before these columns existed read as the defaults.
    try:
        flags = [int(f) for f in row["options"]]
        return {"include": tuple(row["include"]), "opclasses": tuple(row["opclasses"]),
                "collations": tuple(row["collations"]),
                "descending": tuple(bool(f & 1) for f in flags),
                "nulls": tuple("first" if f & 2 else "last" for f in flags)}
    except KeyError:
        return {}


Constraint = PrimaryKey | UniqueConstraint | CheckConstraint | ForeignKey


def parse_constraint(row: Row) -> Constraint:
    """A primary key, unique, check or foreign key from a ``CONSTRAINTS`` row."""
    kind, name, columns = row["kind"], row["name"], tuple(row["columns"])
    if kind == "p":
        return PrimaryKey(name=name, columns=columns)
    if kind == "u":
        timing = _fk_timing(row)
        return UniqueConstraint(name=name, columns=columns,
                                nulls_not_distinct=bool(row["nulls_not_distinct"]),
                                deferrable=timing.get("deferrable", False),
                                initially_deferred=timing.get("initially_deferred", False))
    if kind == "c":
        return CheckConstraint(name=name, expression=row["expression"])
    if kind == "f":
        return ForeignKey(name=name, columns=columns, ref_schema=row["ref_schema"],
                          ref_table=row["ref_table"], ref_columns=tuple(row["ref_columns"]),
                          on_delete=FK_ACTION_CODES[row["on_delete"]],
                          on_update=FK_ACTION_CODES[row["on_update"]], **_fk_timing(row))
    raise ValueError(f"unexpected constraint kind {kind!r} for {name!r}")


def _fk_timing(row: Row) -> dict[str, Any]:
    # Rows recorded before these columns existed read as the defaults.
    try:
        return {"deferrable": bool(row["deferrable"]),
                "initially_deferred": bool(row["initially_deferred"]),
                "match": FK_MATCH_CODES.get(row["match"], "SIMPLE")}
    except KeyError:
        return {}


def is_excluded(schema: str, name: str, patterns: Iterable[str]) -> bool:
    """True when ``name`` or ``schema.name`` matches one of the fnmatch ``patterns``."""
    qualified = f"{schema}.{name}"
    return any(fnmatchcase(name, p) or fnmatchcase(qualified, p) for p in patterns)


def parse_partitioning(row: Row) -> dict[str, Any]:
    """``partition_by`` and ``partitions`` of a ``TABLES`` row (none for a plain table, or a
    row recorded before they were read)."""
    try:
        key, partitions = row["partition_by"], row["partitions"]
    except KeyError:
        return {}
    if key is None:
        return {}
    return {"partition_by": key, "partitions": tuple(
        TablePartition(name=name, bound=bound)
        for name, bound in json.loads(partitions or "[]"))}


def _by_name(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(sorted(items, key=lambda item: item.name))


def canonical_table(table: Table) -> Table:
    """``table`` with its constraints and indexes sorted by name (columns keep their order)."""
    parts = (table.uniques, table.checks, table.indexes, table.foreign_keys)
    ordered = tuple(_by_name(p) for p in parts)
    if ordered == parts:
        return table
    uniques, checks, indexes, foreign_keys = ordered
    return replace(table, uniques=uniques, checks=checks, indexes=indexes,
                   foreign_keys=foreign_keys)


def canonical_schema(schema: Schema) -> Schema:
    """``schema`` in the canonical order both sides share: everything sorted by name, except
    columns, which keep their table order."""
    return replace(
        schema,
        schemas=tuple(sorted(schema.schemas)),
        enums=tuple(sorted(schema.enums, key=lambda e: e.key)),
        sequences=tuple(sorted((normalize_sequence(s) for s in schema.sequences),
                               key=lambda s: s.key)),
        tables=tuple(sorted((canonical_table(t) for t in schema.tables), key=lambda t: t.key)),
        domains=tuple(sorted(schema.domains, key=lambda d: d.key)))


@dataclass
class _TableParts:
    columns: list[Column] = field(default_factory=list)
    primary_key: PrimaryKey | None = None
    uniques: list[UniqueConstraint] = field(default_factory=list)
    checks: list[CheckConstraint] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)


def _add_constraint(parts: _TableParts, constraint: Constraint) -> None:
    if isinstance(constraint, PrimaryKey):
        parts.primary_key = constraint
    elif isinstance(constraint, UniqueConstraint):
        parts.uniques.append(constraint)
    elif isinstance(constraint, CheckConstraint):
        parts.checks.append(constraint)
    else:
        parts.foreign_keys.append(constraint)


def collect_table_parts(rows: CatalogRows, keep: dict[Any, str]
                        ) -> tuple[dict[Any, _TableParts], list[str]]:
    """Group column, constraint and index rows by table oid (only the oids in ``keep``, which
    maps them to the table's name for messages); also return notes about what the snapshot
    cannot represent."""
    parts: dict[Any, _TableParts] = defaultdict(_TableParts)
    notes: list[str] = []
    for row in rows.columns:
        if row["table_oid"] in keep:
            parts[row["table_oid"]].columns.append(parse_column(row))
    for row in rows.constraints:
        if row["table_oid"] in keep:
            _add_constraint(parts[row["table_oid"]], parse_constraint(row))
    for row in rows.indexes:
        if row["table_oid"] in keep:
            parts[row["table_oid"]].indexes.append(parse_index(row))
            if not row["is_valid"]:
                notes.append(f"index {row['name']!r} on {keep[row['table_oid']]} is INVALID "
                             "(an interrupted CREATE INDEX "
                             "CONCURRENTLY?); drop it and let linkgress create it again")
    return parts, notes


def build_schema(rows: CatalogRows, *, exclude: Sequence[str] = ()) -> Schema:
    """Assemble the canonical :class:`Schema` from the catalog rows.

    Leaves out linkgress's own tables and the tables, enums and sequences matching
    ``exclude`` (fnmatch patterns on ``name`` or ``schema.name``).
    """
    patterns = tuple(exclude)
    tables = [r for r in rows.tables
              if r["name"] not in MANAGED_TABLES and not is_excluded(r["schema"], r["name"],
                                                                     patterns)]
    parts, notes = collect_table_parts(
        rows, {r["oid"]: r["name"] if r["schema"] == "public" else f"{r['schema']}.{r['name']}"
               for r in tables})
    built = []
    for r in sorted(tables, key=lambda r: (r["schema"], r["name"])):
        p = parts[r["oid"]]
        built.append(Table(schema=r["schema"], name=r["name"], columns=tuple(p.columns),
                           primary_key=p.primary_key, uniques=_by_name(p.uniques),
                           checks=_by_name(p.checks), indexes=_by_name(p.indexes),
                           foreign_keys=_by_name(p.foreign_keys), comment=r["comment"],
                           **parse_partitioning(r)))
    enums = [parse_enum(r) for r in rows.enums
             if not is_excluded(r["schema"], r["name"], patterns)]
    sequences = [parse_sequence(r) for r in rows.sequences
                 if not is_excluded(r["schema"], r["name"], patterns)]
    domains = [parse_domain(r) for r in rows.domains
               if not is_excluded(r["schema"], r["name"], patterns)]
    # Built in canonical order (see canonical_schema) directly: this runs on every migrate().
    return Schema(
        schemas=tuple(sorted(r["name"] for r in rows.schemas)),
        enums=tuple(sorted(enums, key=lambda e: e.key)),
        sequences=tuple(sorted(sequences, key=lambda s: s.key)),
        tables=tuple(built), notes=tuple(notes),
        domains=tuple(sorted(domains, key=lambda d: d.key)))
