"""Statement values: everything a SELECT, UPDATE, DELETE or INSERT needs, as frozen values.

The builders (:mod:`linkgress.query.queryable`, :mod:`linkgress.query.updates`,
:mod:`linkgress.query.mutations`) make these; the passes read them: the shape walker
(:mod:`linkgress.query.shape`) for a cache key and the parameter values, the compiler
(:mod:`linkgress.query.compiler`) for the SQL text. Nothing here runs a query.

A :class:`SelectQuery` is a NamedTuple: a builder call replaces one field with
:func:`replace_field` (several times faster than ``_replace`` or ``dataclasses.replace``; it
runs on every builder call), naming the field by its index constant (:data:`WHERE`, ...).
The other statements are frozen dataclasses (``dataclasses.replace`` works on them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from linkgress.query.expressions import Expr, Ordering, Param
from linkgress.query.projection import Projection

if TYPE_CHECKING:
    from linkgress.model.meta import EntityMeta
    from linkgress.query.joins import Join
    from linkgress.query.proxies import ColumnRef, Source

__all__ = [
    "AGGREGATE",
    "DISTINCT",
    "GROUP_BY",
    "HAVING",
    "JOINS",
    "LIMIT",
    "LOCK",
    "OFFSET",
    "ORDERING",
    "PROJECTION",
    "WHERE",
    "Compound",
    "DeleteStatement",
    "InsertStatement",
    "OnConflict",
    "RowLock",
    "SelectQuery",
    "UpdateStatement",
    "is_bare",
    "replace_field",
]


class SelectQuery(NamedTuple):
    """Everything a SELECT needs. ``projection`` None means the root entity."""

    source: Source
    where: Expr | None = None
    projection: Projection | None = None
    ordering: tuple[Ordering, ...] = ()
    limit: Param | None = None
    offset: Param | None = None
    distinct: bool = False
    group_by: tuple[Expr, ...] = ()
    having: Expr | None = None
    aggregate: Expr | None = None  # the argument of sum/min/max/avg statements
    lock: RowLock | None = None  # FOR UPDATE / FOR SHARE (see linkgress.query.locks)
    joins: tuple[Join, ...] = ()  # explicit join() / left_join(), in order


#: Field indexes of :class:`SelectQuery`, for :func:`replace_field`.
WHERE, PROJECTION, ORDERING, LIMIT, OFFSET, DISTINCT, GROUP_BY, HAVING, AGGREGATE, JOINS = (
    SelectQuery._fields.index(name) for name in (
        "where", "projection", "ordering", "limit", "offset", "distinct", "group_by", "having",
        "aggregate", "joins"))
LOCK = SelectQuery._fields.index("lock")

# The fields of a SelectQuery straight from a table (compared by identity).
_BARE = SelectQuery.__new__.__defaults__ or ()


def replace_field(query: SelectQuery, index: int, value: Any) -> SelectQuery:
    """``query`` with field ``index`` (:data:`WHERE`, :data:`LIMIT`, ...) set to ``value``."""
    return tuple.__new__(SelectQuery, (*query[:index], value, *query[index + 1:]))


def is_bare(query: SelectQuery) -> bool:
    """True for a query straight from a table: every field but the source at its default."""
    return all(a is b for a, b in zip(query[1:], _BARE, strict=True))


@dataclass(frozen=True, slots=True, eq=False)
class RowLock:
    """The locking clause of a SELECT: ``FOR <strength> [OF <sources>] [<wait>]``.

    ``strength`` is ``"UPDATE"`` or ``"SHARE"``; ``wait`` is ``None`` (wait for the lock),
    ``"NOWAIT"`` or ``"SKIP LOCKED"``; ``of`` the sources to lock (empty: every table of the
    statement).
    """

    strength: str
    wait: str | None = None
    of: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Compound:
    """``first UNION [ALL] second ...``; rows come out in the first part's projection."""

    parts: tuple[SelectQuery, ...]
    operators: tuple[str, ...]  # "UNION" | "UNION ALL", one per part after the first


@dataclass(frozen=True, slots=True, eq=False)
class UpdateStatement:
    """``UPDATE <filter's table> SET ... WHERE <filter> [AND <key>] [RETURNING ...]``.

    ``filter`` is the query the update came from (its root table, its condition; ordering,
    paging or joins make it a ``pk IN (SELECT ...)``); ``key`` matches one entity's primary
    key; ``returning`` is the projection of the affected rows to return, if any.
    """

    filter: SelectQuery
    sets: tuple[tuple[ColumnRef, Expr], ...]
    key: Expr | None = None
    returning: Projection | None = None


@dataclass(frozen=True, slots=True, eq=False)
class DeleteStatement:
    """``DELETE FROM <filter's table> WHERE <filter> [AND <key>] [RETURNING ...]``."""

    filter: SelectQuery
    key: Expr | None = None
    returning: Projection | None = None


@dataclass(frozen=True, slots=True)
class OnConflict:
    """The ``ON CONFLICT (target) DO ...`` clause of an upsert.

    ``action`` is ``"nothing"``, ``"excluded"`` (``attrs`` set from the inserted row) or
    ``"bound"`` (``attrs`` set to bound values numbered after the rows' values);
    ``increment`` names a concurrency token the update moves on (``token = token + 1``).
    Compared by value: it is part of the cache key of the statement's text.
    """

    target: tuple[str, ...]
    action: str = "nothing"
    attrs: tuple[str, ...] = ()
    increment: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class InsertStatement:
    """``INSERT INTO table (attrs) VALUES (...) * rows`` (``DEFAULT VALUES`` without attrs).

    ``returning`` asks for every column of the inserted row back (single-row inserts).
    """

    table: EntityMeta
    attrs: tuple[str, ...]
    rows: int = 1
    returning: bool = False
    conflict: OnConflict | None = None
