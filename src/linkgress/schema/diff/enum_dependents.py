"""Checks and indexes that must step aside while an enum is recreated.

``ALTER COLUMN ... TYPE`` rebuilds the checks and indexes of a column, re-checking their stored
expressions against the new type: a literal cast to the *old* enum (``status <> 'done'::mood``,
an index ``WHERE status = 'open'::mood``) then has no operator and the conversion fails. So a
:class:`RecreateEnum` gets each check or expression/partial index that mentions the type or a
column of that type dropped before it (phases 1-2) and created again after it (phases 12-14),
from the target's definition when it declares one (else as it was, with a note). Plain column
indexes are rebuilt by PostgreSQL itself and stay.
"""

from __future__ import annotations

import re

from linkgress.schema import operations as ops
from linkgress.schema.diff.context import DiffContext, label, tables_by_key
from linkgress.schema.snapshot import CheckConstraint, Index, Schema, Table


def mentions_type(expression: str, type_names: list[str]) -> bool:
    """True when ``expression`` casts to one of ``type_names`` (``::name``, ``::"name"``,
    ``::schema.name``), as PostgreSQL prints literals of a user-defined type."""
    return any(re.search(rf'::(?:"?[^\s:."]+"?\.)?"?{re.escape(name)}"?(?![\w"])', expression)
               for name in type_names)


def _index_text(index: Index) -> str:
    expressions = [c for c in index.columns if c.startswith("(")]
    return " ".join((*expressions, index.where or ""))


def _involved(expression: str, type_names: list[str], columns: list[str]) -> bool:
    if not expression:
        return False
    return mentions_type(expression, type_names) or any(
        re.search(rf'(?<![\w."]){re.escape(c)}(?![\w"])|"{re.escape(c)}"', expression)
        for c in columns)


def _handled(operations: list[ops.Operation]) -> tuple[set[tuple[str, str]], set[str]]:
    tables = {op.table.key for op in operations if isinstance(op, ops.DropTable)}
    names = {f"{op.schema}.{op.table_name}.{op.check.name}" for op in operations
             if isinstance(op, ops.DropCheckConstraint)}
    names |= {f"{op.schema}.{op.index.name}" for op in operations
              if isinstance(op, ops.DropIndex)}
    return tables, names


def _rebuild(ctx: DiffContext, table: Table, declared: Table | None, names: list[str],
             handled: set[str]) -> list[ops.Operation]:
    schema, name = table.schema, table.name
    columns = [c.name for c in table.columns if c.type.is_enum and c.type.name in names]
    out: list[ops.Operation] = []
    for check in table.checks:
        if (f"{schema}.{name}.{check.name}" in handled
                or not _involved(check.expression, names, columns)):
            continue
        again: CheckConstraint | None = next(
            (c for c in declared.checks if c.name == check.name), None) if declared else None
        if again is None:
            ctx.notes.append(f"unmanaged check constraint '{label(schema, name)}.{check.name}' "
                             "dropped and re-created unchanged around an enum's recreation")
        out += [ops.DropCheckConstraint(schema=schema, table_name=name, check=check),
                ops.CreateCheckConstraint(schema=schema, table_name=name, check=again or check)]
    for index in table.indexes:
        if (f"{schema}.{index.name}" in handled
                or not _involved(_index_text(index), names, columns)):
            continue
        new_index: Index | None = next(
            (i for i in declared.indexes if i.name == index.name), None) if declared else None
        if new_index is None:
            ctx.notes.append(f"unmanaged index '{label(schema, name)}.{index.name}' dropped "
                             "and re-created unchanged around an enum's recreation")
        out += [ops.DropIndex(schema=schema, table_name=name, index=index),
                ops.CreateIndex(schema=schema, table_name=name, index=new_index or index)]
    return out


def rebuild_enum_dependents(ctx: DiffContext, current: Schema, target: Schema,
                            operations: list[ops.Operation]) -> list[ops.Operation]:
    """Drop + create for each surviving check or index whose expression mentions an enum that
    ``operations`` recreate, unless ``operations`` already replace or drop it."""
    names = [op.enum_name for op in operations if isinstance(op, ops.RecreateEnum)]
    if not names:
        return []
    dropped_tables, handled = _handled(operations)
    wanted = tables_by_key(target)
    out: list[ops.Operation] = []
    for table in current.tables:
        if table.key not in dropped_tables:
            out += _rebuild(ctx, table, wanted.get(table.key), names, handled)
    return out
