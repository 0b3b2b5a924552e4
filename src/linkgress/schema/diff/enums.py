"""Enum types: create, add labels in place, recreate when labels go away, drop when managed.

The decision for a label that is removed or reordered (PostgreSQL cannot drop a label, nor move
one): a :class:`~linkgress.schema.operations.RecreateEnum`, which renames the old type away,
creates the new one, converts every column that uses it through ``text`` (defaults dropped and
put back) and drops the old type. When a label is removed the operation is destructive, so
``migrate()`` asks for consent; a row still holding the removed label makes the conversion
fail with PostgreSQL's ``invalid input value for enum`` and the whole migration rolls back —
nothing is silently lost. Clean such rows up first (or in a planned migration). Checks and
expression/partial indexes involving the type step aside around it (:mod:`.enum_dependents`).
PostgreSQL refuses the final ``DROP TYPE`` (and the migration rolls back) when something
outside the snapshot still uses the old type: a view, a function, a column in a schema the
model does not use.

Added labels (the current labels still in the same relative order) become ``AddEnumValue``
with the position PostgreSQL needs (``AFTER`` the preceding label, or ``BEFORE`` the first
existing one). PostgreSQL (12+) allows ``ADD VALUE`` in a transaction but refuses to *use* the
new label (``unsafe use of new value``) before that transaction commits — in a default, a
check, an index predicate, or rows written by ``on_migration_complete``. The differ still emits
the cheap ``AddEnumValue`` (recreating would rewrite every table using the type); the caller
commits such labels first when a later operation mentions them, as ``migrate()`` does
(:func:`linkgress.schema.deferred.enum_values_to_commit_first`), and a planned migration must
put them in a migration of their own.
"""

from __future__ import annotations

from linkgress.schema import operations as ops
from linkgress.schema.diff.context import DiffContext, label, tables_by_key
from linkgress.schema.snapshot import Column, EnumType, Schema


def _is_subsequence(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    it = iter(new)
    return all(any(v == w for w in it) for v in old)


def added_values(current: EnumType, target: EnumType) -> list[ops.AddEnumValue]:
    """``AddEnumValue`` for each label of ``target`` missing from ``current``, in order, each
    placed after its predecessor (or before the first existing label)."""
    out = []
    first_existing = next((v for v in target.values if v in current.values), None)
    for i, value in enumerate(target.values):
        if value in current.values:
            continue
        after = target.values[i - 1] if i > 0 else None
        before = first_existing if after is None else None
        out.append(ops.AddEnumValue(schema=target.schema, enum_name=target.name, value=value,
                                    before=before, after=after))
    return out


def _uses(column: Column, enum: EnumType) -> bool:
    return column.type.is_enum and (column.type.schema, column.type.name) == enum.key


def enum_columns(current: Schema, target: Schema, enum: EnumType,
                 operations: list[ops.Operation]) -> tuple[ops.EnumColumnUse, ...]:
    """The surviving columns of ``current`` typed ``enum`` (or arrays of it), each with the
    default to restore: the target's if it declares the column with this type."""
    gone = {op.table.key for op in operations if isinstance(op, ops.DropTable)}
    gone_cols = {(op.schema, op.table_name, op.column.name) for op in operations
                 if isinstance(op, ops.DropColumn)}
    out = []
    wanted = tables_by_key(target)
    for table in current.tables:
        if table.key in gone:
            continue
        declared = wanted.get(table.key)
        for col in table.columns:
            if not _uses(col, enum) or (table.schema, table.name, col.name) in gone_cols:
                continue
            new = declared.column(col.name) if declared is not None else None
            default = new.default if new is not None and new.type == col.type else col.default
            out.append(ops.EnumColumnUse(schema=table.schema, table_name=table.name,
                                         column_name=col.name, dims=col.type.dims,
                                         default=default))
    return tuple(out)


def diff_enum(current: Schema, target: Schema, old: EnumType, new: EnumType,
              operations: list[ops.Operation]) -> list[ops.Operation]:
    """Operations turning enum ``old`` into ``new`` (same name)."""
    if old.values == new.values:
        return []
    if _is_subsequence(old.values, new.values):
        return list(added_values(old, new))
    return [ops.RecreateEnum(schema=new.schema, enum_name=new.name, old_values=old.values,
                             values=new.values,
                             columns=enum_columns(current, target, new, operations))]


def diff_enums(ctx: DiffContext, current: Schema, target: Schema,
               operations: list[ops.Operation]) -> list[ops.Operation]:
    """Enum operations; ``operations`` are the table operations (to skip dropped columns)."""
    out: list[ops.Operation] = []
    for enum in target.enums:
        old = current.enum(enum.schema, enum.name)
        out += [ops.CreateEnum.of(enum)] if old is None else diff_enum(
            current, target, old, enum, operations)
    for enum in current.enums:
        if target.enum(enum.schema, enum.name) is not None:
            continue
        if ctx.may_drop_type("enums", enum.schema, enum.name):
            out.append(ops.DropEnum(schema=enum.schema, enum_name=enum.name,
                                    values=enum.values))
        else:
            ctx.unmanaged("enum", label(enum.schema, enum.name))
    return out
