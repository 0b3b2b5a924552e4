"""Migration operations: one frozen, keyword-only dataclass per DDL verb.

Each has the seed's ``type`` string, ``is_destructive``, a ``describe()`` line as the seed prints
it, and ``reverse()``. A destructive operation carries what it destroys (``DropColumn`` holds the
whole prior column), so reversing needs no database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from linkgress.errors import IrreversibleOperation
from linkgress.schema.snapshot import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    PrimaryKey,
    Sequence,
    Table,
    UniqueConstraint,
    View,
)


def _table_label(schema: str, table_name: str) -> str:
    return table_name if schema == "public" else f"{schema}.{table_name}"


@dataclass(frozen=True, kw_only=True)
class Operation:
    """Base of every operation."""

    type: ClassVar[str] = "operation"
    is_destructive: ClassVar[bool] = False

    def describe(self) -> str:
        """One human line, as the seed prints it in the pending-migrations list."""
        raise NotImplementedError

    def reverse(self) -> Operation:
        """The operation that undoes this one."""
        raise IrreversibleOperation(f"{self.describe()} cannot be reversed")

    def __str__(self) -> str:
        return self.describe()


# -- schemas ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateSchema(Operation):
    """``CREATE SCHEMA``."""

    type: ClassVar[str] = "create_schema"
    schema_name: str

    def describe(self) -> str:
        return f"Create schema '{self.schema_name}'"

    def reverse(self) -> Operation:
        return DropSchema(schema_name=self.schema_name)


@dataclass(frozen=True, kw_only=True)
class DropSchema(Operation):
    """``DROP SCHEMA`` (never CASCADE: only an empty schema is dropped)."""

    type: ClassVar[str] = "drop_schema"
    is_destructive: ClassVar[bool] = True
    schema_name: str

    def describe(self) -> str:
        return f"Drop schema '{self.schema_name}'"

    def reverse(self) -> Operation:
        return CreateSchema(schema_name=self.schema_name)


# -- enums --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateEnum(Operation):
    """``CREATE TYPE ... AS ENUM``."""

    type: ClassVar[str] = "create_enum"
    schema: str = "public"
    enum_name: str
    values: tuple[str, ...]

    def describe(self) -> str:
        labels = ", ".join(repr(v) for v in self.values)
        return f"Create enum '{_table_label(self.schema, self.enum_name)}' ({labels})"

    def reverse(self) -> Operation:
        return DropEnum(schema=self.schema, enum_name=self.enum_name, values=self.values)

    @classmethod
    def of(cls, enum: EnumType) -> CreateEnum:
        """The operation creating ``enum``."""
        return cls(schema=enum.schema, enum_name=enum.name, values=enum.values)


@dataclass(frozen=True, kw_only=True)
class DropEnum(Operation):
    """``DROP TYPE``."""

    type: ClassVar[str] = "drop_enum"
    is_destructive: ClassVar[bool] = True
    schema: str = "public"
    enum_name: str
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"Drop enum '{_table_label(self.schema, self.enum_name)}'"

    def reverse(self) -> Operation:
        return CreateEnum(schema=self.schema, enum_name=self.enum_name, values=self.values)


@dataclass(frozen=True, kw_only=True)
class AddEnumValue(Operation):
    """``ALTER TYPE ... ADD VALUE`` (PostgreSQL cannot remove a label again)."""

    type: ClassVar[str] = "add_enum_value"
    schema: str = "public"
    enum_name: str
    value: str
    before: str | None = None
    after: str | None = None

    def describe(self) -> str:
        return f"Add value {self.value!r} to enum '{_table_label(self.schema, self.enum_name)}'"


@dataclass(frozen=True, kw_only=True)
class EnumColumnUse:
    """A column whose type is an enum being recreated: ``dims`` array dimensions, and the
    ``default`` to put back once the column has the new type (None: no default)."""

    schema: str
    table_name: str
    column_name: str
    dims: int = 0
    default: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecreateEnum(Operation):
    """Replace an enum's labels when ``ALTER TYPE ... ADD VALUE`` cannot (a label removed or
    reordered): rename the old type away, create the new one, convert every column in
    ``columns`` through ``text``, drop the old type.

    Destructive when a label disappears: rows holding it make the migration fail (and roll back).
    """

    type: ClassVar[str] = "recreate_enum"
    schema: str = "public"
    enum_name: str
    old_values: tuple[str, ...]
    values: tuple[str, ...]
    columns: tuple[EnumColumnUse, ...] = ()

    @property
    def removed_values(self) -> tuple[str, ...]:
        """Labels of the old type that the new one lacks."""
        return tuple(v for v in self.old_values if v not in self.values)

    @property
    def is_destructive(self) -> bool:  # type: ignore[override]
        """True when a label is removed (rows holding it cannot be converted)."""
        return bool(self.removed_values)

    def describe(self) -> str:
        labels = ", ".join(repr(v) for v in self.values)
        line = f"Recreate enum '{_table_label(self.schema, self.enum_name)}' ({labels})"
        if self.removed_values:
            line += f", removing {', '.join(repr(v) for v in self.removed_values)}"
        return line

    def reverse(self) -> Operation:
        return RecreateEnum(schema=self.schema, enum_name=self.enum_name,
                            old_values=self.values, values=self.old_values,
                            columns=self.columns)


# -- sequences ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateSequence(Operation):
    """``CREATE SEQUENCE``."""

    type: ClassVar[str] = "create_sequence"
    sequence: Sequence

    @property
    def schema(self) -> str:
        """The sequence's schema."""
        return self.sequence.schema

    @property
    def sequence_name(self) -> str:
        """The sequence's name."""
        return self.sequence.name

    def describe(self) -> str:
        return f"Create sequence '{_table_label(self.schema, self.sequence_name)}'"

    def reverse(self) -> Operation:
        return DropSequence(sequence=self.sequence)


@dataclass(frozen=True, kw_only=True)
class DropSequence(Operation):
    """``DROP SEQUENCE``."""

    type: ClassVar[str] = "drop_sequence"
    is_destructive: ClassVar[bool] = True
    sequence: Sequence

    @property
    def schema(self) -> str:
        """The sequence's schema."""
        return self.sequence.schema

    @property
    def sequence_name(self) -> str:
        """The sequence's name."""
        return self.sequence.name

    def describe(self) -> str:
        return f"Drop sequence '{_table_label(self.schema, self.sequence_name)}'"

    def reverse(self) -> Operation:
        return CreateSequence(sequence=self.sequence)


@dataclass(frozen=True, kw_only=True)
class AlterSequence(Operation):
    """``ALTER SEQUENCE`` to new options (the current value is left alone)."""

    type: ClassVar[str] = "alter_sequence"
    old: Sequence
    new: Sequence

    @property
    def schema(self) -> str:
        """The sequence's schema."""
        return self.new.schema

    @property
    def sequence_name(self) -> str:
        """The sequence's name."""
        return self.new.name

    def describe(self) -> str:
        return f"Alter sequence '{_table_label(self.schema, self.sequence_name)}'"

    def reverse(self) -> Operation:
        return AlterSequence(old=self.new, new=self.old)


# -- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateTable(Operation):
    """``CREATE TABLE`` with columns, primary key, unique and check constraints.

    Foreign keys and indexes are separate operations, so that tables referencing each other
    can be created in any order.
    """

    type: ClassVar[str] = "create_table"
    table: Table

    @property
    def schema(self) -> str:
        """The table's schema."""
        return self.table.schema

    @property
    def table_name(self) -> str:
        """The table's name."""
        return self.table.name

    def describe(self) -> str:
        return f"Create table '{self.table.qualified_name}'"

    def reverse(self) -> Operation:
        return DropTable(table=replace(self.table, foreign_keys=(), indexes=()))


@dataclass(frozen=True, kw_only=True)
class DropTable(Operation):
    """``DROP TABLE`` (its rows go with it). With ``cascade``, objects that depend on the table
    (views, foreign keys of other tables) are dropped too — ``ensure_deleted()`` asks for that
    when something depends on the tables, after reporting it."""

    type: ClassVar[str] = "drop_table"
    is_destructive: ClassVar[bool] = True
    table: Table
    cascade: bool = False

    @property
    def schema(self) -> str:
        """The table's schema."""
        return self.table.schema

    @property
    def table_name(self) -> str:
        """The table's name."""
        return self.table.name

    def describe(self) -> str:
        suffix = " with its dependent objects (CASCADE)" if self.cascade else ""
        return f"Drop table '{self.table.qualified_name}'{suffix}"

    def reverse(self) -> Operation:
        return CreateTable(table=replace(self.table, foreign_keys=(), indexes=()))


@dataclass(frozen=True, kw_only=True)
class RenameTable(Operation):
    """``ALTER TABLE ... RENAME TO``."""

    type: ClassVar[str] = "rename_table"
    schema: str = "public"
    table_name: str
    new_name: str

    def describe(self) -> str:
        return (f"Rename table '{_table_label(self.schema, self.table_name)}' "
                f"to '{self.new_name}'")

    def reverse(self) -> Operation:
        return RenameTable(schema=self.schema, table_name=self.new_name, new_name=self.table_name)


@dataclass(frozen=True, kw_only=True)
class SetTableComment(Operation):
    """``COMMENT ON TABLE``."""

    type: ClassVar[str] = "set_table_comment"
    schema: str = "public"
    table_name: str
    comment: str | None
    old_comment: str | None = None

    def describe(self) -> str:
        return f"Set comment on table '{_table_label(self.schema, self.table_name)}'"

    def reverse(self) -> Operation:
        return SetTableComment(schema=self.schema, table_name=self.table_name,
                               comment=self.old_comment, old_comment=self.comment)


# -- columns ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddColumn(Operation):
    """``ALTER TABLE ... ADD COLUMN``."""

    type: ClassVar[str] = "add_column"
    schema: str = "public"
    table_name: str
    column: Column

    @property
    def column_name(self) -> str:
        """The column's name."""
        return self.column.name

    def describe(self) -> str:
        label = _table_label(self.schema, self.table_name)
        return f"Add column '{label}.{self.column.name}' ({self.column.type.display})"

    def reverse(self) -> Operation:
        return DropColumn(schema=self.schema, table_name=self.table_name, column=self.column)


@dataclass(frozen=True, kw_only=True)
class DropColumn(Operation):
    """``ALTER TABLE ... DROP COLUMN``; carries the full prior column."""

    type: ClassVar[str] = "drop_column"
    is_destructive: ClassVar[bool] = True
    schema: str = "public"
    table_name: str
    column: Column

    @property
    def column_name(self) -> str:
        """The column's name."""
        return self.column.name

    def describe(self) -> str:
        return f"Drop column '{_table_label(self.schema, self.table_name)}.{self.column.name}'"

    def reverse(self) -> Operation:
        return AddColumn(schema=self.schema, table_name=self.table_name, column=self.column)


@dataclass(frozen=True, kw_only=True)
class AlterColumn(Operation):
    """Change a column's type, nullability, default, identity or comment, from ``old`` to ``new``.

    ``using`` is the cast expression for a type change; ``lossy`` marks a change that can lose
    data (a narrowing type change), which makes the operation destructive.
    """

    type: ClassVar[str] = "alter_column"
    schema: str = "public"
    table_name: str
    old: Column
    new: Column
    using: str | None = None
    lossy: bool = False

    @property
    def column_name(self) -> str:
        """The column's name."""
        return self.new.name

    @property
    def is_destructive(self) -> bool:  # type: ignore[override]
        """A narrowing type change or a NOT NULL on a column may lose data or fail."""
        return self.lossy

    def changes(self) -> list[str]:
        """What changes, as short phrases."""
        out = []
        if self.old.type != self.new.type:
            out.append(f"type {self.old.type.display} -> {self.new.type.display}")
        if self.old.nullable != self.new.nullable:
            out.append("drop NOT NULL" if self.new.nullable else "set NOT NULL")
        if self.old.default != self.new.default:
            out.append("drop default" if self.new.default is None
                       else f"default {self.new.default}")
        if self.old.identity != self.new.identity:
            out.append("drop identity" if self.new.identity is None
                       else f"identity {self.new.identity}")
        if self.old.comment != self.new.comment:
            out.append("comment")
        return out

    def describe(self) -> str:
        label = _table_label(self.schema, self.table_name)
        return f"Alter column '{label}.{self.new.name}' ({', '.join(self.changes())})"

    def reverse(self) -> Operation:
        return AlterColumn(schema=self.schema, table_name=self.table_name,
                           old=self.new, new=self.old, lossy=self.lossy)


@dataclass(frozen=True, kw_only=True)
class RenameColumn(Operation):
    """``ALTER TABLE ... RENAME COLUMN``."""

    type: ClassVar[str] = "rename_column"
    schema: str = "public"
    table_name: str
    column_name: str
    new_name: str

    def describe(self) -> str:
        label = _table_label(self.schema, self.table_name)
        return f"Rename column '{label}.{self.column_name}' to '{self.new_name}'"

    def reverse(self) -> Operation:
        return RenameColumn(schema=self.schema, table_name=self.table_name,
                            column_name=self.new_name, new_name=self.column_name)


# -- keys, constraints, indexes ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddPrimaryKey(Operation):
    """``ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY``."""

    type: ClassVar[str] = "add_primary_key"
    schema: str = "public"
    table_name: str
    primary_key: PrimaryKey

    @property
    def constraint_name(self) -> str:
        """The constraint's name."""
        return self.primary_key.name

    def describe(self) -> str:
        cols = ", ".join(self.primary_key.columns)
        return f"Add primary key on '{_table_label(self.schema, self.table_name)}' ({cols})"

    def reverse(self) -> Operation:
        return DropPrimaryKey(schema=self.schema, table_name=self.table_name,
                              primary_key=self.primary_key)


@dataclass(frozen=True, kw_only=True)
class DropPrimaryKey(Operation):
    """Drop a primary key constraint."""

    type: ClassVar[str] = "drop_primary_key"
    is_destructive: ClassVar[bool] = True
    schema: str = "public"
    table_name: str
    primary_key: PrimaryKey

    @property
    def constraint_name(self) -> str:
        """The constraint's name."""
        return self.primary_key.name

    def describe(self) -> str:
        return f"Drop primary key on '{_table_label(self.schema, self.table_name)}'"

    def reverse(self) -> Operation:
        return AddPrimaryKey(schema=self.schema, table_name=self.table_name,
                             primary_key=self.primary_key)


@dataclass(frozen=True, kw_only=True)
class CreateUniqueConstraint(Operation):
    """``ALTER TABLE ... ADD CONSTRAINT ... UNIQUE``."""

    type: ClassVar[str] = "create_unique_constraint"
    schema: str = "public"
    table_name: str
    unique: UniqueConstraint

    @property
    def constraint_name(self) -> str:
        """The constraint's name."""
        return self.unique.name

    def describe(self) -> str:
        return f"Create unique constraint '{self.unique.name}'"

    def reverse(self) -> Operation:
        return DropUniqueConstraint(schema=self.schema, table_name=self.table_name,
                                    unique=self.unique)


@dataclass(frozen=True, kw_only=True)
class DropUniqueConstraint(Operation):
    """Drop a UNIQUE constraint."""

    type: ClassVar[str] = "drop_unique_constraint"
    schema: str = "public"
    table_name: str
    unique: UniqueConstraint

    @property
    def constraint_name(self) -> str:
        """The constraint's name."""
        return self.unique.name

    def describe(self) -> str:
        return f"Drop unique constraint '{self.unique.name}'"

    def reverse(self) -> Operation:
        return CreateUniqueConstraint(schema=self.schema, table_name=self.table_name,
                                      unique=self.unique)


@dataclass(frozen=True, kw_only=True)
class CreateCheckConstraint(Operation):
    """``ALTER TABLE ... ADD CONSTRAINT ... CHECK``."""

    type: ClassVar[str] = "create_check_constraint"
    schema: str = "public"
    table_name: str
    check: CheckConstraint

    @property
    def constraint_name(self) -> str:
        """The constraint's name."""
        return self.check.name

    def describe(self) -> str:
        return f"Create check constraint '{self.check.name}' ({self.check.expression})"

    def reverse(self) -> Operation:
        return DropCheckConstraint(schema=self.schema, table_name=self.table_name,
                                   check=self.check)


@dataclass(frozen=True, kw_only=True)
class DropCheckConstraint(Operation):
    """Drop a CHECK constraint."""

    type: ClassVar[str] = "drop_check_constraint"
    schema: str = "public"
    table_name: str
    check: CheckConstraint

    @property
    def constraint_name(self) -> str:
        """The constraint's name."""
        return self.check.name

    def describe(self) -> str:
        return f"Drop check constraint '{self.check.name}'"

    def reverse(self) -> Operation:
        return CreateCheckConstraint(schema=self.schema, table_name=self.table_name,
                                     check=self.check)


@dataclass(frozen=True, kw_only=True)
class CreateIndex(Operation):
    """``CREATE [UNIQUE] INDEX``."""

    type: ClassVar[str] = "create_index"
    schema: str = "public"
    table_name: str
    index: Index

    @property
    def index_name(self) -> str:
        """The index's name."""
        return self.index.name

    def describe(self) -> str:
        return f"Create index '{self.index.name}'"

    def reverse(self) -> Operation:
        return DropIndex(schema=self.schema, table_name=self.table_name, index=self.index)


@dataclass(frozen=True, kw_only=True)
class DropIndex(Operation):
    """``DROP INDEX``."""

    type: ClassVar[str] = "drop_index"
    schema: str = "public"
    table_name: str
    index: Index

    @property
    def index_name(self) -> str:
        """The index's name."""
        return self.index.name

    def describe(self) -> str:
        return f"Drop index '{self.index.name}'"

    def reverse(self) -> Operation:
        return CreateIndex(schema=self.schema, table_name=self.table_name, index=self.index)


@dataclass(frozen=True, kw_only=True)
class CreateForeignKey(Operation):
    """``ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY``."""

    type: ClassVar[str] = "create_foreign_key"
    schema: str = "public"
    table_name: str
    foreign_key: ForeignKey

    @property
    def constraint_name(self) -> str:
        """The constraint's name."""
        return self.foreign_key.name

    def describe(self) -> str:
        fk = self.foreign_key
        src = f"{_table_label(self.schema, self.table_name)}.{', '.join(fk.columns)}"
        dst = f"{_table_label(fk.ref_schema, fk.ref_table)}.{', '.join(fk.ref_columns)}"
        timing = (", DEFERRABLE INITIALLY DEFERRED" if fk.initially_deferred
                  else ", DEFERRABLE" if fk.deferrable else "")
        return (f"Create foreign key '{fk.name}' ({src} -> {dst}, ON DELETE {fk.on_delete}"
                f"{timing})")

    def reverse(self) -> Operation:
        return DropForeignKey(schema=self.schema, table_name=self.table_name,
                              foreign_key=self.foreign_key)


@dataclass(frozen=True, kw_only=True)
class DropForeignKey(Operation):
    """Drop a foreign key constraint."""

    type: ClassVar[str] = "drop_foreign_key"
    schema: str = "public"
    table_name: str
    foreign_key: ForeignKey

    @property
    def constraint_name(self) -> str:
        """The constraint's name."""
        return self.foreign_key.name

    def describe(self) -> str:
        return f"Drop foreign key '{self.foreign_key.name}'"

    def reverse(self) -> Operation:
        return CreateForeignKey(schema=self.schema, table_name=self.table_name,
                                foreign_key=self.foreign_key)


# -- views -------------------------------------------------------------------------------------


def _view_kind(view: View) -> str:
    return "materialized view" if view.materialized else "view"


@dataclass(frozen=True, kw_only=True)
class CreateView(Operation):
    """``CREATE VIEW`` / ``CREATE MATERIALIZED VIEW`` (with its data); ``replace`` makes it
    ``CREATE OR REPLACE VIEW`` (a plain view whose new columns extend the old ones)."""

    type: ClassVar[str] = "create_view"
    view: View
    replace: bool = False

    def describe(self) -> str:
        verb = "Replace" if self.replace else "Create"
        return f"{verb} {_view_kind(self.view)} '{_table_label(*self.view.key)}'"

    def reverse(self) -> Operation:
        if self.replace:
            raise IrreversibleOperation(f"{self.describe()} cannot be reversed: the previous "
                                        "query is not known")
        return DropView(view=self.view)


@dataclass(frozen=True, kw_only=True)
class DropView(Operation):
    """``DROP VIEW`` / ``DROP MATERIALIZED VIEW`` (``cascade`` only from ``ensure_deleted()``,
    which reports what it takes along). A view holds no data of its own (a materialized
    view's rows are computed again), so this is not destructive."""

    type: ClassVar[str] = "drop_view"
    view: View
    cascade: bool = False

    def describe(self) -> str:
        return f"Drop {_view_kind(self.view)} '{_table_label(*self.view.key)}'"

    def reverse(self) -> Operation:
        return CreateView(view=self.view)


ALL_OPERATIONS: tuple[type[Operation], ...] = (
    CreateSchema, DropSchema, CreateEnum, DropEnum, AddEnumValue, CreateSequence, DropSequence,
    AlterSequence, CreateTable, DropTable, RenameTable, SetTableComment, AddColumn, DropColumn,
    AlterColumn, RenameColumn, AddPrimaryKey, DropPrimaryKey, CreateUniqueConstraint,
    DropUniqueConstraint, CreateCheckConstraint, DropCheckConstraint, CreateIndex, DropIndex,
    CreateForeignKey, DropForeignKey, RecreateEnum, CreateView, DropView,
)
