"""Runs the per-kind differs in the order their inputs need (renames first, tables before
enums, which must know which columns survive, schema drops last)."""

from __future__ import annotations

from linkgress.schema.diff.context import DiffContext
from linkgress.schema.diff.domains import diff_domains
from linkgress.schema.diff.enum_dependents import rebuild_enum_dependents
from linkgress.schema.diff.enums import diff_enums
from linkgress.schema.diff.foreign_keys import note_blocking_references, rebuild_dependent_fks
from linkgress.schema.diff.renames import apply_rename_hints
from linkgress.schema.diff.schemas import create_schemas, drop_schemas
from linkgress.schema.diff.sequences import diff_sequences
from linkgress.schema.diff.tables import diff_tables
from linkgress.schema.diff.views import diff_views
from linkgress.schema.operations import Operation
from linkgress.schema.snapshot import Schema


def run_diff(current: Schema, target: Schema, *, managed: Schema | None,
             manage_all: bool) -> tuple[list[Operation], list[str]]:
    """Unordered operations and notes for ``current`` -> ``target``."""
    ctx = DiffContext(target=target, managed=managed, manage_all=manage_all)
    operations, current = apply_rename_hints(current, target)
    operations += create_schemas(current, target)
    table_ops = diff_tables(ctx, current, target)
    operations += diff_enums(ctx, current, target, table_ops)
    operations += diff_domains(ctx, current, target)
    operations += diff_sequences(ctx, current, target)
    operations += table_ops
    operations += rebuild_enum_dependents(ctx, current, target, operations)
    operations += rebuild_dependent_fks(ctx, current, target, operations)
    operations += diff_views(ctx, current, target)
    note_blocking_references(ctx, current, operations)
    operations += drop_schemas(ctx, current, target, operations)
    return operations, ctx.notes
