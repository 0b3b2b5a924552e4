"""Type changes PostgreSQL cannot carry out, found before anything runs.

``ALTER COLUMN ... TYPE new USING expr`` fails at execution when PostgreSQL has no cast from
the old type (``numeric`` to ``timestamp``) or the model's ``column(using=...)`` expression does
not type-check. Planning asks the server first, without touching any table: for each type
change it prepares ``SELECT (expr)::new FROM (SELECT NULL::old AS "col") AS "table"`` in a
savepoint that is always rolled back — PostgreSQL resolves the cast (or the expression) exactly
as the ``ALTER`` would, and no row is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg

from linkgress.errors import MigrationError
from linkgress.schema import operations as ops
from linkgress.schema.quoting import quote_ident

if TYPE_CHECKING:
    from linkgress.connection import RawConnection


def type_changes(operations: list[ops.Operation]) -> list[ops.AlterColumn]:
    """The column alterations that change a type in place."""
    return [op for op in operations if isinstance(op, ops.AlterColumn)
            and op.old.type != op.new.type
            and not (op.new.generated is not None and op.old.generated != op.new.generated)]


def probe_sql(op: ops.AlterColumn) -> str:
    """The statement that type-checks ``op``'s conversion against no rows."""
    col = quote_ident(op.new.name)
    expression = (f"({op.new.using})" if op.new.using is not None
                  else op.using if op.using is not None else col)
    return (f"SELECT ({expression})::{op.new.type.sql} FROM (SELECT NULL::{op.old.type.sql} "
            f"AS {col}) AS {quote_ident(op.table_name)}")


def _refusal(op: ops.AlterColumn, exc: asyncpg.PostgresError) -> MigrationError:
    where = op.table_name if op.schema == "public" else f"{op.schema}.{op.table_name}"
    given = (f"the model's using={op.new.using!r} does not convert it"
             if op.new.using is not None else
             "give the conversion with column(..., using=\"<expression over the old "
             "column>\")")
    return MigrationError(
        f"column '{where}.{op.new.name}' cannot change from {op.old.type.display} to "
        f"{op.new.type.display}: PostgreSQL says {exc}; {given}; no schema change was made",
        operation=op)


async def check_type_changes(conn: RawConnection, operations: list[ops.Operation]) -> None:
    """Raise :class:`MigrationError` naming the first column whose type change PostgreSQL
    cannot carry out (see the module docstring); return when every change type-checks."""
    for op in type_changes(operations):
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.fetch(probe_sql(op))
        except asyncpg.PostgresError as exc:
            raise _refusal(op, exc) from exc
        finally:
            await transaction.rollback()
