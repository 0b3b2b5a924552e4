"""Foreign keys: matched by name; a changed action, column list or target is drop + create.

:func:`rebuild_dependent_fks` handles what PostgreSQL will not do in place: a foreign key whose
own or referenced columns change type, or whose referenced key is dropped, is dropped before
and created again after (ordering puts the drop first and the create after the alters).
"""

from __future__ import annotations

from linkgress.schema import operations as ops
from linkgress.schema.diff.context import DiffContext, label, tables_by_key
from linkgress.schema.diff.named import diff_named
from linkgress.schema.snapshot import ForeignKey, Schema, Table

ColumnKey = tuple[str, str, str]


def diff_foreign_keys(ctx: DiffContext, current: Table, target: Table) -> list[ops.Operation]:
    """Operations bringing ``current``'s foreign keys to ``target``'s."""
    schema, name = target.schema, target.name

    def create(fk: ForeignKey) -> ops.Operation:
        return ops.CreateForeignKey(schema=schema, table_name=name, foreign_key=fk)

    def drop(fk: ForeignKey) -> ops.Operation:
        return ops.DropForeignKey(schema=schema, table_name=name, foreign_key=fk)

    return diff_named(ctx, current, (current.foreign_keys, target.foreign_keys),
                      part="foreign_keys", kind="foreign key", create=create, drop=drop)


def _retyped_columns(operations: list[ops.Operation]) -> set[ColumnKey]:
    return {(op.schema, op.table_name, op.new.name) for op in operations
            if isinstance(op, ops.AlterColumn) and op.old.type != op.new.type}


def _dropped_keys(operations: list[ops.Operation]) -> set[tuple[str, str, frozenset[str]]]:
    out: set[tuple[str, str, frozenset[str]]] = set()
    for op in operations:
        if isinstance(op, ops.DropPrimaryKey):
            out.add((op.schema, op.table_name, frozenset(op.primary_key.columns)))
        elif isinstance(op, ops.DropUniqueConstraint):
            out.add((op.schema, op.table_name, frozenset(op.unique.columns)))
        elif isinstance(op, ops.DropIndex) and op.index.unique:
            out.add((op.schema, op.table_name, frozenset(op.index.columns)))
    return out


def _depends(table: Table, fk: ForeignKey, retyped: set[ColumnKey],
             dropped_keys: set[tuple[str, str, frozenset[str]]]) -> bool:
    own = {(table.schema, table.name, c) for c in fk.columns}
    ref = {(fk.ref_schema, fk.ref_table, c) for c in fk.ref_columns}
    key = (fk.ref_schema, fk.ref_table, frozenset(fk.ref_columns))
    return bool((own | ref) & retyped) or key in dropped_keys


def _handled(operations: list[ops.Operation]) -> tuple[set[tuple[str, str]], set[str]]:
    """Tables dropped, and ``schema.table.name`` of foreign keys or columns already dropped."""
    tables = {op.table.key for op in operations if isinstance(op, ops.DropTable)}
    names = {f"{op.schema}.{op.table_name}.{op.foreign_key.name}" for op in operations
             if isinstance(op, ops.DropForeignKey)}
    names |= {f"{op.schema}.{op.table_name}.{op.column.name}" for op in operations
              if isinstance(op, ops.DropColumn)}
    return tables, names


def rebuild_dependent_fks(ctx: DiffContext, current: Schema, target: Schema,
                          operations: list[ops.Operation]) -> list[ops.Operation]:
    """Drop + create for every surviving foreign key that ``operations`` would otherwise break.

    The re-created definition is the target's; an unmanaged foreign key is put back exactly as
    it was (and a note says so).
    """
    retyped, keys = _retyped_columns(operations), _dropped_keys(operations)
    dropped_tables, dropped = _handled(operations)
    out: list[ops.Operation] = []
    if not (retyped or keys):
        return out
    wanted = tables_by_key(target)
    for table in current.tables:
        if table.key in dropped_tables:
            continue
        declared = wanted.get(table.key)
        for fk in table.foreign_keys:
            prefix = f"{table.schema}.{table.name}."
            if prefix + fk.name in dropped or any(prefix + c in dropped for c in fk.columns):
                continue
            if not _depends(table, fk, retyped, keys):
                continue
            again = next((f for f in declared.foreign_keys if f.name == fk.name),
                         None) if declared is not None else None
            if again is None:
                ctx.notes.append(f"unmanaged foreign key '{label(table.schema, table.name)}."
                                 f"{fk.name}' dropped and re-created unchanged around a "
                                 "change of the columns it involves")
            out += [ops.DropForeignKey(schema=table.schema, table_name=table.name,
                                       foreign_key=fk),
                    ops.CreateForeignKey(schema=table.schema, table_name=table.name,
                                         foreign_key=again or fk)]
    return out


def note_blocking_references(ctx: DiffContext, current: Schema,
                             operations: list[ops.Operation]) -> None:
    """Note each foreign key that stays (unmanaged) while the table it references is dropped:
    PostgreSQL will refuse the drop and the migration will roll back."""
    dropped_tables, dropped = _handled(operations)
    for table in current.tables:
        if table.key in dropped_tables:
            continue
        for fk in table.foreign_keys:
            name = f"{table.schema}.{table.name}.{fk.name}"
            if (fk.ref_schema, fk.ref_table) in dropped_tables and name not in dropped:
                ctx.notes.append(
                    f"foreign key '{name}' references table "
                    f"'{label(fk.ref_schema, fk.ref_table)}', which is dropped: PostgreSQL "
                    "will refuse the drop until that foreign key goes")
