"""The error path of writes: which column, and which input row, a value asyncpg could not
encode belongs to.

asyncpg checks a value against its column's type while encoding it, before the statement
reaches the server. For a statement it says ``invalid input for query argument $4: ...``;
during ``COPY`` it raises the bare codec error (``OverflowError: value out of int32 range``)
naming neither row nor column. The write code knows which argument number belongs to which
column, so it names them here. Nothing in this module runs unless a write failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg

from linkgress.errors import DatabaseError
from linkgress.query import session

if TYPE_CHECKING:
    from linkgress.query.writeplan import TablePlan
    from linkgress.scope import QueryScope

__all__ = ["COPY_ENCODING_ERRORS", "BadValue", "RowsRejected", "bad_argument", "bad_value",
           "client_side", "input_row", "locate", "named_argument_error", "original_error",
           "rejected_row", "table_label", "value_error"]

#: What asyncpg's codecs raise for a value of the wrong type or out of range during ``COPY``
#: (``AttributeError``: a ``str`` where a ``date`` belongs has no ``toordinal``).
COPY_ENCODING_ERRORS = (TypeError, ValueError, ArithmeticError, AttributeError)

_ARGUMENT = re.compile(r"invalid input for query argument \$(\d+): (.*)", re.S)


def bad_argument(exc: DatabaseError) -> tuple[int, str] | None:
    """``(argument number, problem)`` when ``exc`` is asyncpg failing to encode an argument
    (the value and why), else None."""
    cause = exc.__cause__
    if exc.sqlstate is not None or not isinstance(cause, asyncpg.DataError):
        return None
    match = _ARGUMENT.match(str(cause))
    return None if match is None else (int(match[1]), match[2])


def value_error(plan: TablePlan, attr: str, problem: str, *, what: str,
                argument: int | None = None, row: str | None = None,
                sql: str | None = None) -> DatabaseError:
    """``<what>: invalid value for table.column (Entity.attr, argument $n, row i): problem``."""
    column = plan.names[attr]
    where = [f"{plan.entity.__name__}.{attr}"]
    if argument is not None:
        where.append(f"argument ${argument}")
    if row is not None:
        where.append(row)
    return DatabaseError(
        f"{what}: invalid value for {table_label(plan)}.{column} ({', '.join(where)}): "
        f"{problem}", sql=sql, table=plan.meta.table, column=column)


def table_label(plan: TablePlan) -> str:
    """``table``, or ``schema.table`` outside ``public``."""
    meta = plan.meta
    return meta.table if meta.schema == "public" else f"{meta.schema}.{meta.table}"


def named_argument_error(exc: DatabaseError, plan: TablePlan, what: str,
                         attr_of: Callable[[int], str | None]) -> DatabaseError | None:
    """``exc`` restated naming the column of the argument asyncpg could not encode
    (``attr_of(n)``: the attribute bound as ``$n``, or None); None when that does not apply.
    Raise the result ``from exc.__cause__``."""
    found = bad_argument(exc)
    attr = None if found is None else attr_of(found[0])
    if found is None or attr is None:
        return None
    return value_error(plan, attr, found[1], what=what, argument=found[0], sql=exc.sql)


def client_side(exc: DatabaseError) -> bool:
    """True for a value asyncpg could not encode (the statement never reached the server)."""
    return exc.sqlstate is None and isinstance(exc.__cause__, ValueError)


def original_error(error: BaseException) -> BaseException:
    """The original exception: asyncpg's, not the DatabaseError translating it."""
    return error.__cause__ or error if isinstance(error, DatabaseError) else error


def bad_value(exc: DatabaseError, attrs: tuple[str, ...], rows: int,
               extra_attrs: tuple[str, ...]) -> BadValue | None:
    """Where argument $n of a multi-row VALUES statement of ``rows`` rows giving ``attrs`` is
    (its row None for a parameter of the ON CONFLICT clause, setting ``extra_attrs``)."""
    found = bad_argument(exc)
    if found is None:
        return None
    number, problem = found
    index = number - 1
    if index < rows * len(attrs):
        return BadValue(index // len(attrs), attrs[index % len(attrs)], problem)
    index -= rows * len(attrs)
    return BadValue(None, extra_attrs[index], problem) if index < len(extra_attrs) else None


@dataclass(frozen=True)
class BadValue:
    """Where a value of a group of rows failed: its row in the group (None for a value not
    of a row), its attribute, why."""

    row: int | None
    attr: str
    problem: str


class RowsRejected(Exception):
    """Internal: a group of rows (those giving ``attrs``) failed to encode. ``bad`` says where,
    when known (a statement's error names the argument); after a failed ``COPY`` it is found
    by :func:`locate`. Turned into a :class:`DatabaseError` by the caller."""

    def __init__(self, attrs: tuple[str, ...], rows: Sequence[tuple[Any, ...]],
                 error: BaseException, sql: str, bad: BadValue | None = None,
                 sqlstate: str | None = None) -> None:
        super().__init__(str(error))
        self.attrs, self.rows, self.error, self.sql, self.bad = attrs, rows, error, sql, bad
        self.sqlstate = sqlstate

    def to_error(self, plan: TablePlan, what: str, row_label: str | None) -> DatabaseError:
        """The user's error; ``row_label`` names the input row of ``bad`` (e.g. ``row 7``)."""
        if self.bad is None:
            return DatabaseError(
                f"{what}: {table_label(plan)} rejected a value while encoding the rows "
                f"({', '.join(plan.names[a] for a in self.attrs)}): "
                f"{type(self.error).__name__}: {self.error}", sql=self.sql,
                sqlstate=self.sqlstate, table=plan.meta.table)
        error = value_error(plan, self.bad.attr, self.bad.problem, what=what, row=row_label,
                            sql=self.sql)
        error.sqlstate = self.sqlstate
        return error


async def locate(scope: QueryScope, plan: TablePlan, attrs: tuple[str, ...],
                 rows: Sequence[tuple[Any, ...]], step: int) -> BadValue | None:
    """The first value of ``rows`` asyncpg cannot encode for its column: asks asyncpg to bind
    the rows, ``step`` at a time, to ``EXPLAIN INSERT`` (planned, never run: nothing is
    inserted), whose arguments have the table's own column types, exactly as ``COPY``'s."""
    width = len(attrs)
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        sql = "EXPLAIN " + plan.values_sql(attrs, len(chunk))
        try:
            await session.fetch(scope, sql, [value for row in chunk for value in row])
        except DatabaseError as exc:
            found = bad_argument(exc)
            if found is None:
                return None  # the server refused the plan: the rows cannot be told apart
            number, problem = found
            return BadValue(start + (number - 1) // width, attrs[(number - 1) % width],
                            problem)
    return None


def input_row(plan: TablePlan, source: Iterable[Any], groups: int, attrs: tuple[str, ...],
              row: int, what: str) -> str:
    """``row N`` (0-based, in the caller's input) for the ``row``-th row of the group giving
    ``attrs``; with several groups from an iterator (already consumed) it says which group."""
    if groups == 1:
        return f"row {row}"
    if isinstance(source, Sequence):
        seen = -1
        for index, item in enumerate(source):
            values: Mapping[str, Any] = plan.values_of(item, what)
            if plan.given(values) == attrs:
                seen += 1
                if seen == row:
                    return f"row {index}"
    return f"row {row} of those setting {', '.join(attrs)}"


def rejected_row(plan: TablePlan, rejected: RowsRejected, source: Iterable[Any], groups: int,
                 what: str) -> str | None:
    """The input row of ``rejected``'s bad value (None when unknown or not a row's value)."""
    bad = rejected.bad
    if bad is None or bad.row is None:
        return None  # e.g. a value of upsert(update={...})
    return input_row(plan, source, groups, rejected.attrs, bad.row, what)
