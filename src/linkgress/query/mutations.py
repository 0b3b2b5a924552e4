"""Writing rows: ``insert``, ``insert_many`` (COPY or multi-row INSERT) and ``upsert`` of a
table (:class:`TableMutations`), and the ``update`` / ``delete`` statements a query returns
(:class:`UpdateQuery`, :class:`DeleteQuery`).

:class:`TableMutations` is mixed into :class:`~linkgress.query.table.DbTable`, which provides
``context`` and ``meta``. Statements are built once per shape and cached; values are always
bind parameters (or COPY data), converted per column by :mod:`linkgress.query.convert`.

Which columns an insert sends: the fields *set* on the entity (assigned in the constructor or
later — they live in the instance ``__dict__``), or the keys of a dict. An unset field is left
to the database: its default, identity, or NULL (a NOT NULL column without a default then
fails with :class:`~linkgress.errors.NotNullViolation`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from linkgress.errors import DatabaseError, QueryBuildError
from linkgress.query import session
from linkgress.query.compiler import ROOT_ALIAS, _Compiler, _Walk, _walk_projection
from linkgress.query.expressions import ColumnRef, Expr, Param
from linkgress.query.materialize import (
    PEntity,
    Projection,
    build_projection,
    build_row_reader,
    projection_columns,
)
from linkgress.query.writeerrors import (
    COPY_ENCODING_ERRORS,
    BadValue,
    RowsRejected,
    bad_value,
    client_side,
    locate,
    named_argument_error,
    original_error,
    rejected_row,
)
from linkgress.query.writeplan import Member, TablePlan, group_rows, table_plan
from linkgress.schema.quoting import quote_ident

if TYPE_CHECKING:
    from linkgress.model.meta import EntityMeta
    from linkgress.query.navigation import Source
    from linkgress.query.queryable import Queryable
    from linkgress.scope import QueryContext

__all__ = ["COPY_THRESHOLD", "MAX_PARAMS", "DeleteQuery", "TableMutations", "UpdateQuery"]

E = TypeVar("E")
T = TypeVar("T")

#: ``insert_many`` uses COPY from this many rows on (below it, one multi-row INSERT is faster:
#: COPY needs an extra round trip to learn the column types).
COPY_THRESHOLD = 100
#: PostgreSQL's limit of bind parameters in one statement.
MAX_PARAMS = 32767

# offset -> (ON CONFLICT clause, its parameters, the attribute each parameter sets)
_Action = Callable[[int], tuple[str, list[Any], tuple[str, ...]]]
_Groups = list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]
QUERY_CANCELED = "57014"  # the SQLSTATE of a COPY the client aborted (CopyFail)


class TableMutations(Generic[E]):
    """``insert``, ``insert_many`` and ``upsert`` of a table (mixed into ``DbTable``)."""

    context: QueryContext
    meta: EntityMeta

    async def insert(self, entity: E | Mapping[str, Any]) -> E:
        """Insert one row and return the entity with every column as stored (generated
        identity, defaults) — the given entity itself, updated, or a new one for a dict.

        Raises :class:`~linkgress.errors.QueryBuildError` for an unknown field and a
        :class:`~linkgress.errors.DatabaseError` subclass when PostgreSQL rejects the row (or
        a value does not fit its column: the error names the column).
        """
        plan = table_plan(self.meta)
        values = plan.values_of(entity, "insert()")
        attrs = plan.given(values)
        try:
            record = await session.fetchrow(
                self.context.query_scope, plan.insert_sql(attrs), plan.params(attrs, values))
        except DatabaseError as exc:
            named = named_argument_error(
                exc, plan, "insert()", lambda n: attrs[n - 1] if n <= len(attrs) else None)
            if named is None:
                raise
            raise named from exc.__cause__
        target = entity if isinstance(entity, plan.entity) else plan.new_entity()
        return plan.fill(target, record)  # type: ignore[no-any-return]

    async def insert_many(self, rows: Iterable[E | Mapping[str, Any]]) -> int:
        """Insert many rows; return how many were inserted. Generated values are not read
        back (use ``insert`` for that).

        From :data:`COPY_THRESHOLD` rows on this uses ``COPY`` (asyncpg's binary
        ``copy_records_to_table``), below it multi-row ``INSERT`` statements within the bind
        parameter limit. Rows setting different sets of fields are inserted group by group.
        When that takes several statements they run in one transaction (a savepoint inside
        an enclosing one), so either every row is inserted or none. A value that does not fit
        its column raises :class:`~linkgress.errors.DatabaseError` naming the column and the
        row (its 0-based index in ``rows``).
        """
        plan = table_plan(self.meta)
        groups = group_rows(plan, rows, "insert_many()")
        statements = sum(_statement_count(plan, a, len(r)) for a, r in groups)
        # A failed COPY aborts an enclosing transaction unless this call has its own block.
        usable = statements > 1 or self.context.query_scope.transaction.get() is None
        try:
            if statements > 1:
                async with self.context.transaction():
                    return await self._insert_groups(plan, groups)
            return await self._insert_groups(plan, groups)
        except RowsRejected as rejected:
            raise await self._rejected(plan, rejected, rows, len(groups), usable,
                                       "insert_many()") from original_error(rejected.error)

    async def _insert_groups(self, plan: TablePlan, groups: _Groups) -> int:
        total = 0
        for attrs, rows in groups:
            if attrs and len(rows) >= COPY_THRESHOLD:
                total += await self._copy(plan, attrs, rows)
            else:
                total += await self._insert_values(plan, attrs, rows)
        return total

    async def _copy(self, plan: TablePlan, attrs: tuple[str, ...],
                    rows: list[tuple[Any, ...]]) -> int:
        columns = [plan.names[a] for a in attrs]
        try:
            return await session.copy_records(
                self.context.query_scope, self.meta.table, self.meta.schema, columns, rows)
        except (*COPY_ENCODING_ERRORS, DatabaseError) as exc:
            if isinstance(exc, DatabaseError) and not client_side(exc):
                raise
            sql = f"COPY {plan.table_sql} ({', '.join(map(quote_ident, columns))}) FROM STDIN"
            # asyncpg answered the failure with CopyFail: the server cancelled the COPY.
            raise RowsRejected(attrs, rows, exc, sql, sqlstate=QUERY_CANCELED) from exc

    async def _rejected(self, plan: TablePlan, rejected: RowsRejected, source: Iterable[Any],
                        groups: int, usable: bool, what: str) -> DatabaseError:
        """The error for rows that failed to encode; after a COPY, finds the value at fault
        (when the connection still allows it)."""
        if rejected.bad is None and usable:
            rejected.bad = await locate(self.context.query_scope, plan, rejected.attrs,
                                        rejected.rows, _rows_per_statement(len(rejected.attrs), 0))
        error = rejected.to_error(plan, what, rejected_row(plan, rejected, source, groups, what))
        state = self.context.query_scope.transaction.get()
        if not usable and state is not None:
            state.record(error)  # the COPY aborted the enclosing transaction: it cannot commit
        return error

    async def _insert_values(
        self, plan: TablePlan, attrs: tuple[str, ...], rows: list[tuple[Any, ...]],
        action: _Action | None = None,
    ) -> int:
        total = 0
        extra = action(0)[1] if action is not None else []
        step = _rows_per_statement(len(attrs) or 1, len(extra))
        for start in range(0, len(rows), step):
            chunk = rows[start:start + step]
            sql = plan.values_sql(attrs, len(chunk))
            params = [value for row in chunk for value in row]
            extra_attrs: tuple[str, ...] = ()
            if action is not None:
                suffix, extra, extra_attrs = action(len(params))
                sql = f"{sql} {suffix}"
                params.extend(extra)
            try:
                status = await session.execute(self.context.query_scope, sql, params)
            except DatabaseError as exc:
                bad = bad_value(exc, attrs, len(chunk), extra_attrs)
                if bad is None:
                    raise
                if bad.row is not None:
                    bad = BadValue(start + bad.row, bad.attr, bad.problem)
                raise RowsRejected(attrs, rows, exc, sql, bad) from exc
            total += session.affected_rows(status)
        return total

    async def upsert(
        self,
        rows: E | Mapping[str, Any] | Iterable[E | Mapping[str, Any]],
        *,
        conflict: Sequence[Member],
        update: Sequence[Member] | Mapping[str, Any] | None = None,
    ) -> int:
        """Insert rows; on a conflict over the ``conflict`` columns (which need a unique
        constraint or index), update the existing row instead — or skip it.

        ``update``: a list of columns (each set to the inserted row's value, ``EXCLUDED``;
        a row that does not give a listed column leaves it unchanged), or a dict of
        column -> new value (bound), or None for ``DO NOTHING``. Columns are attribute names or
        lambdas selecting one (``lambda u: u.email``). Returns the number of rows inserted or
        updated (skipped rows do not count). Two rows with the same key in one call make
        PostgreSQL raise (``ON CONFLICT DO UPDATE`` cannot touch a row twice).
        """
        plan = table_plan(self.meta)
        if not conflict:
            raise QueryBuildError("upsert() needs at least one conflict column")
        targets = [plan.member(m, "upsert(conflict=...)") for m in conflict]
        batch: Iterable[Any] = (
            [rows] if isinstance(rows, plan.entity | Mapping) else cast("Iterable[Any]", rows))
        groups = group_rows(plan, batch, "upsert()")
        target_sql = ", ".join(plan.quoted[a] for a in targets)
        actions = [_conflict_action(plan, target_sql, attrs, update) for attrs, _ in groups]
        statements = sum(_statement_count(plan, a, len(r), upsert=True) for a, r in groups)
        try:
            if statements > 1:
                async with self.context.transaction():
                    return await self._upsert_groups(plan, groups, actions)
            return await self._upsert_groups(plan, groups, actions)
        except RowsRejected as rejected:  # a statement's error: it names the value
            row = rejected_row(plan, rejected, batch, len(groups), "upsert()")
            raise rejected.to_error(plan, "upsert()", row) from original_error(rejected.error)

    async def _upsert_groups(self, plan: TablePlan, groups: _Groups,
                             actions: list[_Action]) -> int:
        total = 0
        for (attrs, rows), action in zip(groups, actions, strict=True):
            total += await self._insert_values(plan, attrs, rows, action)
        return total


def _conflict_action(
    plan: TablePlan, target_sql: str, attrs: tuple[str, ...],
    update: Sequence[Member] | Mapping[str, Any] | None,
) -> _Action:
    """For a group giving ``attrs``: ``offset -> (ON CONFLICT ... clause, its params)``, the
    clause's placeholders numbered after ``offset`` VALUES parameters."""
    head = f"ON CONFLICT ({target_sql}) "
    if update is None or not update:
        return lambda offset: (head + "DO NOTHING", [], ())
    if isinstance(update, Mapping):
        chosen = [(plan.member(m, "upsert(update=...)"), v) for m, v in update.items()]
        extra = [v if a not in plan.encoders else plan.encoders[a](v) for a, v in chosen]
        extra_attrs = tuple(a for a, _ in chosen)

        def bound(offset: int) -> tuple[str, list[Any], tuple[str, ...]]:
            sets = ", ".join(
                f"{plan.quoted[a]} = ${offset + i}" for i, (a, _) in enumerate(chosen, 1))
            return head + "DO UPDATE SET " + sets, extra, extra_attrs

        return bound
    names = [plan.member(m, "upsert(update=...)") for m in update]
    present = [a for a in names if a in attrs]
    clause = head + ("DO UPDATE SET " + ", ".join(
        f"{plan.quoted[a]} = EXCLUDED.{plan.quoted[a]}" for a in present)
        if present else "DO NOTHING")
    return lambda offset: (clause, [], ())


def _rows_per_statement(width: int, extra: int) -> int:
    return max(1, min(1000, (MAX_PARAMS - extra) // width))


def _statement_count(
    plan: TablePlan, attrs: tuple[str, ...], rows: int, *, upsert: bool = False
) -> int:
    if attrs and rows >= COPY_THRESHOLD and not upsert:
        return 1
    step = _rows_per_statement(len(attrs) or 1, 0)
    return -(-rows // step)


# --- UPDATE / DELETE ------------------------------------------------------------------------------


class _Statement(Generic[T]):
    """What ``UPDATE`` and ``DELETE`` share: the filter of the query they came from (plus the
    primary key of an entity, for ``update(entity)`` / ``delete(entity)``), awaiting for the
    affected row count, and ``returning()``."""

    _verb = ""

    def __init__(self, query: Queryable[Any], entity: Any = None) -> None:
        self._query = query
        self._root: Source = query._source
        self._plan = table_plan(self._root.meta)
        self._key: Expr | None = None
        if entity is not None:
            self._key = self._key_filter(entity)

    def _key_filter(self, entity: Any) -> Expr:
        plan = self._plan
        what = f"{self._verb.lower()}(entity)"
        keys = plan.require_key(what)
        if not isinstance(entity, plan.entity):
            raise QueryBuildError(f"{what} expects a {plan.entity.__name__}, got {entity!r}")
        values = entity.__dict__
        condition: Expr | None = None
        for attr in keys:
            if values.get(attr) is None:
                raise QueryBuildError(f"{what}: {plan.entity.__name__}.{attr} (primary key) is "
                                      "not set; insert the entity first")
            part = self._root.columns[attr] == values[attr]
            condition = part if condition is None else condition & part
        assert condition is not None
        return condition

    def _walk_own(self, w: _Walk) -> None:
        """Walk this statement's own expressions (before the query's filter)."""
        w.opt(self._key)

    def _own_shape(self) -> tuple[Any, list[Any]]:
        """Shape key and parameters of this statement's own expressions. Subclasses with a
        cheaper way to know them (plain values) override this."""
        own = _Walk()
        self._walk_own(own)
        return tuple(own.key), own.params

    def _render_own(self, c: _Compiler) -> str:
        """The statement up to (excluding) the query's filter."""
        raise NotImplementedError

    def _prepare(self, projection: Projection | None
                 ) -> tuple[str, list[Any], Callable[[Sequence[Any]], Any] | None]:
        own_key, own_params = self._own_shape()
        where_sql, where_params = self._query._where_sql(len(own_params))
        offset = len(own_params) + len(where_params)
        tail: _Walk | None = None
        if projection is not None:
            tail = _Walk()
            _walk_projection(tail, projection)
        cache = self._query._cache
        key = ("mutation", self._verb, own_key, where_sql,
               None if tail is None else tuple(tail.key), offset)
        entry = cache.get(key)
        if entry is None:
            entry = cache[key] = self._compile(where_sql, tail, offset, projection)
        head, returning, reader = entry
        if tail is None:
            own_params.extend(where_params)
            return head, own_params, reader
        return head + returning, [*own_params, *where_params, *tail.params], reader

    def _compile(self, where_sql: str, tail: _Walk | None, offset: int,
                 projection: Projection | None) -> tuple[str, str, Any]:
        own = _Walk()  # again, for the parameter numbers (only when the cache misses)
        self._walk_own(own)
        numbers = dict(own.numbers)
        if tail is not None:
            numbers.update((k, v + offset) for k, v in tail.numbers.items())
        c = _Compiler(numbers)
        scope, alias = c.push(self._root)
        assert alias == ROOT_ALIAS
        head = self._render_own(c)
        conditions = [where_sql] if where_sql else []
        if self._key is not None:
            conditions.append(c.expr(self._key))
        if conditions:
            head += " WHERE " + " AND ".join(conditions)
        returning = reader = None
        if projection is not None:
            returning = " RETURNING " + ", ".join(
                c.expr(item) for item in projection_columns(projection))
            reader = build_row_reader(projection)
        if scope.joins:
            raise QueryBuildError(
                f"{self._verb.lower()}() values and returning() cannot follow a reference "
                "navigation (u.user.name): filter through one with where(...) instead")
        return head, returning or "", reader

    def __await__(self) -> Generator[Any, None, int]:
        return self._count().__await__()

    async def _count(self) -> int:
        sql, params, _ = self._prepare(None)
        try:
            status = await session.execute(self._query._context.query_scope, sql, params)
        except DatabaseError as exc:
            self._raise_named(exc)
            raise
        return session.affected_rows(status)

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
            rows: Sequence[Any] = await session.fetch(self._query._context.query_scope, sql, params)
        except DatabaseError as exc:
            self._raise_named(exc)
            raise
        return [reader(row) for row in rows]


class UpdateQuery(_Statement[T]):
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

    def __init__(self, query: Queryable[Any], values: Any) -> None:
        super().__init__(query)
        if isinstance(values, self._plan.entity):
            self._key = self._key_filter(values)
            keys = self._plan.pk_attrs
            given = {a: v for a, v in values.__dict__.items()
                     if a in self._plan.attr_set and a not in keys}
            if not given:
                raise QueryBuildError(f"update(entity): {self._plan.entity.__name__} has no "
                                      "field set besides its primary key")
            values = given
        elif callable(values):
            values = values(self._root.proxy())
        if not isinstance(values, Mapping):
            raise QueryBuildError(
                f"update() expects a dict of new values (or a lambda returning one), got "
                f"{values!r}")
        if not values:
            raise QueryBuildError("update() needs at least one column to set")
        self._sets = tuple(self._set_item(attr, value) for attr, value in values.items())
        # Plain values (no expressions, no entity key): the shape is just the column list.
        self._plain = self._key is None and all(
            type(expr) is Param and expr.cast is None for _, expr in self._sets)

    def _set_item(self, attr: Any, value: Any) -> tuple[ColumnRef, Expr]:
        ref = self._root.columns.get(attr) if isinstance(attr, str) else None
        if ref is None:
            raise self._plan.unknown(attr)
        if isinstance(value, Expr):
            return ref, ref._operand(value, "update()")
        if value is None:
            return ref, Param(None, None)
        checked = ref._value(value, "update()")
        encoder = self._plan.encoders.get(attr)
        return ref, Param(checked if encoder is None else encoder(checked), None)

    def _walk_own(self, w: _Walk) -> None:
        for ref, expr in self._sets:
            w.key.append(ref.meta.attr)
            w.expr(expr)
        w.opt(self._key)

    def _argument_attr(self, number: int) -> str | None:
        w = _Walk()  # numbered as _walk_own numbers them: the SET values come first
        for ref, expr in self._sets:
            w.expr(expr)
            if number <= len(w.params):
                return ref.meta.attr
        return None

    def _own_shape(self) -> tuple[Any, list[Any]]:
        if self._plain:
            sets = self._sets
            return (("plain", *(ref.meta.attr for ref, _ in sets)),
                    [expr.value for _, expr in sets])  # type: ignore[attr-defined]
        return super()._own_shape()

    def _render_own(self, c: _Compiler) -> str:
        sets = ", ".join(f"{quote_ident(ref.meta.name)} = {c.expr(expr)}"
                         for ref, expr in self._sets)
        return f"UPDATE {self._plan.table_sql} AS {ROOT_ALIAS} SET {sets}"


class DeleteQuery(_Statement[T]):
    """``query.delete()``: a ``DELETE`` of the query's rows (or, given an entity, of its row
    by primary key). Await it for the number of rows deleted, or call :meth:`returning`."""

    _verb = "DELETE"

    def _render_own(self, c: _Compiler) -> str:
        return f"DELETE FROM {self._plan.table_sql} AS {ROOT_ALIAS}"
