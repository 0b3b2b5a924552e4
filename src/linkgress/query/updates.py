"""The ``update`` / ``delete`` statements a query returns (:class:`UpdateQuery`,
:class:`DeleteQuery`).

They take a small filter value — the :class:`~linkgress.query.statements.SelectQuery` of the
query they came from — not the queryable itself, build an
:class:`~linkgress.query.statements.UpdateStatement` / ``DeleteStatement`` and run it: walked
for its shape key and parameters (:func:`~linkgress.query.shape.shape_of_write`), compiled once
per shape (:func:`~linkgress.query.writesql.compile_write`), values always bound.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from linkgress.errors import ConcurrencyError, DatabaseError, QueryBuildError
from linkgress.query import session
from linkgress.query.categories import ACCEPTS
from linkgress.query.expressions import Expr, Param, checked_value, coerce_operand
from linkgress.query.lambdaplan import Recipe, make_recipe, replay
from linkgress.query.projection import PEntity, Projection
from linkgress.query.proxies import ColumnRef, build_projection
from linkgress.query.readers import build_row_reader
from linkgress.query.shape import ShapeWalk, shape_of_write
from linkgress.query.statements import DeleteStatement, SelectQuery, UpdateStatement
from linkgress.query.writeerrors import named_argument_error
from linkgress.query.writeplan import table_plan
from linkgress.query.writesql import compile_write

if TYPE_CHECKING:
    from linkgress.scope import QueryContext

__all__ = ["DeleteQuery", "PlannedFilter", "UpdateQuery"]

T = TypeVar("T")
_Reader = Callable[[Sequence[Any]], Any]
# Primary-key values an UPDATE binds exactly as given (no cast, no conversion).
_KEY_TYPES = frozenset({int, str, uuid.UUID})
# Column categories whose value check is by the value's type alone (an ACCEPTS entry; not
# arrays, whose elements a later check may look at): a type it passed unchanged once always
# passes (TablePlan.plain_types).
_TYPE_CHECKED = frozenset(ACCEPTS) - {"array"}


class PlannedFilter:
    """The filter of a replayed ``where`` lambda (``PlannedQueryable``), for a write: the
    statement's SQL and a recipe for its parameters are kept on the lambda plan, so that the
    next write through the same lambda neither rebuilds the condition nor walks it."""

    __slots__ = ("build", "entries", "table", "values")

    def __init__(self, table: SelectQuery, entries: dict[Any, Any], values: tuple[Any, ...],
                 build: Callable[[], tuple[SelectQuery, dict[int, int]]]) -> None:
        #: The table's bare query (its source is the statement's), the plan's cache, this
        #: call's closure values, and ``() -> (filter, id(Param) -> closure value index)``.
        self.table = table
        self.entries = entries
        self.values = values
        self.build = build


class _WriteQuery(Generic[T]):
    """What ``UPDATE`` and ``DELETE`` share: the filter of the query they came from (plus the
    primary key of an entity, for ``update(entity)`` / ``delete(entity)``), awaiting for the
    affected row count, and ``returning()``."""

    _verb = ""
    #: ``update(entity)`` / ``delete(entity)`` of an entity with a concurrency token: the
    #: entity and the token value the statement expects (see :meth:`_token_filter`).
    _checked: tuple[Any, Any] | None = None
    #: The filter of a replayed ``where`` lambda, until the statement is built (see
    #: :meth:`_planned_prepare`).
    _planned: PlannedFilter | None = None
    _sets: tuple[tuple[ColumnRef, Expr], ...] = ()
    _expressions = False  # set by UpdateQuery._set_item when a new value is an expression

    def __init__(self, context: QueryContext, cache: dict[Any, Any],
                 filter: SelectQuery | PlannedFilter, entity: Any = None) -> None:
        self._context = context
        self._cache = cache
        if isinstance(filter, PlannedFilter):
            self._planned = filter
            filter = filter.table  # the root until the statement is built
        self._filter = filter
        self._root = filter.source
        self._plan = table_plan(self._root.meta)
        self._key: Expr | None = None
        if entity is not None:
            self._key = self._key_filter(entity)

    def _check_entity(self, entity: Any) -> tuple[Any, ...]:
        """The primary-key values of ``entity`` (``update(entity)`` / ``delete(entity)``);
        raises :class:`~linkgress.errors.QueryBuildError` for another class or an unset key."""
        plan = self._plan
        what = f"{self._verb.lower()}(entity)"
        keys = plan.require_key(what)
        if not isinstance(entity, plan.entity):
            raise QueryBuildError(f"{what} expects a {plan.entity.__name__}, got {entity!r}")
        values = self._given_key = entity.__dict__
        for attr in keys:
            if values.get(attr) is None:
                raise QueryBuildError(f"{what}: {plan.entity.__name__}.{attr} (primary key) is "
                                      "not set; insert the entity first")
        return tuple([values[attr] for attr in keys])

    def _key_filter(self, entity: Any) -> Expr:
        plan = self._plan
        condition: Expr | None = None
        for attr, value in zip(plan.pk_attrs, self._check_entity(entity), strict=True):
            part = self._root.columns[attr] == value
            condition = part if condition is None else condition & part
        assert condition is not None
        if plan.token is not None:
            condition = condition & self._token_filter(entity, plan.token,
                                                       f"{self._verb.lower()}(entity)")
        return condition

    def _token_filter(self, entity: Any, token: str, what: str) -> Expr:
        """``version = $old``: the concurrency token as the entity was read."""
        old = entity.__dict__.get(token)
        if old is None:
            raise QueryBuildError(
                f"{what}: {self._plan.entity.__name__}.{token} (concurrency token) is not "
                f"set; read the entity first, or {self._verb.lower()} with "
                f"where(...).{self._verb.lower()}(...) (no check)")
        self._checked = (entity, old)
        check: Expr = self._root.columns[token] == old
        return check

    def _after(self, affected: int) -> None:
        """Raise :class:`ConcurrencyError` when a checked statement matched no row."""
        checked = self._checked
        if checked is None or affected:
            return
        plan, (entity, old) = self._plan, checked
        key = {attr: entity.__dict__.get(attr) for attr in plan.pk_attrs}
        shown = ", ".join(f"{attr}={value!r}" for attr, value in key.items())
        raise ConcurrencyError(
            f"{self._verb.lower()}(entity): {plan.entity.__name__}({shown}) with "
            f"{plan.token}={old!r} matched no row: another writer changed or deleted it since "
            "it was read; read it again and redo the change", entity=plan.entity.__name__,
            key=key, token=old)

    def _statement(self, returning: Projection | None) -> UpdateStatement | DeleteStatement:
        raise NotImplementedError

    def _prepare(self, returning: Projection | None) -> tuple[str, list[Any], _Reader | None]:
        if self._planned is not None:
            planned = self._planned_prepare(returning)
            if planned is not None:
                return planned
        fast = self._fast_key() if returning is None else None
        if fast is not None:
            sql: str | None = self._cache.get(fast)
            if sql is not None:
                return sql, self._fast_params(), None
        statement = self._statement(returning)
        key, params, numbers = shape_of_write(statement)
        entry: tuple[str, _Reader | None] | None = self._cache.get(key)
        if entry is None:
            reader = None if returning is None else build_row_reader(returning)
            entry = self._cache[key] = (compile_write(statement, numbers), reader)
        if fast is not None:
            self._cache[fast] = entry[0]
        return entry[0], params, entry[1]

    def _planned_prepare(self, returning: Projection | None
                         ) -> tuple[str, list[Any], _Reader | None] | None:
        """SQL and parameters from the lambda plan's cache (filled on the shape's first run);
        None for the general path, which then has the real filter."""
        planned = self._planned
        assert planned is not None
        simple = returning is None and self._key is None and not self._expressions
        key = (self._verb, *[ref.meta.attr for ref, _ in self._sets])
        slot: tuple[str, Recipe] | None = planned.entries.get(key) if simple else None
        if slot is not None:
            # Bound from the closure values, then the new values (in a simple SET list, each
            # a bound Param).
            values = (*planned.values,
                      *[expr.value for _, expr in self._sets])  # type: ignore[attr-defined]
            return slot[0], replay(slot[1], values), None
        self._filter, made = planned.build()
        self._planned = None
        if not simple:
            return None
        statement = self._statement(None)
        _, params, numbers = shape_of_write(statement)
        sql = compile_write(statement, numbers)
        first = len(planned.values)
        indexes = {**made, **{id(expr): first + k for k, (_, expr) in enumerate(self._sets)}}
        planned.entries[key] = (sql, make_recipe(params, numbers, indexes))
        return sql, params, None

    def _fast_key(self) -> tuple[Any, ...] | None:
        """A cache key that skips the walk (a statement whose parameters are known without
        it), or None."""
        return None

    def _fast_params(self) -> list[Any]:
        raise NotImplementedError

    def __await__(self) -> Generator[Any, None, int]:
        return self._count().__await__()

    async def _count(self) -> int:
        sql, params, _ = self._prepare(None)
        try:
            status = await session.execute(self._context.query_scope, sql, params)
        except DatabaseError as exc:
            self._raise_named(exc)
            raise
        affected = session.affected_rows(status)
        self._after(affected)
        return affected

    def _raise_named(self, exc: DatabaseError) -> None:
        """Raise ``exc`` restated naming the column, when a value did not fit its column."""
        named = named_argument_error(exc, self._plan, f"{self._verb.lower()}()",
                                     self._argument_attr)
        if named is not None:
            raise named from exc.__cause__

    def _argument_attr(self, number: int) -> str | None:
        """The attribute whose new value is bound as ``$number`` (None: a filter's value)."""
        return None

    async def returning(self, projection: Callable[[Any], Any] | None = None) -> list[Any]:
        """Run the statement and return the affected rows: entities (as stored after the
        statement) without an argument, else what ``projection`` (a lambda like a
        ``select``'s: ``lambda u: {"id": u.id, "email": u.email}``) makes of each row."""
        if projection is None:
            shape: Projection = PEntity(self._root)
        else:
            shape = build_projection(projection(self._root.proxy()))
        sql, params, reader = self._prepare(shape)
        assert reader is not None
        try:
            rows: Sequence[Any] = await session.fetch(self._context.query_scope, sql, params)
        except DatabaseError as exc:
            self._raise_named(exc)
            raise
        self._after(len(rows))
        return [reader(row) for row in rows]


class UpdateQuery(_WriteQuery[T]):
    """``query.update(values)``: an ``UPDATE`` of the query's rows.

    ``values`` is a dict of attribute -> new value (bound as a parameter; enum members and JSON
    values converted per column), or a lambda receiving the row's column proxies and returning
    such a dict whose values may be expressions (``lambda u: {"score": u.score + 1}``) — or an
    entity, to write its set fields to its row by primary key (``db.users.update(user)``).
    Await it for the number of rows updated, or call :meth:`returning`. An unknown attribute
    or a value of the wrong type raises :class:`~linkgress.errors.QueryBuildError` here, when
    the statement is built.
    """

    _verb = "UPDATE"

    #: ``update(entity)`` on the table, the common case (see :meth:`_by_entity`): the entity
    #: and its new values; the statement's tree is built only if its SQL is not cached.
    _entity: tuple[Any, Mapping[str, Any]] | None = None
    _by_key: tuple[Any, ...] | None = None

    def __init__(self, context: QueryContext, cache: dict[Any, Any],
                 filter: SelectQuery | PlannedFilter, values: Any, *,
                 table: bool = False) -> None:
        super().__init__(context, cache, filter)
        entity = isinstance(values, self._plan.entity)
        if entity:
            if table and self._by_entity(values):
                return
            self._key = self._key_filter(values)
            values = self._entity_values(values)
        elif callable(values):
            values = values(self._root.proxy())
        if not isinstance(values, Mapping):
            raise QueryBuildError(
                f"update() expects a dict of new values (or a lambda returning one), got "
                f"{values!r}")
        if not values:
            raise QueryBuildError("update() needs at least one column to set")
        self._sets = tuple([self._set_item(attr, value) for attr, value in values.items()])
        token = self._plan.token
        if token is not None and token not in values:
            ref = self._root.columns[token]  # every ORM update moves the token on
            self._sets += ((ref, ref + 1),)

    def _by_entity(self, entity: Any) -> bool:
        """``update(entity)`` on the table without a concurrency token: check the key and
        every new value now (errors stay on this line), bind them as they are, and keep the
        expression tree for a first run of the statement's shape (:meth:`_statement`). False
        when the case is not that simple (the general path then takes it)."""
        plan = self._plan
        if plan.token is not None or not plan.plain_key:
            return False
        by_key = self._check_entity(entity)
        if not all(type(v) in _KEY_TYPES for v in by_key):
            return False
        for attr, value in zip(plan.pk_attrs, by_key, strict=True):
            self._value_checked(attr, value)  # as the key's condition would: bound as given
        given = self._entity_values(entity)
        params = []
        for attr, value in given.items():
            if isinstance(value, Expr):
                return False
            params.append(self._set_value(attr, value))
        self._entity = (entity, given)
        self._by_key = by_key
        self._params = params
        return True

    def _built(self) -> None:
        """Build the tree :meth:`_by_entity` left for later (once)."""
        if self._entity is not None and self._key is None:
            entity, given = self._entity
            self._key = self._key_filter(entity)
            self._sets = tuple([self._set_item(attr, value) for attr, value in given.items()])

    def _entity_values(self, entity: Any) -> dict[str, Any]:
        keys = (*self._plan.pk_attrs, self._plan.token)
        attrs = self._plan.attr_set
        given = {a: v for a, v in entity.__dict__.items() if a in attrs and a not in keys}
        if not given:
            raise QueryBuildError(f"update(entity): {self._plan.entity.__name__} has no "
                                  "field set besides its primary key")
        return given

    def _after(self, affected: int) -> None:
        super()._after(affected)
        if self._checked is not None:
            entity, old = self._checked  # the row's token moved on: the entity's follows
            entity.__dict__[self._plan.token] = old + 1

    def _set_item(self, attr: Any, value: Any) -> tuple[ColumnRef, Expr]:
        ref = self._root.columns.get(attr) if isinstance(attr, str) else None
        if ref is None:
            raise self._plan.unknown(attr)
        if isinstance(value, Expr):
            self._expressions = True
            return ref, coerce_operand(ref, value, "update()")
        return ref, Param(self._set_value(attr, value), None)

    def _set_value(self, attr: str, value: Any) -> Any:
        """The new value of column ``attr``, checked against it and encoded for the driver."""
        if value is None:
            return None
        checked = self._value_checked(attr, value)
        encoder = self._plan.encoders.get(attr)
        return checked if encoder is None else encoder(checked)

    def _value_checked(self, attr: str, value: Any) -> Any:
        """``value`` checked against column ``attr`` (:func:`checked_value`); a value of a
        type the check passed unchanged before is not checked again."""
        plain = self._plan.plain_types[attr]
        if type(value) in plain:
            return value
        ref = self._root.columns[attr]
        checked = checked_value(ref, value, "update()")
        if checked is value and ref.category in _TYPE_CHECKED and (
                ref.meta is None or ref.meta.type.name != "numeric"):
            plain.add(type(value))  # the check depends on the type alone: it passed
        return checked

    def _statement(self, returning: Projection | None) -> UpdateStatement:
        self._built()
        return UpdateStatement(self._filter, self._sets, self._key, returning)

    def _fast_key(self) -> tuple[Any, ...] | None:
        # ``update(entity)`` on the table: the SET values, then the key, bound as given.
        if self._entity is None or self._by_key is None:  # (set together, by _by_entity)
            return None
        return ("update by key", self._plan.entity, *self._entity[1], *map(type, self._by_key))

    def _fast_params(self) -> list[Any]:
        assert self._by_key is not None  # _fast_key gave a key
        return [*self._params, *self._by_key]

    def _argument_attr(self, number: int) -> str | None:
        self._built()
        w = ShapeWalk()  # numbered as shape_of_write numbers them: the SET values come first
        for ref, expr in self._sets:
            w.expr(expr)
            if number <= len(w.params):
                return ref.meta.attr
        return None


class DeleteQuery(_WriteQuery[T]):
    """``query.delete()``: a ``DELETE`` of the query's rows (or, given an entity, of its row
    by primary key). Await it for the number of rows deleted, or call :meth:`returning`."""

    _verb = "DELETE"

    def _statement(self, returning: Projection | None) -> DeleteStatement:
        return DeleteStatement(self._filter, self._key, returning)
