"""Primary keys, unique and check constraints: a changed one is dropped and added again."""

from __future__ import annotations

from linkgress.schema import operations as ops
from linkgress.schema.diff.context import DiffContext, label
from linkgress.schema.diff.named import diff_named
from linkgress.schema.snapshot import CheckConstraint, Table, UniqueConstraint


def diff_primary_key(ctx: DiffContext, current: Table, target: Table) -> list[ops.Operation]:
    """Drop + add when the primary key's name or columns change; drop a managed one that the
    target no longer declares."""
    old, new = current.primary_key, target.primary_key
    schema, name = target.schema, target.name
    if old == new:
        return []
    out: list[ops.Operation] = []
    if old is not None:
        if new is not None or ctx.may_drop_part(current, "primary_key", old.name):
            out.append(ops.DropPrimaryKey(schema=schema, table_name=name, primary_key=old))
        else:
            ctx.unmanaged("primary key", f"{label(schema, name)}.{old.name}")
    if new is not None:
        out.append(ops.AddPrimaryKey(schema=schema, table_name=name, primary_key=new))
    return out


def diff_uniques(ctx: DiffContext, current: Table, target: Table) -> list[ops.Operation]:
    """Operations bringing ``current``'s UNIQUE constraints to ``target``'s."""
    schema, name = target.schema, target.name

    def create(unique: UniqueConstraint) -> ops.Operation:
        return ops.CreateUniqueConstraint(schema=schema, table_name=name, unique=unique)

    def drop(unique: UniqueConstraint) -> ops.Operation:
        return ops.DropUniqueConstraint(schema=schema, table_name=name, unique=unique)

    return diff_named(ctx, current, (current.uniques, target.uniques), part="uniques",
                      kind="unique constraint", create=create, drop=drop)


def diff_checks(ctx: DiffContext, current: Table, target: Table) -> list[ops.Operation]:
    """Operations bringing ``current``'s CHECK constraints to ``target``'s."""
    schema, name = target.schema, target.name

    def create(check: CheckConstraint) -> ops.Operation:
        return ops.CreateCheckConstraint(schema=schema, table_name=name, check=check)

    def drop(check: CheckConstraint) -> ops.Operation:
        return ops.DropCheckConstraint(schema=schema, table_name=name, check=check)

    return diff_named(ctx, current, (current.checks, target.checks), part="checks",
                      kind="check constraint", create=create, drop=drop)
