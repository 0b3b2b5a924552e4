"""``Queryable[T]``: the immutable, chainable query every table is.

Builder methods (``where``, ``select``, ``order_by``, ``limit``, ``group_by``, ...) evaluate
their lambda at once, against column proxies, and return a new queryable: a mistake raises
:class:`~linkgress.errors.QueryBuildError` on the line that makes it, and the values a lambda
reads from its closure are bound then (as parameters). Terminal methods (``to_list``,
``first``, ``count``, ``stream``, ...) are awaitable and run one statement
(:class:`~linkgress.query.running.RunnableQuery`).

:class:`PlannedQueryable` is what ``table.where(lambda ...)`` returns when a
:class:`~linkgress.query.lambdaplan.LambdaPlan` replays the lambda: running it costs neither
building the condition nor walking it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from linkgress.errors import QueryBuildError
from linkgress.query.categories import check_nulls
from linkgress.query.compound import CompoundQueryable
from linkgress.query.expressions import Expr, Param, as_expr
from linkgress.query.joins import build_join, call_with_sources, query_sources
from linkgress.query.lambdaargs import call_lambda
from linkgress.query.lambdaplan import (
    LambdaPlan,
    Recipe,
    closure_values,
    constant_lambda,
    make_plan,
    make_recipe,
    plan_key,
    replay,
)
from linkgress.query.locks import locked
from linkgress.query.projection import PEntity, Projection, PTuple
from linkgress.query.proxies import GroupProxy, Source, build_projection
from linkgress.query.results import TableResults
from linkgress.query.running import CacheEntry, Reader
from linkgress.query.sortkeys import orderings, page_param
from linkgress.query.statements import (
    DISTINCT,
    GROUP_BY,
    HAVING,
    LIMIT,
    OFFSET,
    ORDERING,
    PROJECTION,
    WHERE,
    Compound,
    SelectQuery,
    is_bare,
    replace_field,
)
from linkgress.query.subqueries import in_query
from linkgress.query.updates import DeleteQuery, PlannedFilter, UpdateQuery

if TYPE_CHECKING:
    from linkgress.scope import QueryContext

__all__ = ["PlannedQueryable", "Queryable"]

T = TypeVar("T")
R = TypeVar("R")

# The root sources whose lambdas are running now, innermost last (lambdas run synchronously;
# another thread's entry costs at most a needless fresh source, see Queryable._nested).
_RUNNING: list[Source] = []
_PLAN_LIMIT = 1024


class Queryable(TableResults[T]):
    """An immutable query over one table; every builder method returns a new queryable.

    Lambdas receive column proxies of the table's entity (``lambda u: u.username``), and after
    ``group_by`` a group (``lambda g: g.key``, ``g.count()``, ``g.sum(lambda x: x.views)``).
    ``where``/``order_by`` lambdas see the entity even after ``select``.
    """

    #: True for a query straight from a table: ``where`` may replay a lambda plan on it.
    _bare = False

    def __init__(self, context: QueryContext, query: SelectQuery,
                 group: GroupProxy | None = None, cache: dict[Any, Any] | None = None) -> None:
        self._context = context
        self._query = query
        self._group = group
        self._cache = context.query_scope.cache if cache is None else cache
        if group is None and is_bare(query):
            self._bare = True
            self._plans: dict[Any, LambdaPlan] = {}

    def _with(self, query: SelectQuery, group: GroupProxy | None = None) -> Queryable[Any]:
        new = object.__new__(Queryable)
        new._context = self._context
        new._query = query
        new._group = self._group if group is None else group
        new._cache = self._cache
        if self._primary:
            new._primary = True
        if query.lock is not None:
            new._locked = query.lock.strength
        return new

    def _call(self, fn: Callable[..., Any], what: str) -> Any:
        """``fn`` called with what lambdas receive: the group after ``group_by``, else one
        proxy per source (the root, then each joined query), marked as running meanwhile."""
        query = self._query
        _RUNNING.append(query.source)  # joined sources are new objects: never shared
        try:
            if self._group is not None:  # a subquery over the grouped table: a source of its own
                return call_lambda(fn, self._group)
            if query.joins:
                return call_with_sources(fn, query_sources(query), what)
            return call_lambda(fn, query.source.proxy())
        finally:
            _RUNNING.pop()

    def _nested(self) -> bool:
        """True for a table's query built inside a lambda over the same table (a subquery
        such as ``exists(db.users.where(lambda v: v.boss_id == u.id))``): it needs a source of
        its own, or its columns and the outer row's would be one and the same."""
        return self._bare and bool(_RUNNING) and self._query.source in _RUNNING

    def _detached(self) -> Queryable[T]:
        """This table's query over a new source (see :meth:`_nested`)."""
        source = self._query.source
        new: Queryable[T] = Queryable(self._context, SelectQuery(Source(source.model,
                                                                        source.meta)),
                                      cache=self._cache)
        if self._primary:
            new._primary = True
        return new

    def _statement(self) -> SelectQuery:
        if self._group is not None and self._query.projection is None:
            raise QueryBuildError("a grouped query needs a select(lambda g: {...}) "
                                  "(the key and aggregates to return)")
        if self._query.joins and self._query.projection is None:
            return replace_field(self._query, PROJECTION, self._projection())
        return self._query

    def _projection(self) -> Projection:
        projection = self._query.projection
        if projection is not None:
            return projection
        if self._query.joins:  # without select(): a tuple of the entities, one per source
            return PTuple(tuple(PEntity(s) for s in query_sources(self._query)))
        return PEntity(self._query.source)

    # -- builders ---------------------------------------------------------------------------

    def where(self, predicate: Callable[[Any], Any]) -> Queryable[T]:
        """Keep rows matching ``predicate``; several ``where`` calls are ANDed."""
        if _RUNNING and self._nested():
            return self._detached().where(predicate)
        values = closure_values(predicate) if self._bare else None
        if values is not None:
            key = plan_key(predicate, values)
            plan = self._plans.get(key)
            if plan is not None:  # the common case: a lambda seen before, replayed
                return PlannedQueryable(self, self._query, plan, values)
        if self._group is not None:
            raise QueryBuildError("after group_by, filter groups with having(...)")
        condition = as_expr(self._call(predicate, "where"))
        if condition.category not in ("bool", "any"):
            raise QueryBuildError(f"where() needs a condition, got {condition.describe()}")
        if values is not None:
            plan = make_plan(predicate, values, condition)
            if plan is not None:
                if len(self._plans) >= _PLAN_LIMIT:
                    self._plans.clear()
                self._plans[key] = plan
        current = self._query.where
        return self._with(replace_field(self._query, WHERE, condition if current is None
                                  else current & condition))

    def select(self, projection: Callable[[Any], R]) -> Queryable[R]:
        """Project each row: a dict (nested dicts allowed), a tuple, a dataclass or
        NamedTuple built from proxies, a single column, an entity (``p.user``) or a nested
        list (``u.posts.select(...).to_list()``)."""
        if _RUNNING and self._nested():
            return self._detached().select(projection)
        shape = build_projection(self._call(projection, "select"))
        return self._with(replace_field(self._query, PROJECTION, shape))

    def order_by(self, key: Callable[[Any], Any], *, descending: bool = False,
                 nulls: str | None = None) -> Queryable[T]:
        """Sort by ``key`` (replacing earlier sorting). ``key`` may return a tuple for several
        keys, or ``u.col.desc()`` / ``.asc(nulls="last")`` per key; ``nulls`` is ``"first"``
        or ``"last"``."""
        if _RUNNING and self._nested():
            return self._detached().order_by(key, descending=descending, nulls=nulls)
        keys = orderings(self._call(key, "order_by"), descending, nulls)
        return self._with(replace_field(self._query, ORDERING, keys))

    def order_by_descending(self, key: Callable[[Any], Any], *,
                            nulls: str | None = None) -> Queryable[T]:
        """``order_by(key, descending=True)``."""
        return self.order_by(key, descending=True, nulls=nulls)

    def then_by(self, key: Callable[[Any], Any], *, descending: bool = False,
                nulls: str | None = None) -> Queryable[T]:
        """Add sort keys after the current ones."""
        extra = orderings(self._call(key, "then_by"), descending, nulls)
        return self._with(replace_field(self._query, ORDERING, self._query.ordering + extra))

    def then_by_descending(self, key: Callable[[Any], Any], *,
                           nulls: str | None = None) -> Queryable[T]:
        """``then_by(key, descending=True)``."""
        return self.then_by(key, descending=True, nulls=nulls)

    def limit(self, count: int) -> Queryable[T]:
        """Return at most ``count`` rows."""
        return self._with(replace_field(self._query, LIMIT, page_param(count, "limit")))

    def offset(self, count: int) -> Queryable[T]:
        """Skip the first ``count`` rows."""
        return self._with(replace_field(self._query, OFFSET, page_param(count, "offset")))

    def distinct(self) -> Queryable[T]:
        """Drop duplicate rows (``SELECT DISTINCT``)."""
        return self._with(replace_field(self._query, DISTINCT, True))

    def group_by(self, key: Callable[[Any], Any]) -> Queryable[Any]:
        """Group rows by ``key`` (an expression, or a tuple / dict of expressions). Later
        lambdas receive the group: ``g.key`` (same shape as ``key`` returned), ``g.count()``,
        ``g.sum(lambda x: ...)``, ``g.min``, ``g.max``, ``g.avg``. End with ``select``."""
        if self._group is not None:
            raise QueryBuildError("group_by() was already called on this query")
        value = self._call(key, "group_by")
        items = (tuple(value.values()) if isinstance(value, dict)
                 else value if isinstance(value, tuple) else (value,))
        exprs = tuple(as_expr(v) for v in items)
        group = GroupProxy(self._query.source, value, query_sources(self._query)[1:])
        unordered = replace_field(self._query, ORDERING, ())
        return self._with(replace_field(unordered, GROUP_BY, exprs), group)

    def having(self, predicate: Callable[[Any], Any]) -> Queryable[T]:
        """Keep groups matching ``predicate`` (after ``group_by``)."""
        if self._group is None:
            raise QueryBuildError("having() needs group_by() first")
        condition = as_expr(self._call(predicate, "having"))
        current = self._query.having
        return self._with(replace_field(self._query, HAVING, condition if current is None
                                  else current & condition))

    def join(self, other: Queryable[Any], on: Callable[..., Any]) -> Queryable[Any]:
        """Inner join with ``other`` (a table, a filtered query or a CTE) where ``on`` holds:
        ``db.posts.join(db.users, lambda p, u: p.user_id == u.id)``. Later lambdas
        (``where``, ``select``, ``order_by``, ``group_by``, further joins) take one parameter
        per source; without ``select`` each row is a tuple of entities."""
        if _RUNNING and self._nested():
            return self._detached().join(other, on)
        return self._with(build_join(self._query, other._query, on, True))

    def left_join(self, other: Queryable[Any], on: Callable[..., Any]) -> Queryable[Any]:
        """Like :meth:`join`, keeping rows without a match: ``other``'s entity and columns
        then read as None."""
        if _RUNNING and self._nested():
            return self._detached().left_join(other, on)
        return self._with(build_join(self._query, other._query, on, False))

    def _linkgress_in(self, operand: Expr, negated: bool) -> Expr:
        """``operand.in_(this query)`` (see :meth:`~linkgress.query.expressions.Expr.in_`)."""
        return in_query(operand, self, negated)

    def union(self, other: Queryable[T]) -> CompoundQueryable[T]:
        """Rows of either query, without duplicates (``UNION``)."""
        return CompoundQueryable(self, ((None, self), ("UNION", other)))

    def union_all(self, other: Queryable[T]) -> CompoundQueryable[T]:
        """Rows of both queries, duplicates kept (``UNION ALL``)."""
        return CompoundQueryable(self, ((None, self), ("UNION ALL", other)))

    def for_update(self, *, skip_locked: bool = False, nowait: bool = False,
                   of: Any = None) -> Queryable[T]:
        """``SELECT ... FOR UPDATE``: lock the rows returned until the transaction ends. Await
        it inside ``db.transaction()`` (outside one: :class:`~linkgress.errors.QueryBuildError`).
        ``skip_locked=True`` leaves out rows others have locked (queue tables); ``nowait=True``
        raises :class:`~linkgress.errors.LockNotAvailable` instead of waiting. ``of`` locks
        some tables only: an entity lambda (``lambda p: p.user``), a tuple of them, or a table
        (``db.posts``); rendered ``FOR UPDATE OF "t0"``."""
        return self._with(locked(self._query, "UPDATE", grouped=self._group is not None,
                                 skip_locked=skip_locked, nowait=nowait, of=of))

    def for_share(self, *, skip_locked: bool = False, nowait: bool = False,
                  of: Any = None) -> Queryable[T]:
        """Like :meth:`for_update` with a shared lock (``FOR SHARE``): other transactions may
        read and share-lock the rows, but not change, delete or ``for_update()`` them."""
        return self._with(locked(self._query, "SHARE", grouped=self._group is not None,
                                 skip_locked=skip_locked, nowait=nowait, of=of))

    # -- mutations (see linkgress.query.updates) ------------------------------------------------

    def update(self, values: Any) -> UpdateQuery[T]:
        """Update the matching rows: ``values`` is a dict of new values, or a lambda returning
        one with expressions (``lambda u: {"score": u.score + 1}``), or an entity (its set
        fields, by primary key). Await the result for the affected row count, or call
        ``.returning(...)``."""
        self._check_writable("update")
        return UpdateQuery(self._context, self._cache, self._statement(), values,
                           table=self._bare)

    def delete(self, entity: T | None = None) -> DeleteQuery[T]:
        """Delete the matching rows — or, given an entity, its row by primary key (within
        this query's filter). Await the result for the count, or ``.returning(...)``."""
        self._check_writable("delete")
        return DeleteQuery(self._context, self._cache, self._statement(), entity)

    def _check_writable(self, verb: str) -> None:
        if self._query.joins:
            raise QueryBuildError(f"{verb}() on a joined query: filter the table with "
                                  "where(... .in_(joined query)) instead")

_LIMIT_STEP = ("limit",)
_OFFSET_STEP = ("offset",)


class PlannedQueryable(Queryable[T]):
    """``Queryable`` whose condition is a lambda plan replayed with new closure values.

    ``order_by`` / ``then_by`` with a sort key that builds the same tree on every call
    (:func:`~linkgress.query.lambdaplan.constant_lambda`), ``limit`` and ``offset`` stay on the
    plan: they are recorded as *steps* (part of the plan's cache key; limit and offset values
    are bound like closure values), and applied only when the query tree is needed.
    """

    _steps: tuple[Any, ...] = ()
    _step_args: tuple[Any, ...] = ()

    def __init__(self, base: Queryable[Any], table_query: SelectQuery, plan: LambdaPlan,
                 values: tuple[Any, ...], steps: tuple[Any, ...] = (),
                 step_args: tuple[Any, ...] = ()) -> None:
        # Field by field (never through ``__dict__``, which would give each object a dict of
        # its own instead of CPython's compact inline attributes): this runs on every call of
        # a builder of a planned query.
        self._context = base._context
        self._group = None
        self._cache = base._cache
        if base._primary:
            self._primary = True
        self._table_query = table_query
        self._plan = plan
        self._values = values
        if steps:
            self._steps = steps
            self._step_args = step_args

    def __getattr__(self, name: str) -> Any:
        if name != "_query":
            raise AttributeError(name)
        condition, made = self._plan.rebuild(self._values)
        query = replace_field(self._table_query, WHERE, condition)
        # A step's value is bound from ``(*self._values, *self._step_args)[index]``.
        for index, (step, arg) in enumerate(zip(self._steps, self._step_args, strict=True),
                                            len(self._values)):
            if step[0] == "order":
                keys = orderings(arg(query.source.proxy()), step[2], step[3])
                query = replace_field(query, ORDERING, keys if step[4] else query.ordering + keys)
            else:
                param = Param(arg, None)
                made[id(param)] = index
                query = replace_field(query, LIMIT if step[0] == "limit" else OFFSET, param)
        self._query = query
        self._made = made
        return query

    def _step(self, step: tuple[Any, ...], arg: Any) -> PlannedQueryable[T]:
        return PlannedQueryable(self, self._table_query, self._plan, self._values,
                                (*self._steps, step), (*self._step_args, arg))

    def order_by(self, key: Callable[[Any], Any], *, descending: bool = False,
                 nulls: str | None = None) -> Queryable[T]:
        if not constant_lambda(key):
            return super().order_by(key, descending=descending, nulls=nulls)
        if nulls is not None:
            check_nulls(nulls)
        return self._step(("order", key.__code__, descending, nulls, True), key)

    def then_by(self, key: Callable[[Any], Any], *, descending: bool = False,
                nulls: str | None = None) -> Queryable[T]:
        if not constant_lambda(key):
            return super().then_by(key, descending=descending, nulls=nulls)
        if nulls is not None:
            check_nulls(nulls)
        return self._step(("order", key.__code__, descending, nulls, False), key)

    def limit(self, count: int) -> Queryable[T]:
        if type(count) is not int or count < 0:
            page_param(count, "limit")  # raises, naming the value
        return self._step(_LIMIT_STEP, count)

    def offset(self, count: int) -> Queryable[T]:
        if type(count) is not int or count < 0:
            page_param(count, "offset")  # raises, naming the value
        return self._step(_OFFSET_STEP, count)

    def _fast(self, kind: str, most: int | None) -> tuple[CacheEntry, list[Any]]:
        """The compiled entry and parameters, from the plan when it has them."""
        steps = self._steps
        slot: tuple[CacheEntry, Recipe] | None = self._plan.entries.get((kind, most, steps))
        values = self._values + self._step_args if steps else self._values
        if slot is None:
            query = self._query
            entry, params, numbers = self._entry_numbered(
                kind, query if most is None else self._limited(most))
            recipe = make_recipe(params, numbers, self._made)
            slot = self._plan.entries[kind, most, steps] = (entry, recipe)
            return entry, params
        return slot[0], replay(slot[1], values)

    def _entry(self, kind: str, query: SelectQuery | Compound | None
               ) -> tuple[CacheEntry, list[Any]]:
        if query is None:
            return self._fast(kind, None)
        return super()._entry(kind, query)

    def update(self, values: Any) -> UpdateQuery[T]:
        if self._steps:
            return super().update(values)
        return UpdateQuery(self._context, self._cache, self._write_filter(), values)

    def delete(self, entity: T | None = None) -> DeleteQuery[T]:
        if self._steps:
            return super().delete(entity)
        return DeleteQuery(self._context, self._cache, self._write_filter(), entity)

    def _write_filter(self) -> PlannedFilter:
        """This query as the filter of an UPDATE / DELETE (its SQL kept on the plan)."""
        return PlannedFilter(self._table_query, self._plan.entries, self._values,
                             self._filter_made)

    def _filter_made(self) -> tuple[SelectQuery, dict[int, int]]:
        query = self._query  # built from the plan (and its parameters' closure indexes)
        return query, self._made

    def _prepare_limited(self, most: int) -> tuple[str, Reader | None, list[Any]]:
        if _LIMIT_STEP in self._steps:
            # min(limit, most) is a value of its own: the general path binds it.
            return super()._prepare_limited(most)
        entry, params = self._fast("rows", most)
        return entry[0], entry[1], params
