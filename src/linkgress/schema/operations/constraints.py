"""Operations on primary keys, unique and check constraints, indexes and foreign keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from linkgress.schema.operations.base import Operation, table_label
from linkgress.schema.snapshot import (
    CheckConstraint,
    ForeignKey,
    Index,
    PrimaryKey,
    UniqueConstraint,
)

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
        return f"Add primary key on '{table_label(self.schema, self.table_name)}' ({cols})"

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
        return f"Drop primary key on '{table_label(self.schema, self.table_name)}'"

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
        src = f"{table_label(self.schema, self.table_name)}.{', '.join(fk.columns)}"
        dst = f"{table_label(fk.ref_schema, fk.ref_table)}.{', '.join(fk.ref_columns)}"
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

