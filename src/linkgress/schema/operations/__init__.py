"""Migration operations: one frozen, keyword-only dataclass per DDL verb.

Each has the seed's ``type`` string, ``is_destructive``, a ``describe()`` line as the seed prints
it, ``reverse()``, and ``hazards`` (what applying it does to live traffic and to the rows: see
:mod:`linkgress.schema.hazards`). A destructive operation carries what it destroys
(``DropColumn`` holds the whole prior column), so reversing needs no database.

The classes live in ``base`` (:class:`Operation`), ``types`` (schemas, enums, sequences),
``tables`` (tables, columns), ``constraints`` (keys, constraints, indexes, foreign keys) and
``views``; import them from here.
"""

from __future__ import annotations

from linkgress.errors import IrreversibleOperation
from linkgress.schema.operations.base import Operation, table_label
from linkgress.schema.operations.constraints import (
    AddPrimaryKey,
    CreateCheckConstraint,
    CreateForeignKey,
    CreateIndex,
    CreateUniqueConstraint,
    DropCheckConstraint,
    DropForeignKey,
    DropIndex,
    DropPrimaryKey,
    DropUniqueConstraint,
)
from linkgress.schema.operations.tables import (
    AddColumn,
    AlterColumn,
    CreateTable,
    DropColumn,
    DropTable,
    RenameColumn,
    RenameTable,
    SetTableComment,
)
from linkgress.schema.operations.types import (
    AddEnumValue,
    AlterSequence,
    CreateEnum,
    CreateSchema,
    CreateSequence,
    DropEnum,
    DropSchema,
    DropSequence,
    EnumColumnUse,
    RecreateEnum,
)
from linkgress.schema.operations.views import CreateView, DropView
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

# The snapshot values and IrreversibleOperation are re-exported for the imports written when
# this was one module.
__all__ = [
    "ALL_OPERATIONS",
    "AddColumn",
    "AddEnumValue",
    "AddPrimaryKey",
    "AlterColumn",
    "AlterSequence",
    "CheckConstraint",
    "Column",
    "CreateCheckConstraint",
    "CreateEnum",
    "CreateForeignKey",
    "CreateIndex",
    "CreateSchema",
    "CreateSequence",
    "CreateTable",
    "CreateUniqueConstraint",
    "CreateView",
    "DropCheckConstraint",
    "DropColumn",
    "DropEnum",
    "DropForeignKey",
    "DropIndex",
    "DropPrimaryKey",
    "DropSchema",
    "DropSequence",
    "DropTable",
    "DropUniqueConstraint",
    "DropView",
    "EnumColumnUse",
    "EnumType",
    "ForeignKey",
    "Index",
    "IrreversibleOperation",
    "Operation",
    "PrimaryKey",
    "RecreateEnum",
    "RenameColumn",
    "RenameTable",
    "Sequence",
    "SetTableComment",
    "Table",
    "UniqueConstraint",
    "View",
    "table_label",
]

ALL_OPERATIONS: tuple[type[Operation], ...] = (
    CreateSchema, DropSchema, CreateEnum, DropEnum, AddEnumValue, CreateSequence, DropSequence,
    AlterSequence, CreateTable, DropTable, RenameTable, SetTableComment, AddColumn, DropColumn,
    AlterColumn, RenameColumn, AddPrimaryKey, DropPrimaryKey, CreateUniqueConstraint,
    DropUniqueConstraint, CreateCheckConstraint, DropCheckConstraint, CreateIndex, DropIndex,
    CreateForeignKey, DropForeignKey, RecreateEnum, CreateView, DropView,
)
