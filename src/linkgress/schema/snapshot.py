"""The canonical schema: one set of frozen values for both sides of every comparison.

The model is converted *to* these values (:func:`linkgress.schema.from_model.schema_from_model`);
introspection produces them from the catalogs. Normalisation happens while they are built, never
in the differ, so two equal databases give equal values.

Collections are tuples (hashable, ordered as declared); lookups by name go through the helper
methods, which build small dicts on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from linkgress.model.types import ColumnType

FK_ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")
FK_MATCHES = ("SIMPLE", "FULL")


@dataclass(frozen=True, kw_only=True)
class Column:
    """A table column. ``default`` is a SQL expression; ``identity`` is ``"always"``,
    ``"by default"`` or None, with its sequence's ``identity_start`` / ``identity_increment``
    (None: PostgreSQL's default, 1); ``generated`` is the expression of a ``GENERATED ALWAYS AS
    (...) STORED`` column."""

    name: str
    type: ColumnType
    nullable: bool = True
    default: str | None = None
    identity: str | None = None
    comment: str | None = None
    generated: str | None = None
    identity_start: int | None = None
    identity_increment: int | None = None
    # The model's conversion for a type change (``column(using=...)``): an expression over the
    # old column. Not part of equality: it says how to get there, not what is there.
    using: str | None = field(default=None, compare=False)
    # The model's rename hint (``column(renamed_from=...)``): the differ renames a column of
    # that name instead of dropping it. Not part of equality: it describes history, not shape.
    renamed_from: str | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class PrimaryKey:
    """A primary key constraint."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class UniqueConstraint:
    """A UNIQUE constraint (as opposed to a unique index)."""

    name: str
    columns: tuple[str, ...]
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    # The model did not name it (``column(unique=True)``): an equal constraint that exists
    # under another name is adopted instead of added again. Not part of equality.
    generated: bool = field(default=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class CheckConstraint:
    """A CHECK constraint with its boolean SQL expression."""

    name: str
    expression: str


@dataclass(frozen=True, kw_only=True)
class Index:
    """An index. ``columns`` holds column names; an element written in parentheses, e.g.
    ``"(lower(email))"``, is an expression and is rendered as written."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    method: str = "btree"
    where: str | None = None
    nulls_not_distinct: bool = False
    # Non-key columns (``INCLUDE (...)``), by name.
    include: tuple[str, ...] = ()
    # Per key element, each either ``()`` (every element has the default) or one entry per
    # element of ``columns``: the operator class (None: the type's default), the collation
    # (None: the column's), DESC, and NULLS FIRST/LAST ("first"/"last" only where it is not
    # the direction's default). :func:`index_options` keeps them in that canonical form.
    opclasses: tuple[str | None, ...] = ()
    collations: tuple[str | None, ...] = ()
    descending: tuple[bool, ...] = ()
    nulls: tuple[str | None, ...] = ()
    # How to build it, not what it is: the catalog cannot tell, so it never makes two indexes
    # differ (else a concurrently-built index would be dropped and rebuilt on every migrate).
    concurrently: bool = field(default=False, compare=False)
    # The model did not name it (``column(index=True)``): see UniqueConstraint.generated.
    generated: bool = field(default=False, compare=False)


def canonical_index(index: Index) -> Index:
    """``index`` with its per-element options in canonical form: a tuple whose every entry is
    the default becomes ``()``, and NULLS FIRST/LAST is kept only where it is not the default
    of its direction (ASC NULLS LAST, DESC NULLS FIRST)."""
    n = len(index.columns)
    descending = index.descending or (False,) * n
    nulls = tuple(None if flag is None or (flag == "first") == desc else flag
                  for flag, desc in zip(index.nulls or (None,) * n, descending, strict=True))
    canonical = (_defaults_to_empty(index.opclasses), _defaults_to_empty(index.collations),
                 index.descending if any(index.descending) else (),
                 _defaults_to_empty(nulls))
    if canonical == (index.opclasses, index.collations, index.descending, index.nulls):
        return index
    return replace(index, opclasses=canonical[0], collations=canonical[1],
                   descending=canonical[2], nulls=canonical[3])


def _defaults_to_empty(items: tuple[str | None, ...]) -> tuple[str | None, ...]:
    return items if any(item is not None for item in items) else ()


@dataclass(frozen=True, kw_only=True)
class ForeignKey:
    """A foreign key from ``columns`` to ``ref_schema.ref_table(ref_columns)``. ``match`` is
    ``"SIMPLE"`` or ``"FULL"``; ``deferrable`` / ``initially_deferred`` as in PostgreSQL."""

    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    deferrable: bool = False
    initially_deferred: bool = False
    match: str = "SIMPLE"


@dataclass(frozen=True, kw_only=True)
class TablePartition:
    """A partition of a partitioned table, in the same schema. ``bound`` is the partition
    bound as PostgreSQL prints it: ``FOR VALUES FROM (...) TO (...)``, ``FOR VALUES IN
    (...)``, ``FOR VALUES WITH (modulus m, remainder r)`` or ``DEFAULT``."""

    name: str
    bound: str


@dataclass(frozen=True, kw_only=True)
class Table:
    """A table with its columns and the constraints and indexes that belong to it."""

    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: PrimaryKey | None = None
    uniques: tuple[UniqueConstraint, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    comment: str | None = None
    # A partitioned table: its key as pg_get_partkeydef prints it (``RANGE (paid_at)``), and
    # its partitions sorted by name.
    partition_by: str | None = None
    partitions: tuple[TablePartition, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        """``(schema, name)``."""
        return (self.schema, self.name)

    @property
    def qualified_name(self) -> str:
        """``name`` for tables in ``public``, else ``schema.name`` (for messages)."""
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        """The column called ``name``, or None."""
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, kw_only=True)
class EnumType:
    """A PostgreSQL ENUM type with its labels in order."""

    schema: str
    name: str
    values: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        """``(schema, name)``."""
        return (self.schema, self.name)


@dataclass(frozen=True, kw_only=True)
class Domain:
    """A ``CREATE DOMAIN``: a base type with an optional default, NOT NULL and CHECK (an
    expression over ``VALUE``). ``check_names`` are the database's names of its check
    constraints (to drop them on a change); they take no part in comparisons."""

    schema: str
    name: str
    base_type: ColumnType
    not_null: bool = False
    default: str | None = None
    check: str | None = None
    check_names: tuple[str, ...] = field(default=(), compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """``(schema, name)``."""
        return (self.schema, self.name)


@dataclass(frozen=True, kw_only=True)
class Sequence:
    """A standalone sequence (identity columns' sequences are part of their column)."""

    schema: str
    name: str
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    min_value: int | None = None
    max_value: int | None = None
    cache: int = 1
    cycle: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """``(schema, name)``."""
        return (self.schema, self.name)


@dataclass(frozen=True, kw_only=True)
class View:
    """A view (or, ``materialized``, a materialized view) and its query.

    ``definition`` is the query as PostgreSQL prints it (``pg_get_viewdef``) on the database
    side, and the model's SQL — re-printed by PostgreSQL when it can be — on the model side.
    ``depends_on`` names (``schema.name``) the model's views this one must be created after;
    ``columns`` are its output columns as ``(name, type)`` when known. Neither takes part in
    comparisons: two views are equal when their kind and printed query are.
    """

    schema: str
    name: str
    definition: str
    materialized: bool = False
    depends_on: tuple[str, ...] = field(default=(), compare=False)
    columns: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """``(schema, name)``."""
        return (self.schema, self.name)

    @property
    def qualified_name(self) -> str:
        """``schema.name`` (for messages and ``depends_on``)."""
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True, kw_only=True)
class Schema:
    """A whole database schema as linkgress sees it."""

    schemas: tuple[str, ...] = ()
    enums: tuple[EnumType, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)
    domains: tuple[Domain, ...] = ()

    def table(self, schema: str, name: str) -> Table | None:
        """The table ``schema.name``, or None."""
        return next((t for t in self.tables if t.schema == schema and t.name == name), None)

    def enum(self, schema: str, name: str) -> EnumType | None:
        """The enum ``schema.name``, or None."""
        return next((e for e in self.enums if e.schema == schema and e.name == name), None)

    def view(self, schema: str, name: str) -> View | None:
        """The view ``schema.name``, or None."""
        return next((v for v in self.views if v.schema == schema and v.name == name), None)

    def is_empty(self) -> bool:
        """True when the schema holds no objects at all."""
        return not (self.schemas or self.enums or self.sequences or self.tables or self.views
                    or self.domains)


# Leaves of the JSON form, returned as they are.
_SCALARS = frozenset({str, int, float, bool, type(None)})

# Field names per snapshot class, computed once (``dataclasses.fields()`` on every value made
# encoding a 500-table snapshot take a quarter of a second).
_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    from dataclasses import fields

    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def to_json(value: Any) -> Any:
    """Convert a snapshot value (or a tuple of them) to JSON-ready data."""
    from dataclasses import is_dataclass

    cls = type(value)
    if cls in _SCALARS:
        return value
    if isinstance(value, tuple | list):
        return [v if type(v) in _SCALARS else to_json(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        data = {}
        for name in _field_names(cls):
            item = getattr(value, name)
            data[name] = item if type(item) in _SCALARS else to_json(item)
        data["__kind__"] = cls.__name__
        return data
    return value


_KINDS: dict[str, type[Any]] = {}


def from_json(data: Any) -> Any:
    """Rebuild snapshot values written by :func:`to_json`."""
    if not _KINDS:
        for cls in (Column, PrimaryKey, UniqueConstraint, CheckConstraint, Index, ForeignKey,
                    Table, EnumType, Sequence, View, Schema, ColumnType, Domain,
                    TablePartition):
            _KINDS[cls.__name__] = cls
    if isinstance(data, list):
        return tuple(v if type(v) in _SCALARS else from_json(v) for v in data)
    if isinstance(data, dict) and "__kind__" in data:
        kind = _KINDS[data["__kind__"]]
        return kind(**{k: v if type(v) in _SCALARS else from_json(v)
                       for k, v in data.items() if k != "__kind__"})
    return data


def _tuples(items: list[Any]) -> tuple[Any, ...]:
    return tuple(_tuples(v) if type(v) is list else v for v in items)


def _decode_object(data: dict[str, Any]) -> Any:
    kind = data.pop("__kind__", None)
    if kind is None:
        return data
    for key, value in data.items():
        if type(value) is list:
            data[key] = _tuples(value)
    return _KINDS[kind](**data)


def from_json_text(text: str) -> Any:
    """:func:`from_json` of the JSON text of :func:`to_json`'s data, decoded in one pass (the
    values are built as the JSON decoder meets them: about twice as fast as ``from_json(
    json.loads(text))``)."""
    import json

    from_json(None)  # fills _KINDS
    value = json.loads(text, object_hook=_decode_object)
    return _tuples(value) if type(value) is list else value
