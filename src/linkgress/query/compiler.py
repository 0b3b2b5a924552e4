"""The query compiler: pure functions from a statement value to SQL text.

It renders SELECT (:func:`compile_statement`), UPDATE and DELETE (:func:`compile_write`) and
INSERT (:func:`compile_insert`). Two passes over the same frozen tree:

- :func:`~linkgress.query.shape.shape_of` (in :mod:`linkgress.query.shape`) walks it and
  returns its *shape key* and its parameter values, numbered ``$1..$n`` in walk order.
- :func:`compile_statement` renders the SQL, taking each parameter's number from the walk, so
  the cached text and a fresh walk's values always line up.

The root table is always aliased :data:`ROOT_ALIAS`; other sources get ``t1``, ``t2``, ... in
order of first use. Values never enter the text: they are bind parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.arrays import AnyEq
from linkgress.query.ctes import Cte, CteSource, cte_definition, with_clause
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
from linkgress.query.flags import FLAG_TESTS, FlagTest
from linkgress.query.joins import Join
from linkgress.query.jsonb import Cast, JsonGet
from linkgress.query.projection import Projection, projection_columns
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
    RowLock,
    SelectQuery,
)
from linkgress.query.subqueries import ExistsQuery, InQuery, ScalarQuery
from linkgress.query.windows import Window
from linkgress.schema.quoting import quote_ident, quote_qualified

__all__ = [
    "KINDS",
    "RENDERERS",
    "ROOT_ALIAS",
    "SqlCompiler",
    "check_lockable",
    "compile_statement",
    "table_sql",
]

#: The alias of a statement's root table (``UPDATE``/``DELETE`` use it too).
ROOT_ALIAS = "t0"

#: Statement kinds :func:`compile_statement` renders from a :class:`SelectQuery`.
KINDS = ("rows", "count", "exists", "sum", "min", "max", "avg")


# --- pass 2: SQL ------------------------------------------------------------------------------


class _Scope:
    __slots__ = ("joins", "root")

    def __init__(self, root: Source) -> None:
        self.root = root
        self.joins: list[str] = []


_PLACEHOLDER = re.compile(r"\$(\d+)")


class SqlCompiler:
    def __init__(self, numbers: dict[int, int]) -> None:
        self.numbers = numbers
        self.aliases: dict[int, str] = {}
        self.scopes: list[_Scope] = []
        self.next_alias = 0
        self.shadowed: list[str | None] = []
        self.ctes: dict[int, str] = {}  # id(Cte) -> its name, once registered
        self.definitions: list[tuple[str, bool]] = []  # rendered CTEs, dependencies first
        self.clause: str | None = None  # "where()", ... while rendering one (no windows there)

    # -- sources --

    def new_alias(self) -> str:
        alias = f"t{self.next_alias}"
        self.next_alias += 1
        return alias

    def push(self, root: Source) -> tuple[_Scope, str]:
        # A subquery may read the same table object as an outer query (a joined filtered
        # query, a union part): its alias shadows the outer one until pop().
        self.shadowed.append(self.aliases.get(id(root)))
        alias = self.aliases[id(root)] = self.new_alias()
        scope = _Scope(root)
        self.scopes.append(scope)
        return scope, alias

    def pop(self) -> None:
        scope = self.scopes.pop()
        previous = self.shadowed.pop()
        if previous is not None:
            self.aliases[id(scope.root)] = previous

    def join(self, scope: _Scope, join: Join) -> None:
        """Append ``join`` (an explicit join) to ``scope``."""
        alias = self.aliases[id(join.source)] = self.new_alias()
        if join.subquery is None:
            relation = self.relation(join.source.target)
        else:
            relation = f"({self.select(join.subquery)})"
        before = len(scope.joins)
        on = self.expr(join.on)
        if any(f" {alias}." in added or f"({alias}." in added
               for added in scope.joins[before:]):
            raise QueryBuildError(
                "a join condition cannot follow a navigation of the table being joined "
                "(lambda p, u: u.team.name == ...): join that table explicitly as well")
        verb = "JOIN" if join.source.required else "LEFT JOIN"
        scope.joins.append(f" {verb} {relation} AS {alias} ON {on}")

    def alias(self, source: Source) -> str:
        root = source.scope_root
        if not any(scope.root is root for scope in self.scopes):
            raise QueryBuildError(
                f"{source.meta.name} is not part of this query: reach another entity through "
                "a navigation (has_one / has_many) of the queried entity")
        alias = self.aliases.get(id(source))
        if alias is not None:
            return alias
        if source.nav is None:
            raise QueryBuildError(f"the joined {source.meta.name} is not part of this query")
        assert source.parent is not None
        parent = self.alias(source.parent)
        alias = self.aliases[id(source)] = self.new_alias()
        on = " AND ".join(
            f"{alias}.{quote_ident(source.meta.column(r).name)} = "
            f"{parent}.{quote_ident(source.parent.meta.column(lc).name)}"
            for lc, r in zip(source.nav.local_columns, source.nav.remote_columns, strict=True))
        # A required navigation from a row that may be missing (a left join) stays a LEFT
        # JOIN: an inner join there would drop the rows the left join kept.
        join = "JOIN" if source.always_present else "LEFT JOIN"
        scope = next(s for s in reversed(self.scopes) if s.root is root)
        scope.joins.append(f" {join} {table_sql(source)} AS {alias} ON {on}")
        return alias

    # -- expressions --

    def expr(self, node: Any) -> str:
        return RENDERERS[type(node)](self, node)

    def param(self, node: Param) -> str:
        text = f"${self.numbers[id(node)]}"
        return text if node.cast is None else f"{text}::{node.cast}"

    def ordering(self, orderings: tuple[Ordering, ...]) -> str:
        if not orderings:
            return ""
        keys = []
        for o in orderings:
            key = self.expr(o.expr) + (" DESC" if o.descending else "")
            keys.append(key + (f" NULLS {o.nulls.upper()}" if o.nulls else ""))
        return " ORDER BY " + ", ".join(keys)

    def page(self, limit: Param | None, offset: Param | None) -> str:
        text = "" if limit is None else f" LIMIT {self.param(limit)}"
        return text + ("" if offset is None else f" OFFSET {self.param(offset)}")

    def columns(self, projection: Projection | None, source: Source) -> str:
        items = (projection_columns(projection) if projection is not None
                 else list(source.columns.values()))
        return ", ".join(self.expr(item) for item in items)

    # -- statements --

    def select(self, query: SelectQuery, columns: Callable[[], str] | None = None,
               paged: bool = True, ordered: bool = True) -> str:
        scope, alias = self.push(query.source)
        for join in query.joins:
            self.join(scope, join)
        outer, self.clause = self.clause, None  # a subquery's own select list may hold windows
        select_list = (columns or (lambda: self.columns(query.projection, query.source)))()
        where = "" if query.where is None else f" WHERE {self.within('where()', query.where)}"
        group = "" if not query.group_by else " GROUP BY " + ", ".join(
            self.within("group_by()", e) for e in query.group_by)
        having = "" if query.having is None else f" HAVING {self.within('having()', query.having)}"
        self.clause = outer
        order = self.ordering(query.ordering) if ordered else ""
        page = self.page(query.limit, query.offset) if paged else ""
        lock = "" if query.lock is None else self.lock(query, scope)
        self.pop()
        distinct = "DISTINCT " if query.distinct else ""
        return (f"SELECT {distinct}{select_list} FROM {self.relation(query.source)} AS {alias}"
                f"{''.join(scope.joins)}{where}{group}{having}{order}{page}{lock}")

    def within(self, clause: str, node: Any) -> str:
        """``node`` rendered as part of ``clause`` (where no window function may appear)."""
        outer, self.clause = self.clause, clause
        try:
            return self.expr(node)
        finally:
            self.clause = outer

    def lock(self, query: SelectQuery, scope: _Scope) -> str:
        lock: RowLock = query.lock  # type: ignore[assignment]
        what = f"for_{lock.strength.lower()}()"
        check_lockable(query, what)
        of = "" if not lock.of else " OF " + ", ".join(quote_ident(self.alias(s))
                                                       for s in lock.of)
        if (any(_optional(s) for s in lock.of) if lock.of else
                any(join.startswith(" LEFT JOIN") for join in scope.joins)):
            raise QueryBuildError(
                f"{what}: PostgreSQL cannot lock the optional side of a LEFT JOIN (an optional "
                "reference such as p.user); lock the query's own rows with of=lambda x: x")
        return f" FOR {lock.strength}{of}" + ("" if lock.wait is None else f" {lock.wait}")

    def relation(self, source: Source) -> str:
        """What ``FROM`` names for ``source``: its table, or its CTE (registered)."""
        if isinstance(source, CteSource):
            self.register(source.cte)
            return quote_ident(source.cte.name)
        return table_sql(source)

    def register(self, cte: Cte) -> None:
        """Render ``cte`` into the ``WITH`` clause once (its own CTEs first)."""
        if id(cte) in self.ctes:
            return
        if cte.name in self.ctes.values():
            raise QueryBuildError(f"two different CTEs are named {cte.name!r} in one "
                                  "statement: give each its own name")
        self.ctes[id(cte)] = cte.name  # before the body: a recursive part reads itself
        scopes, self.scopes = self.scopes, []  # a CTE cannot read the query using it
        self.definitions.append(cte_definition(cte, self.select))
        self.scopes = scopes

    def subquery(self, query: CollectionQuery, columns: Callable[[], str]) -> str:
        scope, alias = self.push(query.source)
        parent = self.alias(query.parent)
        conditions = [
            f"{alias}.{quote_ident(query.source.meta.column(r).name)} = "
            f"{parent}.{quote_ident(query.parent.meta.column(lc).name)}"
            for lc, r in zip(query.nav.local_columns, query.nav.remote_columns, strict=True)]
        select_list = columns()
        if query.where_ is not None:
            conditions.append(self.expr(query.where_))
        order = self.ordering(query.ordering)
        page = self.page(query.limit_, query.offset_)
        self.pop()
        return (f"SELECT {select_list} FROM {table_sql(query.source)} AS {alias}"
                f"{''.join(scope.joins)} WHERE {' AND '.join(conditions)}{order}{page}")


def check_lockable(query: SelectQuery, what: str) -> None:
    """Raise :class:`QueryBuildError` when PostgreSQL cannot lock the rows of ``query``
    (``what`` names the call in the message)."""
    refused = ("distinct()" if query.distinct else "group_by()" if query.group_by
               else "having()" if query.having is not None else None)
    if refused is not None:
        raise QueryBuildError(f"{what}: rows of a {refused} query cannot be locked (they are "
                              "not rows of a table); lock a plain query")


def _optional(source: Source) -> bool:
    """True when ``source`` is reached through an optional reference (a LEFT JOIN)."""
    while source.kind == "ref":
        if not source.join_required:
            return True
        assert source.parent is not None
        source = source.parent
    return False


def table_sql(source: Source) -> str:
    return quote_qualified(source.meta.schema, source.meta.table)


def _render_binary(c: SqlCompiler, node: BinaryOp) -> str:
    return f"({c.expr(node.left)} {node.op} {c.expr(node.right)})"


def _render_unary(c: SqlCompiler, node: UnaryOp) -> str:
    return f"({node.op} {c.expr(node.operand)})"


def _render_is_null(c: SqlCompiler, node: IsNull) -> str:
    return f"({c.expr(node.operand)} IS {'NOT ' if node.negated else ''}NULL)"


def _render_in(c: SqlCompiler, node: InArray) -> str:
    test = "<> ALL" if node.negated else "= ANY"
    return f"({c.expr(node.operand)} {test}({c.param(node.values)}))"


def _render_between(c: SqlCompiler, node: Between) -> str:
    return f"({c.expr(node.operand)} BETWEEN {c.expr(node.low)} AND {c.expr(node.high)})"


def _render_like(c: SqlCompiler, node: Like) -> str:
    return f"({c.expr(node.operand)} {node.op} {c.expr(node.pattern)})"


def _render_func(c: SqlCompiler, node: Func) -> str:
    if node.star:
        args = "*"
    else:
        args = ("DISTINCT " if node.distinct else "") + ", ".join(c.expr(a) for a in node.args)
    return f"{node.name}({args})"


def _render_raw(c: SqlCompiler, node: Raw) -> str:
    args = [f"({c.expr(a)})" for a in node.args]
    return "(" + _PLACEHOLDER.sub(lambda m: args[int(m.group(1)) - 1], node.text) + ")"


def _render_aggregate(c: SqlCompiler, node: CollectionAggregate) -> str:
    query = node.query
    if query.limit_ is None and query.offset_ is None:
        return f"({c.subquery(query, lambda: c.expr(node.aggregate))})"
    # Aggregate over a page of the collection: page first, then aggregate.
    arg = node.aggregate.args[0] if node.aggregate.args else None
    inner = c.subquery(query, lambda: "1 AS v" if arg is None else f"{c.expr(arg)} AS v")
    outer = "count(*)" if node.aggregate.star else f"{node.aggregate.name}(s.v)"
    return f"(SELECT {outer} FROM ({inner}) AS s)"


def _render_exists(c: SqlCompiler, node: CollectionExists) -> str:
    return f"EXISTS ({c.subquery(node.query, lambda: '1')})"


def _render_list(c: SqlCompiler, node: CollectionList) -> str:
    return f"array({c.subquery(node.query, lambda: _row(c, node.projection, node.query))})"


def _row(c: SqlCompiler, projection: Projection, query: CollectionQuery) -> str:
    return f"ROW({c.columns(projection, query.source)})"


def _render_json(c: SqlCompiler, node: JsonGet) -> str:
    return f"({c.expr(node.operand)} {'->>' if node.textual else '->'} {c.param(node.key)})"


def _render_flag(c: SqlCompiler, node: FlagTest) -> str:
    mask = c.param(node.mask)
    test = FLAG_TESTS[node.mode].format(mask=mask)
    return f"(({c.expr(node.operand)} & {mask}) {test})"


def _render_window(c: SqlCompiler, node: Window) -> str:
    if c.clause is not None:
        raise QueryBuildError(
            f"a window function ({node.describe()}) cannot be used in {c.clause}: PostgreSQL "
            "computes windows after WHERE, GROUP BY and HAVING; select it in a cte(...) and "
            "filter that")
    parts = []
    if node.partition:
        parts.append("PARTITION BY " + ", ".join(c.expr(e) for e in node.partition))
    if node.ordering:
        parts.append(c.ordering(node.ordering).lstrip())
    if node.frame is not None:
        start, end = (f"{c.param(b.offset)} {b.kind}" if b.offset is not None else b.kind
                      for b in node.frame)
        parts.append(f"{node.frame_mode} BETWEEN {start} AND {end}")
    return f"{c.expr(node.function)} OVER ({' '.join(parts)})"


#: The renderer of each node type (see :data:`linkgress.query.expressions.NODE_TYPES`).
RENDERERS: dict[type, Callable[[SqlCompiler, Any], str]] = {
    ColumnRef: lambda c, n: f"{c.alias(n.source)}.{quote_ident(n.meta.name)}",
    Param: SqlCompiler.param, BinaryOp: _render_binary, UnaryOp: _render_unary,
    IsNull: _render_is_null, InArray: _render_in, Between: _render_between,
    Like: _render_like, Func: _render_func, Raw: _render_raw,
    CollectionAggregate: _render_aggregate, CollectionExists: _render_exists,
    CollectionList: _render_list, JsonGet: _render_json,
    Cast: lambda c, n: f"({c.expr(n.operand)})::{n.type}",
    AnyEq: lambda c, n: f"({c.expr(n.value)} = ANY({c.expr(n.array)}))",
    FlagTest: _render_flag, Window: _render_window,
}


def _count(c: SqlCompiler, query: SelectQuery) -> str:
    if _wrapped(c, query):
        return f"SELECT count(*) FROM ({c.select(query)}) AS q"
    return c.select(query, lambda: "count(*)", ordered=False)


def _render_exists_query(c: SqlCompiler, node: ExistsQuery) -> str:
    return f"EXISTS ({c.select(node.query, lambda: '1', ordered=False)})"


def _render_in_query(c: SqlCompiler, node: InQuery) -> str:
    test = "NOT IN" if node.negated else "IN"
    return f"({c.expr(node.operand)} {test} ({c.select(node.query)}))"


def _render_scalar_query(c: SqlCompiler, node: ScalarQuery) -> str:
    return f"({_count(c, node.query) if node.kind == 'count' else c.select(node.query)})"


RENDERERS.update({ExistsQuery: _render_exists_query, InQuery: _render_in_query,
                  ScalarQuery: _render_scalar_query})


def _wrapped(c: SqlCompiler, query: SelectQuery) -> bool:
    return (query.distinct or bool(query.group_by) or query.limit is not None
            or query.offset is not None or query.lock is not None)


def compile_statement(query: SelectQuery | Compound, numbers: dict[int, int],
                      kind: str = "rows") -> str:
    """The SQL of ``query`` as a statement of ``kind`` (see :data:`KINDS`).

    ``numbers`` maps ``id(Param)`` to its ``$n`` (from :func:`shape_of`). Raises
    :class:`~linkgress.errors.QueryBuildError` when the query uses a source it cannot reach.
    """
    c = SqlCompiler(numbers)
    body = _compile(c, query, kind)
    return with_clause(c.definitions) + body


def _compile(c: SqlCompiler, query: SelectQuery | Compound, kind: str) -> str:
    if isinstance(query, Compound):
        if any(part.lock is not None for part in query.parts):
            raise QueryBuildError("for_update() / for_share() cannot lock the rows of a "
                                  "union; lock each query on its own")
        parts = [f"({c.select(p)})" for p in query.parts]
        body = parts[0] + "".join(f" {op} {p}" for op, p in
                                  zip(query.operators, parts[1:], strict=True))
        return _wrap_kind(body, kind)
    if kind == "rows":
        return c.select(query)
    if kind == "exists":
        return f"SELECT EXISTS ({c.select(query, lambda: '1', ordered=False)})"
    if kind == "count":
        return _count(c, query)
    assert query.aggregate is not None, kind
    aggregate = query.aggregate
    if _wrapped(c, query):
        inner = c.select(query, lambda: f"{c.expr(aggregate)} AS v")
        return f"SELECT {kind}(q.v) FROM ({inner}) AS q"
    return c.select(query, lambda: f"{kind}({c.expr(aggregate)})", ordered=False)


def _wrap_kind(body: str, kind: str) -> str:
    if kind == "rows":
        return body
    if kind == "count":
        return f"SELECT count(*) FROM ({body}) AS q"
    if kind == "exists":
        return f"SELECT EXISTS ({body})"
    raise QueryBuildError(f"{kind}() is not supported on a union")
