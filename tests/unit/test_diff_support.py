"""Builders shared by the differ's unit tests (no tests here)."""

from __future__ import annotations

from dataclasses import replace

from linkgress.model.types import ColumnType, integer, text
from linkgress.schema import operations as ops
from linkgress.schema.diff import diff
from linkgress.schema.snapshot import Column, PrimaryKey, Schema, Table

ID = Column(name="id", type=integer(), nullable=False, identity="by default")


def col(name: str, type_: ColumnType | None = None, **kw: object) -> Column:
    """A column, ``text`` unless told."""
    return Column(name=name, type=type_ or text(), **kw)  # type: ignore[arg-type]


def table(name: str, *columns: Column, schema: str = "public", **kw: object) -> Table:
    """A table with an ``id`` primary key and ``columns``."""
    return Table(schema=schema, name=name, columns=(ID, *columns),
                 primary_key=PrimaryKey(name=f"{name}_pkey", columns=("id",)),
                 **kw)  # type: ignore[arg-type]


def db(*tables: Table, **kw: object) -> Schema:
    """A schema holding ``tables`` (and their schemas)."""
    schemas = tuple(dict.fromkeys(["public", *(t.schema for t in tables)]))
    return Schema(schemas=kw.pop("schemas", schemas), tables=tables,  # type: ignore[arg-type]
                  **kw)  # type: ignore[arg-type]


def ops_of(current: Schema, target: Schema, **kw: object) -> list[ops.Operation]:
    """The operations of ``diff``."""
    return diff(current, target, **kw).operations  # type: ignore[arg-type]


def notes_of(current: Schema, target: Schema, **kw: object) -> list[str]:
    """The notes of ``diff``."""
    return diff(current, target, **kw).notes  # type: ignore[arg-type]


def with_columns(t: Table, *columns: Column) -> Table:
    """``t`` with ``columns`` appended."""
    return replace(t, columns=(*t.columns, *columns))
