"""Operations on schemas, enum types and sequences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from linkgress.schema.operations.base import Operation, table_label
from linkgress.schema.snapshot import EnumType, Sequence

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
        return f"Create enum '{table_label(self.schema, self.enum_name)}' ({labels})"

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
        return f"Drop enum '{table_label(self.schema, self.enum_name)}'"

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
        return f"Add value {self.value!r} to enum '{table_label(self.schema, self.enum_name)}'"


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
        line = f"Recreate enum '{table_label(self.schema, self.enum_name)}' ({labels})"
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
        return f"Create sequence '{table_label(self.schema, self.sequence_name)}'"

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
        return f"Drop sequence '{table_label(self.schema, self.sequence_name)}'"

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
        return f"Alter sequence '{table_label(self.schema, self.sequence_name)}'"

    def reverse(self) -> Operation:
        return AlterSequence(old=self.new, new=self.old)

