"""Per-table write plans: value extraction for mutations, and their cached INSERT text.

A :class:`TablePlan` is computed once per ``EntityMeta``: quoted names, per-column encoders
(:mod:`linkgress.query.convert`), decoders for ``RETURNING`` rows, and a cache of the statement
text :mod:`linkgress.query.compiler` renders, by shape (which columns a statement sets, how many
rows it carries, its conflict clause).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from linkgress.errors import ModelError, QueryBuildError
from linkgress.model.fluent import member_name
from linkgress.query.categories import column_category
from linkgress.query.convert import Converter, decoder_for, encoder_for
from linkgress.query.rowtuples import RowTuples, TupleStream, tuple_builder, tuple_stream
from linkgress.query.statements import InsertStatement, OnConflict
from linkgress.query.writesql import compile_insert
from linkgress.schema.quoting import quote_ident

if TYPE_CHECKING:
    from linkgress.model.meta import EntityMeta

__all__ = ["Member", "Shape", "TablePlan", "group_rows", "table_plan"]

Member = str | Callable[[Any], Any]
#: A row's class (an entity class, or ``dict``) and the columns it sets (see
#: :meth:`TablePlan.shape`).
Shape = tuple[type[Any], tuple[str, ...]]


class TablePlan:
    """Everything about one table that statements need, computed once per ``EntityMeta``."""

    def __init__(self, meta: EntityMeta) -> None:
        self.meta = meta
        self.entity: type[Any] = meta.entity
        self.table_sql = f"{quote_ident(meta.schema)}.{quote_ident(meta.table)}"
        self.attrs = tuple(c.attr for c in meta.columns)
        self.attr_set = frozenset(self.attrs)
        # Generated columns are computed by PostgreSQL: never written, read back after writes.
        self.write_attrs = tuple(c.attr for c in meta.columns if c.generated_as is None)
        self.quoted = {c.attr: quote_ident(c.name) for c in meta.columns}
        self.names = {c.attr: c.name for c in meta.columns}
        self.encoders: dict[str, Converter] = {
            c.attr: enc for c in meta.columns if (enc := encoder_for(c)) is not None}
        self.pk_attrs = meta.primary_key_attrs
        #: The concurrency token's attribute (``update(entity)`` checks and increments it).
        self.token = meta.concurrency_token
        #: True when every primary-key column compares a value as given (not enum or JSON).
        self.plain_key = all(column_category(meta.column(a)) not in ("enum", "json")
                             for a in self.pk_attrs)
        self.decoders = tuple((c.attr, decoder_for(c)) for c in meta.columns)
        self.plain_read = all(conv is None for _, conv in self.decoders)
        self.sql_cache: dict[tuple[Any, ...], str] = {}
        self._given: dict[tuple[str, ...], tuple[str, ...]] = {}
        #: Per attribute, the value types its check passes unchanged whatever the value (see
        #: ``UpdateQuery``): a value of such a type needs no check again.
        self.plain_types: dict[str, set[type]] = {a: set() for a in self.attrs}
        # (row class, columns, streamed) -> generated function (see linkgress.query.rowtuples)
        self._generated: dict[tuple[type[Any], tuple[str, ...], bool], Any] = {}

    # --- values ---

    def values_of(self, row: Any, what: str) -> Mapping[str, Any]:
        """The field values ``row`` (an entity of this table, or a dict) sets."""
        if isinstance(row, self.entity):
            values: Mapping[str, Any] = row.__dict__
            return values
        if isinstance(row, Mapping):
            for key in row:
                if key not in self.attr_set:
                    raise self.unknown(key)
            return row
        raise QueryBuildError(
            f"{what} expects a {self.entity.__name__} or a dict of its fields, got {row!r}")

    def unknown(self, attr: object) -> QueryBuildError:
        return QueryBuildError(
            f"{self.entity.__name__} has no column attribute {attr!r} "
            f"(columns: {', '.join(self.attrs)})")

    def given(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """The columns ``values`` sets, in table order (cached by the keys' sequence)."""
        keys = tuple(values)
        attrs = self._given.get(keys)
        if attrs is None:
            attrs = tuple(a for a in self.write_attrs if a in values)
            if len(self._given) < 256:
                self._given[keys] = attrs
        return attrs

    def params(self, attrs: Sequence[str], values: Mapping[str, Any]) -> list[Any]:
        enc = self.encoders
        return [values[a] if a not in enc else enc[a](values[a]) for a in attrs]

    def shape(self, row: Any) -> Shape | None:
        """``(row class, columns it sets)`` for a row the generated builders take: exactly of
        this entity's class, or a ``dict``, setting only columns written (else None; never
        raises — the general path reports a bad row)."""
        kind = row.__class__
        if kind is self.entity:
            values = row.__dict__
        elif kind is dict:
            values = row
        else:
            return None
        attrs = self.given(values)
        return (kind, attrs) if len(attrs) == len(values) else None

    def leading(self, rows: Sequence[Any]) -> tuple[tuple[str, ...], list[Any]]:
        """The columns the first row sets, and the value tuples of the leading rows of its
        :meth:`shape` — usually every row. Empty when the first row has no such shape."""
        shape = self.shape(rows[0]) if rows else None
        if shape is None:
            return (), []
        build: RowTuples = self._generate(shape, streamed=False)
        return shape[1], build(rows)

    def stream(self, shape: Shape) -> TupleStream:
        """The generator function yielding rows of ``shape`` as value tuples (cached)."""
        stream: TupleStream = self._generate(shape, streamed=True)
        return stream

    def _generate(self, shape: Shape, *, streamed: bool) -> Any:
        key = (*shape, streamed)
        function = self._generated.get(key)
        if function is None:
            make = tuple_stream if streamed else tuple_builder
            function = make(*shape, self.encoders)
            if len(self._generated) < 256:  # bounded: one entry per shape in use
                self._generated[key] = function
        return function

    def fill(self, target: Any, record: Any) -> Any:
        """Store a ``RETURNING <all columns>`` record's values on entity ``target``."""
        d = target.__dict__
        if self.plain_read:
            d.update(zip(self.attrs, record, strict=True))
        else:
            for (attr, conv), value in zip(self.decoders, record, strict=True):
                d[attr] = value if conv is None else conv(value)
        return target

    def new_entity(self) -> Any:
        return object.__new__(self.entity)

    def member(self, member: Member, what: str) -> str:
        try:
            attr = member_name(member, entity=self.entity.__name__)
        except ModelError as exc:
            raise QueryBuildError(f"{what}: {exc}") from None
        if attr not in self.attr_set:
            raise self.unknown(attr)
        return attr

    def require_key(self, what: str) -> tuple[str, ...]:
        if not self.pk_attrs:
            raise QueryBuildError(
                f"{what} needs a primary key, and {self.entity.__name__} has none; use "
                f"where(...).{what.split('(')[0]}(...) instead")
        return self.pk_attrs

    # --- statements ---

    def insert_sql(self, attrs: tuple[str, ...]) -> str:
        """``INSERT ... RETURNING`` every column, for one row giving ``attrs``."""
        return self.values_sql(attrs, 1, returning=True)

    def values_sql(self, attrs: tuple[str, ...], rows: int, conflict: OnConflict | None = None,
                   *, returning: bool = False) -> str:
        """``INSERT INTO t (cols) VALUES ($1, $2), ($3, $4), ...`` for ``rows`` rows (text
        from :func:`~linkgress.query.writesql.compile_insert`, cached here)."""
        key = (attrs, rows, conflict, returning)
        sql = self.sql_cache.get(key)
        if sql is None:
            sql = compile_insert(InsertStatement(self.meta, attrs, rows, returning, conflict))
            if len(self.sql_cache) < 1000:  # bounded: one entry per (columns, row count)
                self.sql_cache[key] = sql
        return sql


_PLANS: dict[int, TablePlan] = {}


def table_plan(meta: EntityMeta) -> TablePlan:
    """The cached :class:`TablePlan` of ``meta``."""
    plan = _PLANS.get(id(meta))
    if plan is None or plan.meta is not meta:
        plan = _PLANS[id(meta)] = TablePlan(meta)
    return plan


def group_rows(
    plan: TablePlan, rows: Iterable[Any], what: str
) -> list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """Rows grouped by the set of columns they give, as value tuples in table order.

    Almost always one group, built by :meth:`TablePlan.leading` (a function generated for the
    rows' shape); from the first row of another shape on, each row's keys are compared with
    the previous row's.
    """
    batch = rows if isinstance(rows, list | tuple) else list(rows)
    first_attrs, done = plan.leading(batch)
    if len(done) == len(batch):
        return [(first_attrs, done)] if done else []
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {first_attrs: done} if done else {}
    last_keys: Any = None
    last_attrs: tuple[str, ...] = ()
    last_list: list[tuple[Any, ...]] = []
    getter: Callable[[Mapping[str, Any]], tuple[Any, ...]] = tuple
    for row in itertools.islice(batch, len(done), None):
        values = plan.values_of(row, what)
        keys = values.keys()
        if keys != last_keys:
            last_keys = keys
            last_attrs = plan.given(values)
            last_list = groups.setdefault(last_attrs, [])
            getter = _row_getter(plan, last_attrs)
        last_list.append(getter(values))
    return list(groups.items())


def _no_values(values: Mapping[str, Any]) -> tuple[Any, ...]:
    return ()


def _single_getter(attr: str) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    def get(values: Mapping[str, Any]) -> tuple[Any, ...]:
        return (values[attr],)

    return get


def _row_getter(
    plan: TablePlan, attrs: tuple[str, ...]
) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    encoders = [(i, plan.encoders[a]) for i, a in enumerate(attrs) if a in plan.encoders]
    if not attrs:
        return _no_values
    base: Callable[[Mapping[str, Any]], Any]
    base = _single_getter(attrs[0]) if len(attrs) == 1 else operator.itemgetter(*attrs)
    if not encoders:
        return base

    def encoded(values: Mapping[str, Any]) -> tuple[Any, ...]:
        row = list(base(values))
        for i, enc in encoders:
            row[i] = enc(row[i])
        return tuple(row)

    return encoded
