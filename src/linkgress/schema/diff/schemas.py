"""Schemas: create the target's (``public`` is assumed to exist), drop a recorded one the
target no longer uses — only when every object the snapshot shows in it is being dropped too,
since ``DROP SCHEMA`` (never CASCADE) would fail on anything left. Objects the snapshot does
not describe (views, functions) still make PostgreSQL refuse: the migration then rolls back."""

from __future__ import annotations

from linkgress.schema import operations as ops
from linkgress.schema.diff.context import DiffContext
from linkgress.schema.snapshot import Schema


def create_schemas(current: Schema, target: Schema) -> list[ops.Operation]:
    """``CreateSchema`` for every non-public schema of ``target`` that ``current`` lacks."""
    return [ops.CreateSchema(schema_name=s) for s in target.schemas
            if s != "public" and s not in current.schemas]


def _remaining(current: Schema, schema: str, operations: list[ops.Operation]) -> int:
    dropped = {(op.schema, op.table.name) for op in operations if isinstance(op, ops.DropTable)}
    dropped |= {(op.schema, op.enum_name) for op in operations if isinstance(op, ops.DropEnum)}
    dropped |= {op.sequence.key for op in operations if isinstance(op, ops.DropSequence)}
    keys = [*(t.key for t in current.tables), *(e.key for e in current.enums),
            *(s.key for s in current.sequences)]
    return len([k for k in keys if k[0] == schema and k not in dropped])


def drop_schemas(ctx: DiffContext, current: Schema, target: Schema,
                 operations: list[ops.Operation]) -> list[ops.Operation]:
    """``DropSchema`` for recorded schemas the target no longer uses that will be empty."""
    out: list[ops.Operation] = []
    for schema in current.schemas:
        if schema in target.schemas or schema == "public":
            continue
        if not ctx.may_drop_schema(schema):
            ctx.unmanaged("schema", schema)
            continue
        left = _remaining(current, schema, operations)
        if left:
            ctx.notes.append(f"schema '{schema}' kept: it still holds {left} object(s) "
                             "linkgress does not manage")
        else:
            out.append(ops.DropSchema(schema_name=schema))
    return out
