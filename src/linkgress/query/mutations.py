"""Writing rows: ``insert``, ``insert_many`` (COPY or multi-row INSERT) and ``upsert`` of a
table (:class:`TableMutations`). The ``update`` / ``delete`` statements a query returns live in
:mod:`linkgress.query.updates`.

:class:`TableMutations` is mixed into :class:`~linkgress.query.table.DbTable`, which provides
``context`` and ``meta``. Statements are built once per shape and cached; values are always
bind parameters (or COPY data), converted per column by :mod:`linkgress.query.convert`.

Which columns an insert sends: the fields *set* on the entity (assigned in the constructor or
later — they live in the instance ``__dict__``), or the keys of a dict. An unset field is left
to the database: its default, identity, or NULL (a NOT NULL column without a default then
fails with :class:`~linkgress.errors.NotNullViolation`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from linkgress.errors import DatabaseError, QueryBuildError
from linkgress.query import session
from linkgress.query.statements import OnConflict
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
from linkgress.query.writeplan import Member, Shape, TablePlan, group_rows, table_plan
from linkgress.schema.quoting import quote_ident

if TYPE_CHECKING:
    from linkgress.model.meta import EntityMeta
    from linkgress.scope import QueryContext

__all__ = ["COPY_THRESHOLD", "MAX_PARAMS", "TableMutations"]

E = TypeVar("E")

#: ``insert_many`` uses COPY from this many rows on (below it, one multi-row INSERT is faster:
#: COPY needs an extra round trip to learn the column types).
COPY_THRESHOLD = 100
#: PostgreSQL's limit of bind parameters in one statement.
MAX_PARAMS = 32767

# An upsert's conflict clause, and the values its DO UPDATE SET binds (after the rows').
_Action = tuple[OnConflict, list[Any]]
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
        parameter limit. Rows setting different sets of fields are inserted group by group
        (outside a transaction, the leading rows setting the same fields as the first are
        streamed into a COPY as they are converted, the rest then grouped; all in a
        transaction of its own).
        When that takes several statements they run in one transaction (a savepoint inside
        an enclosing one), so either every row is inserted or none. A value that does not fit
        its column raises :class:`~linkgress.errors.DatabaseError` naming the column and the
        row (its 0-based index in ``rows``).
        """
        plan = table_plan(self.meta)
        batch = rows if isinstance(rows, list | tuple) else list(rows)
        shape = plan.shape(batch[0]) if len(batch) >= COPY_THRESHOLD else None
        if shape and shape[1] and self.context.query_scope.transaction.get() is None:
            try:
                async with self.context.transaction():
                    return await self._copy_streamed(plan, shape, batch)
            except (RowsRejected, *COPY_ENCODING_ERRORS, DatabaseError) as exc:
                if isinstance(exc, DatabaseError) and not client_side(exc):
                    raise  # what the server said of the rows (the same on the general path)
                # Rolled back: the general path redoes it, and names the row at fault.
        groups = group_rows(plan, batch, "insert_many()")
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

    async def _copy_streamed(self, plan: TablePlan, shape: Shape, rows: Sequence[Any]) -> int:
        """COPY the leading rows of ``shape`` (usually all), their value tuples built while
        COPY encodes them; then the rest as :meth:`insert_many` does, the first shape's first
        (the order of the general path). Runs in a transaction of its own."""
        copied = await session.copy_records(
            self.context.query_scope, self.meta.table, self.meta.schema,
            [plan.names[a] for a in shape[1]], plan.stream(shape)(rows))
        if copied == len(rows):
            return copied
        groups = group_rows(plan, rows[copied:], "insert_many()")
        groups.sort(key=lambda group: group[0] != shape[1])  # stable: then as they come
        return copied + await self._insert_groups(plan, groups)

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
        conflict, extra = action if action is not None else (None, [])
        extra_attrs = conflict.attrs if conflict is not None and extra else ()
        step = _rows_per_statement(len(attrs) or 1, len(extra))
        for start in range(0, len(rows), step):
            chunk = rows[start:start + step]
            sql = plan.values_sql(attrs, len(chunk), conflict)
            params = [value for row in chunk for value in row]
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
        actions = [_conflict_action(plan, tuple(targets), attrs, update) for attrs, _ in groups]
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
    plan: TablePlan, target: tuple[str, ...], attrs: tuple[str, ...],
    update: Sequence[Member] | Mapping[str, Any] | None,
) -> _Action:
    """For a group giving ``attrs``: its ``ON CONFLICT`` clause and the values it binds."""
    if update is None or not update:
        return OnConflict(target), []
    if isinstance(update, Mapping):
        chosen = [(plan.member(m, "upsert(update=...)"), v) for m, v in update.items()]
        extra = [v if a not in plan.encoders else plan.encoders[a](v) for a, v in chosen]
        names = [a for a, _ in chosen]
        return OnConflict(target, "bound", tuple(names), _increment(plan, names)), extra
    names = [plan.member(m, "upsert(update=...)") for m in update]
    present = tuple(a for a in names if a in attrs)
    return OnConflict(target, "excluded", present, _increment(plan, names)), []


def _increment(plan: TablePlan, names: Sequence[str]) -> str | None:
    """The concurrency token an upsert's update moves on (unless it sets it itself)."""
    return plan.token if plan.token is not None and plan.token not in names else None


def _rows_per_statement(width: int, extra: int) -> int:
    return max(1, min(1000, (MAX_PARAMS - extra) // width))


def _statement_count(
    plan: TablePlan, attrs: tuple[str, ...], rows: int, *, upsert: bool = False
) -> int:
    if attrs and rows >= COPY_THRESHOLD and not upsert:
        return 1
    step = _rows_per_statement(len(attrs) or 1, 0)
    return -(-rows // step)
