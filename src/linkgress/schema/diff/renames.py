"""Column renames from the model's hint, applied to ``current`` before anything is compared.

PostgreSQL keeps constraints, indexes and foreign keys attached to a renamed column, so the
renamed snapshot rewrites the column name everywhere ``current`` lists it by name (primary key,
unique constraints, plain index columns, foreign keys on both ends). Expressions (checks, index
expressions and predicates) are SQL text and stay as they are: if they mention the old name,
they compare unequal and are replaced, which is correct if not minimal.
"""

from __future__ import annotations

from dataclasses import replace

from linkgress.schema import operations as ops
from linkgress.schema.diff.columns import rename_hints
from linkgress.schema.diff.context import tables_by_key
from linkgress.schema.snapshot import ForeignKey, Schema, Table

Renames = dict[tuple[str, str], dict[str, str]]  # table key -> {old: new}


def _names(names: tuple[str, ...], mapping: dict[str, str]) -> tuple[str, ...]:
    return tuple(mapping.get(n, n) for n in names)


def _rename_in_table(table: Table, mapping: dict[str, str]) -> Table:
    pk = table.primary_key
    return replace(
        table,
        columns=tuple(replace(c, name=mapping.get(c.name, c.name)) for c in table.columns),
        primary_key=None if pk is None else replace(pk, columns=_names(pk.columns, mapping)),
        uniques=tuple(replace(u, columns=_names(u.columns, mapping)) for u in table.uniques),
        indexes=tuple(replace(i, columns=_names(i.columns, mapping)) for i in table.indexes),
        foreign_keys=tuple(replace(f, columns=_names(f.columns, mapping))
                           for f in table.foreign_keys))


def _rename_references(fk: ForeignKey, renames: Renames) -> ForeignKey:
    mapping = renames.get((fk.ref_schema, fk.ref_table))
    return fk if not mapping else replace(fk, ref_columns=_names(fk.ref_columns, mapping))


def apply_rename_hints(current: Schema, target: Schema) -> tuple[list[ops.Operation], Schema]:
    """The :class:`RenameColumn` operations the target's hints call for, and ``current`` as it
    will look after them."""
    renames: Renames = {}
    have = tables_by_key(current)
    for table in target.tables:
        if not any(c.renamed_from for c in table.columns):
            continue
        existing = have.get(table.key)
        if existing is not None and (mapping := rename_hints(existing, table)):
            renames[table.key] = mapping
    if not renames:
        return [], current
    out: list[ops.Operation] = [
        ops.RenameColumn(schema=schema, table_name=name, column_name=old, new_name=new)
        for (schema, name), mapping in renames.items() for old, new in mapping.items()]
    tables = []
    for table in current.tables:
        if table.key in renames:
            table = _rename_in_table(table, renames[table.key])
        fks = tuple(_rename_references(f, renames) for f in table.foreign_keys)
        tables.append(replace(table, foreign_keys=fks))
    return out, replace(current, tables=tuple(tables))
