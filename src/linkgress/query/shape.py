"""The *shape key* of a statement — pass 1 of the compiler.

:func:`shape_of` walks a query's frozen tree and returns its shape key (everything that
determines the SQL: node kinds, operators, columns, the graph of sources; never a bound value)
plus the values of its :class:`~linkgress.query.expressions.Param` nodes, numbered ``$1..$n``
in walk order (one number per ``Param`` object, so a node used twice binds once). Queries with
equal keys compile to the same SQL (:mod:`linkgress.query.compiler`), which is why compiled
text can be cached by key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linkgress.query.arrays import AnyEq
from linkgress.query.ctes import Cte, CteSource
from linkgress.query.expressions import (
    Between,
    BinaryOp,
    Func,
    InArray,
    IsNull,
    Like,
    Ordering,
    Param,
    Raw,
    UnaryOp,
)
from linkgress.query.flags import FlagTest
from linkgress.query.jsonb import Cast, JsonGet
from linkgress.query.projection import PDict, PEntity, PList, PObject, Projection, PValue
from linkgress.query.proxies import (
    CollectionAggregate,
    CollectionExists,
    CollectionList,
    CollectionQuery,
    ColumnRef,
    Source,
)
from linkgress.query.statements import (
    Compound,
    DeleteStatement,
    RowLock,
    SelectQuery,
    UpdateStatement,
)
from linkgress.query.subqueries import ExistsQuery, InQuery, ScalarQuery
from linkgress.query.windows import Window

__all__ = ["WALKERS", "ShapeWalk", "shape_of", "shape_of_write", "walk_cte", "walk_joins",
           "walk_projection"]


class ShapeWalk:
    """One walk over a statement: its key tokens, parameter values and numbers so far."""

    __slots__ = ("ctes", "key", "numbers", "params", "sources")

    def __init__(self) -> None:
        self.ctes: set[int] | None = None  # id(Cte) of the CTEs walked (made when needed)
        self.key: list[Any] = []
        self.params: list[Any] = []
        self.numbers: dict[int, int] = {}
        self.sources: dict[int, int] = {}

    def source(self, source: Source) -> None:
        number = self.sources.get(id(source))
        if number is None:
            parent = source.parent
            if parent is not None:
                self.source(parent)
            number = self.sources[id(source)] = len(self.sources)
            self.key.append(("S", number, source.token,
                             None if parent is None else self.sources[id(parent)]))
        else:
            self.key.append(("s", number))

    def param(self, param: Param) -> None:
        number = self.numbers.get(id(param))
        if number is None:
            self.params.append(param.value)
            number = self.numbers[id(param)] = len(self.params)
        self.key.append(("P", number, param.cast))

    def expr(self, node: Any) -> None:
        WALKERS[type(node)](self, node)

    def opt(self, node: Any) -> None:
        if node is None:
            self.key.append(None)
        else:
            self.expr(node)


def _walk_column(w: ShapeWalk, node: ColumnRef) -> None:
    # The hottest walker: one dict lookup and one token when the source is already known.
    number = w.sources.get(id(node.source))
    if number is None:
        w.source(node.source)
        w.key.append(node.meta.attr)
    else:
        w.key.append(("c", number, node.meta.attr))


def _walk_binary(w: ShapeWalk, node: BinaryOp) -> None:
    w.key.append(_BINARY_TOKENS.get(node.op) or ("B", node.op))
    left, right = node.left, node.right
    WALKERS[type(left)](w, left)
    WALKERS[type(right)](w, right)


_BINARY_TOKENS = {op: ("B", op) for op in (
    "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "+", "-", "*", "/", "%")}


def _walk_unary(w: ShapeWalk, node: UnaryOp) -> None:
    w.key += ("U", node.op)
    w.expr(node.operand)


def _walk_is_null(w: ShapeWalk, node: IsNull) -> None:
    w.key += ("N", node.negated)
    w.expr(node.operand)


def _walk_in(w: ShapeWalk, node: InArray) -> None:
    w.key += ("I", node.negated)
    w.expr(node.operand)
    w.param(node.values)


def _walk_between(w: ShapeWalk, node: Between) -> None:
    w.key.append("W")
    w.expr(node.operand)
    w.expr(node.low)
    w.expr(node.high)


def _walk_like(w: ShapeWalk, node: Like) -> None:
    w.key += ("L", node.op)
    w.expr(node.operand)
    w.expr(node.pattern)


def _walk_func(w: ShapeWalk, node: Func) -> None:
    w.key += ("F", node.name, node.star, node.distinct, len(node.args))
    for arg in node.args:
        w.expr(arg)


def _walk_raw(w: ShapeWalk, node: Raw) -> None:
    w.key += ("R", node.text, len(node.args))
    for arg in node.args:
        w.expr(arg)


def _walk_collection(w: ShapeWalk, query: CollectionQuery) -> None:
    w.key += ("C", query.nav.name, len(query.ordering))
    w.source(query.parent)
    w.source(query.source)
    w.opt(query.where_)
    for ordering in query.ordering:
        _walk_ordering(w, ordering)
    w.opt(query.limit_)
    w.opt(query.offset_)


def _walk_aggregate(w: ShapeWalk, node: CollectionAggregate) -> None:
    w.key.append("A")
    _walk_collection(w, node.query)
    w.expr(node.aggregate)


def _walk_exists(w: ShapeWalk, node: CollectionExists) -> None:
    w.key.append("E")
    _walk_collection(w, node.query)


def _walk_list(w: ShapeWalk, node: CollectionList) -> None:
    w.key.append("T")
    _walk_collection(w, node.query)
    walk_projection(w, node.projection)


def _walk_ordering(w: ShapeWalk, node: Ordering) -> None:
    w.key += ("O", node.descending, node.nulls)
    w.expr(node.expr)


def _walk_json(w: ShapeWalk, node: JsonGet) -> None:
    w.key += ("json", node.textual)
    w.expr(node.operand)
    w.param(node.key)


def _walk_cast(w: ShapeWalk, node: Cast) -> None:
    w.key += ("cast", node.type)
    w.expr(node.operand)


def _walk_any_eq(w: ShapeWalk, node: AnyEq) -> None:
    w.key.append("any_eq")
    w.expr(node.value)
    w.expr(node.array)


def _walk_flag(w: ShapeWalk, node: FlagTest) -> None:
    w.key += ("flags", node.mode)
    w.expr(node.operand)
    w.param(node.mask)


def _walk_window(w: ShapeWalk, node: Window) -> None:
    frame = None if node.frame is None else (node.frame_mode, *(b.kind for b in node.frame))
    w.key += ("window", len(node.partition), len(node.ordering), frame)
    w.expr(node.function)
    for expr in node.partition:
        w.expr(expr)
    for ordering in node.ordering:
        _walk_ordering(w, ordering)
    for bound in node.frame or ():
        if bound.offset is not None:
            w.param(bound.offset)


#: The walker of each node type (see :data:`linkgress.query.expressions.NODE_TYPES`).
WALKERS: dict[type, Callable[[ShapeWalk, Any], None]] = {
    ColumnRef: _walk_column, Param: lambda w, n: w.param(n), BinaryOp: _walk_binary,
    UnaryOp: _walk_unary, IsNull: _walk_is_null, InArray: _walk_in, Between: _walk_between,
    Like: _walk_like, Func: _walk_func, Raw: _walk_raw, CollectionAggregate: _walk_aggregate,
    CollectionExists: _walk_exists, CollectionList: _walk_list,
    JsonGet: _walk_json, Cast: _walk_cast, AnyEq: _walk_any_eq, FlagTest: _walk_flag,
    Window: _walk_window,
}


def walk_projection(w: ShapeWalk, projection: Projection | None) -> None:
    """Walk a projection (None: the root entity)."""
    if projection is None:
        w.key.append(None)
    elif isinstance(projection, PValue):
        w.key.append("pv")
        w.expr(projection.expr)
    elif isinstance(projection, PEntity):
        w.key.append("pe")
        w.source(projection.source)
    elif isinstance(projection, PList):
        w.key.append("pl")
        _walk_list(w, projection.collection)
    else:
        tag = (("pd", projection.keys) if isinstance(projection, PDict) else
               ("po", projection.factory, projection.names) if isinstance(projection, PObject)
               else ("pt", len(projection.items)))
        w.key += tag
        for item in projection.items:
            walk_projection(w, item)


def walk_cte(w: ShapeWalk, cte: Cte) -> None:
    """Walk a CTE's definition the first time the statement meets it."""
    if w.ctes is None:
        w.ctes = set()
    elif id(cte) in w.ctes:
        w.key += ("cte", cte.name)
        return
    w.ctes.add(id(cte))
    w.key.append(("CTE", cte.name, cte.materialized, cte.union, cte.recursive is None))
    _walk_select(w, cte.anchor)
    if cte.recursive is not None:
        _walk_select(w, cte.recursive)


def walk_joins(w: ShapeWalk, query: SelectQuery) -> None:
    """Walk the explicit joins of ``query`` (each: its source, its derived table, its ON)."""
    for join in query.joins:
        w.key.append(("J", join.subquery is None))
        w.source(join.source)
        target = join.source.target
        if join.subquery is not None:
            _walk_select(w, join.subquery)
        elif isinstance(target, CteSource):
            walk_cte(w, target.cte)
        w.expr(join.on)


def _walk_select(w: ShapeWalk, query: SelectQuery) -> None:
    where, projection, limit, offset = query.where, query.projection, query.limit, query.offset
    having, aggregate = query.having, query.aggregate
    # One token says which optional parts exist; then only the parts that do are walked.
    w.key.append(("Q", query.distinct, len(query.ordering), len(query.group_by),
                  where is None, projection is None, limit is None, offset is None,
                  having is None, aggregate is None))
    source = query.source
    w.source(source)
    if source.__class__ is CteSource:
        walk_cte(w, source.cte)
    if query.joins:
        walk_joins(w, query)
    if where is not None:
        w.expr(where)
    if projection is not None:
        walk_projection(w, projection)
    for ordering in query.ordering:
        _walk_ordering(w, ordering)
    if limit is not None:
        w.param(limit)
    if offset is not None:
        w.param(offset)
    for expr in query.group_by:
        w.expr(expr)
    if having is not None:
        w.expr(having)
    if aggregate is not None:
        w.expr(aggregate)
    if query.lock is not None:
        _walk_lock(w, query.lock)


def _walk_lock(w: ShapeWalk, lock: RowLock) -> None:
    w.key.append(("K", lock.strength, lock.wait, len(lock.of)))
    for source in lock.of:
        w.source(source)


def _walk_exists_query(w: ShapeWalk, node: ExistsQuery) -> None:
    w.key.append("XE")
    _walk_select(w, node.query)


def _walk_in_query(w: ShapeWalk, node: InQuery) -> None:
    w.key += ("XI", node.negated)
    w.expr(node.operand)
    _walk_select(w, node.query)


def _walk_scalar_query(w: ShapeWalk, node: ScalarQuery) -> None:
    w.key += ("XS", node.kind)
    _walk_select(w, node.query)


WALKERS.update({ExistsQuery: _walk_exists_query, InQuery: _walk_in_query,
                ScalarQuery: _walk_scalar_query})


def shape_of(query: SelectQuery | Compound, kind: str = "rows"
             ) -> tuple[tuple[Any, ...], list[Any], dict[int, int]]:
    """``(shape key, parameter values, parameter numbers by id(Param))`` of ``query``."""
    w = ShapeWalk()
    w.key.append(kind)
    if isinstance(query, Compound):
        w.key += ("U", query.operators)
        for part in query.parts:
            _walk_select(w, part)
    else:
        _walk_select(w, query)
    return tuple(w.key), w.params, w.numbers


def shape_of_write(statement: UpdateStatement | DeleteStatement
                   ) -> tuple[tuple[Any, ...], list[Any], dict[int, int]]:
    """:func:`shape_of` for an ``UPDATE`` / ``DELETE``: the SET values are numbered first,
    then the entity key, the filter and the ``RETURNING`` projection."""
    w = ShapeWalk()
    if isinstance(statement, UpdateStatement):
        w.key.append("update")
        for ref, expr in statement.sets:
            w.key.append(ref.meta.attr)
            w.expr(expr)
    else:
        w.key.append("delete")
    w.opt(statement.key)
    _walk_select(w, statement.filter)
    walk_projection(w, statement.returning)
    return tuple(w.key), w.params, w.numbers
