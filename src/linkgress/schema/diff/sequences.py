"""Standalone sequences: create, alter options (the current value is left alone), drop when
managed."""

from __future__ import annotations

from linkgress.schema import operations as ops
from linkgress.schema.diff.context import DiffContext, label
from linkgress.schema.snapshot import Schema


def diff_sequences(ctx: DiffContext, current: Schema, target: Schema) -> list[ops.Operation]:
    """Create, alter and (managed) drop operations for sequences."""
    have = {s.key: s for s in current.sequences}
    wanted = {s.key for s in target.sequences}
    out: list[ops.Operation] = []
    for seq in target.sequences:
        old = have.get(seq.key)
        if old is None:
            out.append(ops.CreateSequence(sequence=seq))
        elif old != seq:
            out.append(ops.AlterSequence(old=old, new=seq))
    for seq in current.sequences:
        if seq.key in wanted:
            continue
        if ctx.may_drop_type("sequences", seq.schema, seq.name):
            out.append(ops.DropSequence(sequence=seq))
        else:
            ctx.unmanaged("sequence", label(seq.schema, seq.name))
    return out
