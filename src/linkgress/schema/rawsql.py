"""Running model-derived DDL one statement at a time, and naming the raw SQL at fault.

Some model options are raw SQL by design — ``default_sql=``, ``check=`` / ``has_check``, index
expressions and ``has_index(where=...)`` — and are inserted verbatim into the DDL. They must
never carry a second statement (``where="true; DROP TABLE t"``). PostgreSQL's simple query
protocol runs every statement of a string; its extended protocol (a prepared statement)
refuses more than one with "cannot insert multiple commands into a prepared statement". So
every statement linkgress renders from the model is sent with :func:`execute_one`, and a
refusal is explained by :func:`stacked_statement_hint`, which names the option.

The renderers (:mod:`linkgress.schema.ddl`) already return one string per statement, so no
SQL is ever split or parsed here.
"""

from __future__ import annotations

from functools import singledispatch
from typing import TYPE_CHECKING

import asyncpg

from linkgress.schema import operations as ops
from linkgress.schema.snapshot import CheckConstraint, Column, Index

if TYPE_CHECKING:
    from linkgress.connection import RawConnection

MULTIPLE_COMMANDS = "cannot insert multiple commands into a prepared statement"


async def execute_one(conn: RawConnection, sql: str) -> None:
    """Run ``sql`` as exactly one statement, through the extended query protocol.

    The statement is prepared as the *unnamed* statement (``name=""``): it is not put into
    asyncpg's statement cache and leaves no named statement behind on the server, and a
    ``CREATE INDEX CONCURRENTLY`` still runs outside any transaction block. Raises
    ``asyncpg.PostgresError`` as PostgreSQL reports it; callers wrap it.
    """
    statement = await conn.prepare(sql, name="")
    await statement.fetch()


def is_stacked(exc: BaseException) -> bool:
    """True when PostgreSQL refused ``exc``'s statement for holding more than one command."""
    return isinstance(exc, asyncpg.PostgresSyntaxError) and MULTIPLE_COMMANDS in str(exc)


def column_options(columns: tuple[Column, ...]) -> list[tuple[str, str]]:
    return [(f"default of column '{c.name}'", c.default) for c in columns
            if c.default is not None and c.identity is None]


def check_options(checks: tuple[CheckConstraint, ...]) -> list[tuple[str, str]]:
    return [(f"check '{c.name}'", c.expression) for c in checks]


def index_options(index: Index) -> list[tuple[str, str]]:
    out = [(f"index '{index.name}' expression", e) for e in index.columns
           if e.startswith("(")]
    if index.where is not None:
        out.append((f"index '{index.name}' where=", index.where))
    return out


@singledispatch
def raw_options(op: ops.Operation) -> list[tuple[str, str]]:
    """The raw SQL texts ``op`` inserts verbatim, as ``(what, text)`` pairs."""
    return []


@raw_options.register
def _(op: ops.CreateTable) -> list[tuple[str, str]]:
    return column_options(op.table.columns) + check_options(op.table.checks)


@raw_options.register
def _(op: ops.AddColumn) -> list[tuple[str, str]]:
    return column_options((op.column,))


@raw_options.register
def _(op: ops.AlterColumn) -> list[tuple[str, str]]:
    using = [] if op.using is None else [(f"USING of column '{op.new.name}'", op.using)]
    return column_options((op.new,)) + using


@raw_options.register
def _(op: ops.CreateCheckConstraint) -> list[tuple[str, str]]:
    return check_options((op.check,))


@raw_options.register
def _(op: ops.CreateIndex) -> list[tuple[str, str]]:
    return index_options(op.index)


@raw_options.register
def _(op: ops.RecreateEnum) -> list[tuple[str, str]]:
    return [(f"default of column '{u.column_name}'", u.default) for u in op.columns
            if u.default is not None]


@raw_options.register
def _(op: ops.CreateView) -> list[tuple[str, str]]:
    return [(f"query of view '{op.view.name}'", op.view.definition)]


def failure_reason(op: ops.Operation, exc: BaseException) -> str:
    """PostgreSQL's message; for a refused second statement, with the raw option at fault."""
    if is_stacked(exc):
        return f"{exc}: {stacked_statement_hint(raw_options(op))}"
    return str(exc)


def stacked_statement_hint(options: list[tuple[str, str]]) -> str:
    """A sentence naming the raw SQL option(s) that can hold the second statement.

    Only an option containing ``;`` can: identifiers and literals are always quoted. (A ``;``
    inside a string literal of the option makes it a suspect too, so all suspects are named.)
    """
    rule = ("default_sql=, check=, has_check, index expressions, where= and view queries are "
            "raw SQL and take exactly one expression (or query), never a second statement")
    suspects = [f"{what} {text!r}" for what, text in options if ";" in text]
    if not suspects:
        return f"the statement holds more than one SQL command; {rule}"
    return f"the second statement comes from {' or '.join(suspects)}; {rule}"
