"""Operations on tables and their columns."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from linkgress.schema.operations.base import Operation, table_label
from linkgress.schema.snapshot import Column, Table

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
        return (f"Rename table '{table_label(self.schema, self.table_name)}' "
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
        return f"Set comment on table '{table_label(self.schema, self.table_name)}'"

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
        label = table_label(self.schema, self.table_name)
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
        return f"Drop column '{table_label(self.schema, self.table_name)}.{self.column.name}'"

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
        label = table_label(self.schema, self.table_name)
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
        label = table_label(self.schema, self.table_name)
        return f"Rename column '{label}.{self.column_name}' to '{self.new_name}'"

    def reverse(self) -> Operation:
        return RenameColumn(schema=self.schema, table_name=self.table_name,
                            column_name=self.new_name, new_name=self.column_name)

