"""The model's metadata: frozen values built once per context class from entities + setup_model.

This is what the rest of linkgress reads about a model: the schema builder converts it to a
:class:`~linkgress.schema.snapshot.Schema`, the query layer maps attributes to columns with it.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from linkgress.model.types import ColumnType
from linkgress.schema.snapshot import (
    CheckConstraint,
    Domain,
    ForeignKey,
    Index,
    Sequence,
    TablePartition,
    UniqueConstraint,
    View,
)


@dataclass(frozen=True, kw_only=True)
class ColumnMeta:
    """One mapped attribute.

    ``attr`` is the Python attribute, ``name`` the column. ``default`` is the SQL default
    expression (rendered from ``python_default`` or given as ``default_sql``); ``generated`` is
    true when the database fills the value (identity or any default) so inserts may omit it;
    ``generated_as`` is the expression of a generated column (never written by the ORM).
    ``deprecated``: ``column(deprecated=True)`` (see :attr:`EntityMeta.deprecated_columns`).
    """

    attr: str
    name: str
    type: ColumnType
    nullable: bool
    python_type: Any
    primary_key: bool = False
    identity: str | None = None
    default: str | None = None
    python_default: Any = None
    has_python_default: bool = False
    comment: str | None = None
    renamed_from: str | None = None
    enum_class: builtins.type[enum.Enum] | None = None
    deprecated: bool = False
    generated_as: str | None = None
    using: str | None = None
    identity_start: int | None = None
    identity_increment: int | None = None

    @property
    def generated(self) -> bool:
        """True when the database can supply the value on insert."""
        return (self.identity is not None or self.default is not None or self.type.serial
                or self.generated_as is not None)


@dataclass(frozen=True, kw_only=True)
class NavigationMeta:
    """A navigation declared with ``has_one`` / ``has_many``.

    For ``has_one`` the foreign key lives on this entity (``local_columns`` -> the target's
    ``remote_columns``); for ``has_many`` it lives on the target (the target's ``remote_columns``
    point at this entity's ``local_columns``). Columns are attribute names.
    """

    name: str
    kind: str  # "one" | "many"
    target: type[Any]
    local_columns: tuple[str, ...]
    remote_columns: tuple[str, ...]
    required: bool = False


@dataclass(frozen=True, kw_only=True)
class EntityMeta:
    """An entity class mapped to a table.

    ``columns`` (and ``by_attr``) are what the ORM selects and writes; ``deprecated_columns``
    (``column(deprecated=True)``) are kept in the table but never selected or written.
    """

    entity: type[Any]
    context_attr: str
    schema: str
    table: str
    columns: tuple[ColumnMeta, ...]
    primary_key: tuple[str, ...]  # column names
    primary_key_name: str | None
    uniques: tuple[UniqueConstraint, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    navigations: tuple[NavigationMeta, ...] = ()
    comment: str | None = None
    deprecated_columns: tuple[ColumnMeta, ...] = ()
    partition_by: str | None = None
    partitions: tuple[TablePartition, ...] = ()
    #: The attribute of the concurrency token column (see :mod:`linkgress.model.tokens`).
    concurrency_token: str | None = None
    by_attr: Mapping[str, ColumnMeta] = field(default_factory=dict, compare=False, repr=False)
    navigation_by_name: Mapping[str, NavigationMeta] = field(
        default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The entity class's name (for messages)."""
        return self.entity.__name__

    def column(self, attr: str) -> ColumnMeta:
        """The column mapped to attribute ``attr``; ``KeyError`` if there is none."""
        return self.by_attr[attr]

    @property
    def table_columns(self) -> tuple[ColumnMeta, ...]:
        """Every column the table has: ``columns`` then ``deprecated_columns``."""
        return (*self.columns, *self.deprecated_columns)

    @property
    def primary_key_attrs(self) -> tuple[str, ...]:
        """Attribute names of the primary-key columns."""
        by_name = {c.name: c.attr for c in self.columns}
        return tuple(by_name[n] for n in self.primary_key)


@dataclass(frozen=True, kw_only=True)
class EnumMeta:
    """A Python enum mapped to a PostgreSQL ENUM."""

    enum_class: type[enum.Enum]
    schema: str
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ModelMeta:
    """The whole model of one context class."""

    entities: tuple[EntityMeta, ...]
    enums: tuple[EnumMeta, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    views: tuple[View, ...] = ()
    extra_schemas: tuple[str, ...] = ()
    # ``has_default_schema`` (``public`` unless set): always in the context's scope, so its
    # unmanaged objects are notes even when the model declares nothing there.
    default_schema: str = "public"
    domains: tuple[Domain, ...] = ()
    by_entity: Mapping[type[Any], EntityMeta] = field(
        default_factory=dict, compare=False, repr=False)

    def entity(self, cls: type[Any]) -> EntityMeta:
        """The metadata for entity class ``cls``; ``KeyError`` if the context lacks it."""
        return self.by_entity[cls]

    @property
    def schemas(self) -> tuple[str, ...]:
        """Every schema the model uses, in first-use order."""
        seen: dict[str, None] = {}
        for name in (*(e.schema for e in self.entities), *(e.schema for e in self.enums),
                     *(s.schema for s in self.sequences), *(v.schema for v in self.views),
                     *(d.schema for d in self.domains),
                     *self.extra_schemas):
            seen.setdefault(name)
        return tuple(seen)
