"""The seed's fluent configuration style: ``setup_model(self, model: DbModelConfig)``.

The builders here only record settings; :mod:`linkgress.model.build` reads them, lets them
override what the annotations say, and validates the result.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Sequence as Sequence_
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from linkgress.errors import ModelError
from linkgress.model.entity import MISSING
from linkgress.model.types import ColumnType, pg_type
from linkgress.schema.snapshot import Domain, Sequence, View

E = TypeVar("E")
Member = str | Callable[[Any], Any]


class _MemberRecorder:
    """Passed to a member-selecting lambda; records which attribute the lambda reads."""

    def __getattr__(self, name: str) -> str:
        return name


def member_name(member: Member, *, entity: str) -> str:
    """Resolve ``"email"`` or ``lambda u: u.email`` to ``"email"``."""
    if isinstance(member, str):
        return member
    if callable(member):
        result = member(_MemberRecorder())
        if isinstance(result, str):
            return result
    raise ModelError(f"expected an attribute name or a lambda selecting one, got {member!r}",
                     entity=entity)


@dataclass
class PropertySettings:
    """Recorded settings of one property (None = not configured fluently)."""

    type: ColumnType | None = None
    nullable: bool | None = None
    default: Any = MISSING
    default_sql: str | None = None
    column_name: str | None = None
    unique: bool | None = None
    comment: str | None = None
    identity: str | None = None
    renamed_from: str | None = None


@dataclass
class IndexSettings:
    """A ``has_index`` call."""

    name: str
    members: tuple[str, ...]
    unique: bool = False
    method: str | None = None
    where: str | None = None
    nulls_not_distinct: bool = False
    concurrently: bool = False
    include: tuple[str, ...] = ()
    # Per-element options as given (see linkgress.model.index_options for their forms).
    opclasses: str | Mapping[str, str] | None = None
    collations: str | Mapping[str, str] | None = None
    descending: bool | tuple[str, ...] = ()
    nulls: str | Mapping[str, str] | None = None


@dataclass
class NavigationSettings:
    """A ``has_one`` / ``has_many`` call and its chained settings."""

    name: str
    kind: str
    target: type[Any]
    foreign_key: tuple[str, ...] = ()
    principal_key: tuple[str, ...] = ()
    on_delete: str | None = None
    on_update: str | None = None
    required: bool | None = None
    constraint_name: str | None = None
    create_constraint: bool = True


@dataclass
class EntitySettings:
    """Everything recorded for one entity."""

    table: str | None = None
    schema: str | None = None
    comment: str | None = None
    key: tuple[str, ...] | None = None
    key_name: str | None = None
    keyless: bool = False
    properties: dict[str, PropertySettings] = field(default_factory=dict)
    indexes: list[IndexSettings] = field(default_factory=list)
    checks: list[tuple[str, str]] = field(default_factory=list)
    uniques: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    # has_unique's options by constraint name (only those given).
    unique_options: dict[str, dict[str, bool]] = field(default_factory=dict)
    # partition_by(strategy, *members) and has_partition(name, for_values, default) calls.
    partition_by: tuple[str, tuple[str, ...]] | None = None
    partitions: list[tuple[str, str | None, bool]] = field(default_factory=list)
    navigations: list[NavigationSettings] = field(default_factory=list)
    ignored: set[str] = field(default_factory=set)
    concurrency_token: str | None = None  # has_concurrency_token(member)


class PropertyBuilder(Generic[E]):
    """Returned by ``EntityBuilder.property(...)``; every method returns ``self`` for chaining."""

    def __init__(self, settings: PropertySettings) -> None:
        self._s = settings

    def has_type(self, column_type: ColumnType) -> PropertyBuilder[E]:
        """Set the column type (``varchar(255)``)."""
        self._s.type = column_type
        return self

    def is_required(self, required: bool = True) -> PropertyBuilder[E]:
        """NOT NULL (or nullable with ``required=False``)."""
        self._s.nullable = not required
        return self

    def is_optional(self) -> PropertyBuilder[E]:
        """Nullable."""
        self._s.nullable = True
        return self

    def has_default(self, value: Any) -> PropertyBuilder[E]:
        """A default given as a Python value (rendered as a SQL literal)."""
        self._s.default = value
        self._s.default_sql = None
        return self

    def has_default_sql(self, expression: str) -> PropertyBuilder[E]:
        """A default given as a SQL expression (``now()``)."""
        self._s.default_sql = expression
        self._s.default = MISSING
        return self

    def has_column_name(self, name: str) -> PropertyBuilder[E]:
        """The column's name in the table."""
        self._s.column_name = name
        return self

    def is_unique(self, unique: bool = True) -> PropertyBuilder[E]:
        """A single-column UNIQUE constraint."""
        self._s.unique = unique
        return self

    def has_comment(self, comment: str) -> PropertyBuilder[E]:
        """A column comment."""
        self._s.comment = comment
        return self

    def is_identity(self, mode: str = "by default") -> PropertyBuilder[E]:
        """An identity column (``"by default"`` or ``"always"``)."""
        self._s.identity = mode
        return self

    def was_renamed_from(self, old_name: str) -> PropertyBuilder[E]:
        """The column's previous name, so a migration renames it instead of drop + add."""
        self._s.renamed_from = old_name
        return self


class NavigationBuilder(Generic[E]):
    """Returned by ``has_one`` / ``has_many``; configures keys and foreign-key actions."""

    def __init__(self, settings: NavigationSettings, entity: str) -> None:
        self._s = settings
        self._entity = entity

    def with_foreign_key(self, *members: Member) -> NavigationBuilder[E]:
        """The foreign-key attribute(s): on this entity for has_one, on the target for has_many."""
        self._s.foreign_key = tuple(member_name(m, entity=self._entity) for m in members)
        return self

    def with_principal_key(self, *members: Member) -> NavigationBuilder[E]:
        """The referenced key attribute(s) (default: the principal's primary key)."""
        self._s.principal_key = tuple(member_name(m, entity=self._entity) for m in members)
        return self

    def on_delete(self, action: str) -> NavigationBuilder[E]:
        """ON DELETE action: ``"cascade"``, ``"set null"``, ``"restrict"``, ``"no action"``."""
        self._s.on_delete = action
        return self

    def on_update(self, action: str) -> NavigationBuilder[E]:
        """ON UPDATE action."""
        self._s.on_update = action
        return self

    def is_required(self, required: bool = True) -> NavigationBuilder[E]:
        """A required reference joins with INNER JOIN; an optional one with LEFT JOIN."""
        self._s.required = required
        return self

    def has_constraint_name(self, name: str) -> NavigationBuilder[E]:
        """The foreign-key constraint's name."""
        self._s.constraint_name = name
        return self

    def without_constraint(self) -> NavigationBuilder[E]:
        """A navigation for queries only: no FOREIGN KEY constraint in the database."""
        self._s.create_constraint = False
        return self


class EntityBuilder(Generic[E]):
    """Returned by ``model.entity(Cls)``; every method returns a builder for chaining."""

    def __init__(self, entity: type[E], settings: EntitySettings) -> None:
        self._entity = entity
        self._s = settings

    @property
    def _name(self) -> str:
        return self._entity.__name__

    def to_table(self, name: str, schema: str | None = None) -> EntityBuilder[E]:
        """Map to table ``name`` (in ``schema``; default ``public``)."""
        self._s.table = name
        if schema is not None:
            self._s.schema = schema
        return self

    def in_schema(self, schema: str) -> EntityBuilder[E]:
        """Put the table in ``schema``."""
        self._s.schema = schema
        return self

    def has_comment(self, comment: str) -> EntityBuilder[E]:
        """A table comment."""
        self._s.comment = comment
        return self

    def property(self, member: Member) -> PropertyBuilder[E]:
        """Configure one attribute's column."""
        name = member_name(member, entity=self._name)
        return PropertyBuilder(self._s.properties.setdefault(name, PropertySettings()))

    def ignore(self, member: Member) -> EntityBuilder[E]:
        """Do not map this attribute to a column."""
        self._s.ignored.add(member_name(member, entity=self._name))
        return self

    def has_key(self, *members: Member, name: str | None = None) -> EntityBuilder[E]:
        """The primary key (several members make a composite key)."""
        self._s.key = tuple(member_name(m, entity=self._name) for m in members)
        self._s.key_name = name
        return self

    def has_concurrency_token(self, member: Member) -> EntityBuilder[E]:
        """Make ``member`` (a NOT NULL integer column) the entity's concurrency token, like
        ``column(concurrency_token=True)``: ``update(entity)`` checks and increments it."""
        self._s.concurrency_token = member_name(member, entity=self._name)
        return self

    def has_no_key(self) -> EntityBuilder[E]:
        """Declare a keyless table (no primary key; entity-level update/delete unavailable)."""
        self._s.keyless = True
        return self

    def has_index(self, name: str, *members: Member, unique: bool = False,
                  method: str | None = None, where: str | None = None,
                  include: Iterable[Member] = (),
                  opclasses: str | Mapping[str, str] | None = None,
                  descending: bool | Iterable[Member] = (),
                  nulls: str | Mapping[str, str] | None = None,
                  collations: str | Mapping[str, str] | None = None,
                  nulls_not_distinct: bool = False,
                  concurrently: bool = False) -> EntityBuilder[E]:
        """An index. A member is an attribute name, a lambda selecting one, or a SQL expression
        in parentheses (``"(lower(email))"``). ``where`` makes it partial; ``include`` adds
        non-key columns. ``opclasses``, ``collations`` and ``nulls`` (``"first"`` /
        ``"last"``) are one value for every key member or a mapping from member (attribute
        name, or the expression as written) to its value; ``descending`` is True (every key
        member) or the members sorted descending. ``method``: btree (default), hash, gin,
        gist, spgist or brin."""
        def key(m: Member) -> str:
            if isinstance(m, str) and m.startswith("("):
                return m
            return member_name(m, entity=self._name)

        self._s.indexes.append(IndexSettings(
            name, tuple(key(m) for m in members), unique, method, where, nulls_not_distinct,
            concurrently, include=tuple(key(m) for m in include), opclasses=opclasses,
            collations=collations, nulls=nulls,
            descending=descending if isinstance(descending, bool)
            else tuple(key(m) for m in descending)))
        return self

    def has_unique(self, name: str, *members: Member, deferrable: bool = False,
                   initially_deferred: bool = False,
                   nulls_not_distinct: bool = False) -> EntityBuilder[E]:
        """A UNIQUE constraint over one or more members; ``deferrable`` /
        ``initially_deferred`` as in PostgreSQL; ``nulls_not_distinct`` (PostgreSQL 15+) makes
        NULLs collide."""
        self._s.uniques.append((name, tuple(member_name(m, entity=self._name) for m in members)))
        if initially_deferred and not deferrable:
            raise ModelError(f"unique constraint {name!r}: initially_deferred=True needs "
                             "deferrable=True", entity=self._name)
        options = {"deferrable": deferrable, "initially_deferred": initially_deferred,
                   "nulls_not_distinct": nulls_not_distinct}
        self._s.unique_options[name] = {k: v for k, v in options.items() if v}
        return self

    def partition_by(self, strategy: str, *members: Member) -> EntityBuilder[E]:
        """A partitioned table: ``strategy`` is ``"range"``, ``"list"`` or ``"hash"``; a
        member is an attribute name, a lambda selecting one, or a SQL expression in
        parentheses. Declare its partitions with :meth:`has_partition`."""
        self._s.partition_by = (strategy, tuple(
            m if isinstance(m, str) and m.startswith("(") else member_name(m, entity=self._name)
            for m in members))
        return self

    def has_partition(self, name: str, for_values: str | None = None, *,
                      default: bool = False) -> EntityBuilder[E]:
        """A partition of this partitioned table, in its schema: ``for_values`` is the bound
        after ``FOR VALUES`` (``"FROM ('2024-01-01') TO ('2025-01-01')"``, ``"IN ('eu')"``,
        ``"WITH (MODULUS 4, REMAINDER 0)"``), or ``default=True`` for the default partition."""
        self._s.partitions.append((name, for_values, default))
        return self

    def has_check(self, name: str, expression: str) -> EntityBuilder[E]:
        """A CHECK constraint (``expression`` is SQL)."""
        self._s.checks.append((name, expression))
        return self

    def has_one(self, member: Member, target: type[Any]) -> NavigationBuilder[E]:
        """A reference to one ``target`` (the foreign key is on this entity)."""
        nav = NavigationSettings(member_name(member, entity=self._name), "one", target)
        self._s.navigations.append(nav)
        return NavigationBuilder(nav, self._name)

    def has_many(self, member: Member, target: type[Any]) -> NavigationBuilder[E]:
        """A collection of ``target`` (the foreign key is on the target)."""
        nav = NavigationSettings(member_name(member, entity=self._name), "many", target)
        self._s.navigations.append(nav)
        return NavigationBuilder(nav, self._name)


@dataclass
class EnumSettings:
    """A ``has_enum`` call."""

    name: str | None
    schema: str | None


class DbModelConfig:
    """The object ``setup_model`` receives: configure entities, enums, sequences."""

    def __init__(self) -> None:
        self.entities: dict[type[Any], EntitySettings] = {}
        self.enums: dict[type[enum.Enum], EnumSettings] = {}
        self.sequences: list[Sequence] = []
        self.views: list[View] = []
        self.domains: list[Domain] = []
        self.default_schema: str = "public"

    def entity(self, entity: type[E]) -> EntityBuilder[E]:
        """Configure ``entity``."""
        return EntityBuilder(entity, self.entities.setdefault(entity, EntitySettings()))

    def has_default_schema(self, schema: str) -> DbModelConfig:
        """The schema for tables, enums and sequences that name none (default ``public``)."""
        self.default_schema = schema
        return self

    def has_enum(self, enum_class: type[enum.Enum], name: str | None = None,
                 schema: str | None = None) -> DbModelConfig:
        """Name (or place) the PostgreSQL ENUM that ``enum_class`` maps to."""
        self.enums[enum_class] = EnumSettings(name, schema)
        return self

    def has_domain(self, name: str, base_type: ColumnType | str, *, not_null: bool = False,
                   default_sql: str | None = None, check: str | None = None,
                   schema: str | None = None) -> DbModelConfig:
        """A domain: ``CREATE DOMAIN name AS base_type [DEFAULT default_sql] [NOT NULL]
        [CHECK (check)]``, ``check`` an expression over ``VALUE`` (``"VALUE > 0"``).
        ``base_type`` is a type builder's result or a type name (``"varchar(10)"``). Columns
        use it with ``column(pg_type(name))`` (``schema=`` when not in the default schema).
        Managed like the model's other objects: created, altered (default, NOT NULL, check),
        dropped when removed if linkgress created it."""
        try:
            base = base_type if isinstance(base_type, ColumnType) else pg_type(base_type)
        except ValueError as exc:
            raise ModelError(str(exc), entity=f"domain {name}") from None
        self.domains.append(Domain(schema=schema or "", name=name, base_type=base,
                                   not_null=not_null, default=default_sql, check=check))
        return self

    def has_sequence(self, name: str, *, schema: str | None = None, data_type: str = "bigint",
                     start: int = 1, increment: int = 1, min_value: int | None = None,
                     max_value: int | None = None, cache: int = 1,
                     cycle: bool = False) -> DbModelConfig:
        """A standalone sequence (use it with ``default_sql="nextval('name')"``)."""
        if data_type not in ("smallint", "integer", "bigint"):
            raise ModelError(f"sequence data type must be smallint, integer or bigint, "
                             f"got {data_type!r}", entity=f"sequence {name}")
        self.sequences.append(Sequence(
            schema=schema or "", name=name, data_type=data_type, start=start,
            increment=increment, min_value=min_value, max_value=max_value, cache=cache,
            cycle=cycle))
        return self

    def has_view(self, name: str, sql: str, *, materialized: bool = False,
                 schema: str | None = None, depends_on: Sequence_[str] = ()) -> DbModelConfig:
        """A view (``materialized=True``: a materialized view) defined by the query ``sql``.

        Views are created after the tables, in declaration order; ``depends_on`` names other
        views of the model (``"name"`` or ``"schema.name"``) to create first. Compared through
        PostgreSQL's printing of the query, replaced when it changes, dropped when removed.
        """
        self.views.append(View(schema=schema or "", name=name, definition=sql,
                               materialized=materialized, depends_on=tuple(depends_on)))
        return self
