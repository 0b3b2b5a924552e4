"""Row locks: what ``query.for_update(...)`` / ``query.for_share(...)`` build and check.

A lock is a :class:`~linkgress.query.statements.RowLock` on the query's
:class:`~linkgress.query.statements.SelectQuery`; the shape walker keys it and the compiler
renders it after ``LIMIT`` / ``OFFSET`` (``FOR UPDATE OF "t0" SKIP LOCKED``).

When mistakes surface:

- while the query is *built* (the ``for_update`` line): ``skip_locked`` with ``nowait``, an
  ``of=`` that names no source of the query, a query that is already ``distinct()`` or
  grouped (PostgreSQL cannot lock the rows of those);
- when the query is *awaited* (``to_list``, ``first``, ``count``, ``stream``, ...) outside a
  ``db.transaction()`` block: a lock taken by a statement running in a transaction of its own
  is released as soon as the statement ends, so it would protect nothing. Building the query
  outside the block and running it inside is fine.

``update()`` / ``delete()`` of a locked query need no transaction: the locking subquery and
the write are one statement (``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from linkgress.errors import QueryBuildError
from linkgress.model.meta import EntityMeta
from linkgress.query.compiler import check_lockable
from linkgress.query.proxies import EntityProxy, Source, source_of
from linkgress.query.statements import LOCK, RowLock, SelectQuery, replace_field

if TYPE_CHECKING:
    from linkgress.scope import QueryScope

__all__ = ["lock_sources", "locked", "require_transaction", "row_lock"]


def locked(query: SelectQuery, strength: str, *, grouped: bool, skip_locked: bool,
           nowait: bool, of: Any) -> SelectQuery:
    """``query`` with the row lock ``for_update`` / ``for_share`` asks for."""
    if grouped:
        raise QueryBuildError(f"for_{strength.lower()}(): rows of a group_by() query "
                              "cannot be locked; lock a plain query")
    lock = row_lock(query, strength, (query.source.proxy(),), skip_locked=skip_locked,
                    nowait=nowait, of=of)
    return replace_field(query, LOCK, lock)


def row_lock(query: SelectQuery, strength: str, proxies: tuple[Any, ...], *,
             skip_locked: bool, nowait: bool, of: Any) -> RowLock:
    """The :class:`RowLock` ``for_update`` / ``for_share`` asks for on ``query``.

    ``proxies`` are what an ``of=`` lambda receives (one proxy per source of the query).
    """
    what = f"for_{strength.lower()}()"
    if skip_locked and nowait:
        raise QueryBuildError(f"{what}: skip_locked=True and nowait=True exclude each other "
                              "(skip locked rows, or fail on the first one)")
    check_lockable(query, what)
    wait = "SKIP LOCKED" if skip_locked else "NOWAIT" if nowait else None
    return RowLock(strength, wait, lock_sources(query, of, proxies, what))


def lock_sources(query: SelectQuery, of: Any, proxies: tuple[Any, ...], what: str
                 ) -> tuple[Source, ...]:
    """The sources ``of=`` names: a lambda returning an entity proxy (or a tuple of them),
    a table (``db.posts``), or a tuple / list of tables. ``()`` for None (every table)."""
    if of is None:
        return ()
    if _table_meta(of) is None and callable(of):
        of = of(*proxies)
    items = of if isinstance(of, (tuple, list)) else (of,)
    sources = tuple(_source(query, item, what) for item in items)
    if not sources:
        raise QueryBuildError(f"{what}: of= names no table; leave it out to lock every table")
    return sources


def _table_meta(item: Any) -> EntityMeta | None:
    meta = getattr(item, "meta", None)
    return meta if isinstance(meta, EntityMeta) else None


def _source(query: SelectQuery, item: Any, what: str) -> Source:
    root = query.source
    if isinstance(item, EntityProxy):
        source = source_of(item)
        if source.scope_root is root:
            return source
        raise QueryBuildError(f"{what}: of= names {source.meta.name}, which is not a table "
                              "of this query")
    meta = _table_meta(item)
    if meta is None:
        raise QueryBuildError(f"{what}: of= expects a lambda returning an entity of the query "
                              f"(of=lambda p: p), or a table (of=db.posts), got {item!r}")
    if meta is root.meta:
        return root
    raise QueryBuildError(f"{what}: of= names the {meta.name} table, which is not the table "
                          f"of this query ({root.meta.name}); name a joined entity with a "
                          "lambda (of=lambda p: p.user)")


def require_transaction(scope: QueryScope, strength: str) -> None:
    """Raise :class:`QueryBuildError` unless a transaction block of the context is open."""
    if scope.transaction.get() is None:
        raise QueryBuildError(
            f"for_{strength.lower()}() needs a transaction: run the query inside "
            "`async with db.transaction():` (outside one, the row lock would be released "
            "as soon as the statement ends)")

