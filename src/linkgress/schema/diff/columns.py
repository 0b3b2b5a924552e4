"""Columns: add, drop (managed only), alter (type with a ``USING`` cast and lossy detection,
nullability, default, identity, comment), and renames from the model's hint.

A rename is never guessed into a drop + add silently: with ``column(renamed_from="old")`` the
column is renamed; without the hint, one removed and one added column of the same type on a
table still produce drop + add (the drop is destructive, so it needs consent) plus a note that
suggests the hint.
"""

from __future__ import annotations

from dataclasses import replace

from linkgress.schema import operations as ops
from linkgress.schema.diff.casts import is_lossy, using_expression
from linkgress.schema.diff.context import DiffContext, label
from linkgress.schema.snapshot import Column, Table


def rename_hints(current: Table, target: Table) -> dict[str, str]:
    """``{old: new}`` for target columns whose ``renamed_from`` names a column of ``current``
    that the target no longer has, when the new name is not taken yet."""
    out: dict[str, str] = {}
    for col in target.columns:
        old = col.renamed_from
        if (old is None or current.column(col.name) is not None
                or current.column(old) is None or target.column(old) is not None):
            continue
        out[old] = col.name
    return out


def diff_columns(ctx: DiffContext, current: Table, target: Table) -> list[ops.Operation]:
    """Add, alter and (managed) drop operations for the columns of one table; renames have
    already been applied to ``current``."""
    schema, name = target.schema, target.name
    if current.columns == target.columns:
        return []
    have = {c.name: c for c in current.columns}
    wanted = {c.name for c in target.columns}
    out: list[ops.Operation] = []
    for col in target.columns:
        old = have.get(col.name)
        if old is None:
            out.append(ops.AddColumn(schema=schema, table_name=name, column=col))
            _note_not_null_add(ctx, target, col)
        else:
            out += alter_column(ctx, current, old, col)
    removed = [c for c in current.columns if c.name not in wanted]
    for col in removed:
        if ctx.may_drop_part(current, "columns", col.name):
            out.append(ops.DropColumn(schema=schema, table_name=name, column=col))
        else:
            ctx.unmanaged("column", f"{label(schema, name)}.{col.name}")
    _suggest_rename(ctx, current, target, removed)
    return out


def alter_column(ctx: DiffContext, table: Table, old: Column, new: Column) -> list[ops.Operation]:
    """An :class:`AlterColumn` when anything but the comment-by-omission differs, else []."""
    new = _keep_unmanaged_comment(ctx, table, old, new)
    new = _keep_serial(ctx, table, old, new)
    if old == new:
        return []
    if old.nullable and not new.nullable:
        ctx.notes.append(f"column '{label(table.schema, table.name)}.{new.name}' becomes NOT "
                         "NULL: this fails if it holds NULLs")
    if old.generated != new.generated and new.generated is not None:
        ctx.notes.append(f"column '{label(table.schema, table.name)}.{new.name}' gets a new "
                         "generation expression: it is dropped and added again, its values "
                         "computed anew")
    lossy = is_lossy(old.type, new.type)
    using = using_expression(new.name, old.type, new.type) if old.type != new.type else None
    return [ops.AlterColumn(schema=table.schema, table_name=table.name, old=old, new=new,
                            using=using, lossy=lossy)]


def _keep_serial(ctx: DiffContext, table: Table, old: Column, new: Column) -> Column:
    # Turning a plain integer into a serial (or back) means creating or dropping an owned
    # sequence and moving it past the existing keys: not automated yet, so it is a note and
    # the rest of the column is compared as if the model kept the database's form.
    if old.type.serial == new.type.serial:
        return new
    ctx.notes.append(
        f"column '{label(table.schema, table.name)}.{new.name}' is {old.type.display} in the "
        f"database and {new.type.display} in the model; linkgress does not convert between "
        "serial and plain integer columns: change it in a journaled migration")
    return replace(new, type=replace(new.type, serial=old.type.serial), default=old.default)


def _keep_unmanaged_comment(ctx: DiffContext, table: Table, old: Column, new: Column) -> Column:
    # A model that says nothing about a comment does not erase a comment someone else wrote;
    # it clears one only if linkgress put it there (recorded) or manages the whole schema.
    if new.comment is not None or old.comment is None or ctx.owns_schema(table.schema):
        return new
    recorded = ctx.managed_table(table.schema, table.name)
    recorded_col = recorded.column(old.name) if recorded is not None else None
    if recorded_col is not None and recorded_col.comment is not None:
        return new
    return replace(new, comment=old.comment)


def _note_not_null_add(ctx: DiffContext, table: Table, col: Column) -> None:
    if not col.nullable and col.default is None and col.identity is None and not col.type.serial:
        ctx.notes.append(
            f"column '{label(table.schema, table.name)}.{col.name}' is added NOT NULL "
            "without a default: this fails if the table already has rows")


def _suggest_rename(ctx: DiffContext, current: Table, target: Table,
                    removed: list[Column]) -> None:
    added = [c for c in target.columns if current.column(c.name) is None]
    if len(removed) != 1 or len(added) != 1 or removed[0].type != added[0].type:
        return
    old, new = removed[0].name, added[0].name
    ctx.notes.append(
        f"table '{label(target.schema, target.name)}': column '{old}' is removed and "
        f"'{new}' added with the same type; if it was renamed, declare "
        f"column(renamed_from={old!r}) on '{new}' to keep its data")
