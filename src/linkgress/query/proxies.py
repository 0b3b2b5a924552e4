"""Sources and proxies: what query lambdas receive, and how navigations become SQL sources.

The floor above the expression and projection nodes.

A :class:`Source` is one table in a statement: the query's root table, a reference navigation
(``p.user``, joined to its parent) or a collection navigation's table (``u.posts``, compiled as a
correlated subquery). Lambdas receive an :class:`EntityProxy` over a source: its attributes are
:class:`~linkgress.query.expressions.ColumnRef` nodes, its reference navigations are proxies of
joined sources, and its collection navigations are :class:`CollectionQuery` builders.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from linkgress.errors import QueryBuildError
from linkgress.model.meta import EntityMeta, NavigationMeta
from linkgress.query.categories import column_category
from linkgress.query.expressions import (
    Expr,
    Func,
    Ordering,
    Param,
    as_expr,
    node,
)
from linkgress.query.lambdaargs import call_lambda
from linkgress.query.projection import (
    PDict,
    PEntity,
    PList,
    PObject,
    Projection,
    PTuple,
    PValue,
)
from linkgress.query.sortkeys import orderings, page_param

if TYPE_CHECKING:
    import enum

    from linkgress.model.meta import ColumnMeta, ModelMeta

__all__ = [
    "CollectionAggregate",
    "CollectionExists",
    "CollectionList",
    "CollectionQuery",
    "ColumnRef",
    "EntityProxy",
    "GroupProxy",
    "Source",
    "build_projection",
    "source_of",
]


@node
@dataclass(frozen=True, slots=True, eq=False)
class ColumnRef(Expr):
    """A column of a table source (a root table, a joined reference or a subquery's table)."""

    source: Source
    meta: ColumnMeta
    category: str

    @property
    def enum_class(self) -> type[enum.Enum] | None:
        """The Python enum the column maps to, if any."""
        return self.meta.enum_class

    def describe(self) -> str:
        return f"{self.source.meta.name}.{self.meta.attr}"

    def _array_cast(self) -> str | None:
        return self.meta.type.base_sql + "[]"



class Source:
    """One table occurrence in a statement.

    ``kind`` is ``"root"`` (the query's table or a collection subquery's table) or ``"ref"``
    (joined to ``parent`` through reference navigation ``nav``). Reference children are
    memoised, so ``p.user`` read twice is one join. Compared by identity.
    """

    __slots__ = ("_children", "_proxy", "columns", "kind", "meta", "model", "nav", "parent",
                 "token")

    def __init__(self, model: ModelMeta, meta: EntityMeta, kind: str = "root",
                 parent: Source | None = None, nav: NavigationMeta | None = None) -> None:
        self.model = model
        self.meta = meta
        self.kind = kind
        self.parent = parent
        self.nav = nav
        self._children: dict[str, Source] = {}
        self.columns: dict[str, ColumnRef] = {
            c.attr: ColumnRef(self, c, column_category(c)) for c in meta.columns}
        #: What identifies this source in a shape key (besides its parent).
        self.token = (meta.entity, kind, None if nav is None else nav.name)
        self._proxy: EntityProxy | None = None

    @property
    def scope_root(self) -> Source:
        """The root source this one is joined to (itself for a root)."""
        source = self
        while source.kind != "root":  # "ref" (a navigation) or "join" (an explicit join)
            assert source.parent is not None
            source = source.parent
        return source

    def reference(self, nav: NavigationMeta) -> Source:
        """The joined source for reference navigation ``nav`` (created once)."""
        child = self._children.get(nav.name)
        if child is None:
            child = Source(self.model, self.model.entity(nav.target), "ref", self, nav)
            self._children[nav.name] = child
        return child

    def proxy(self) -> EntityProxy:
        """The proxy lambdas receive for this source (stateless, so made once)."""
        proxy = self._proxy
        if proxy is None:
            proxy = self._proxy = object.__new__(EntityProxy)
            object.__setattr__(proxy, "__dict__", self.columns)
        return proxy

    @property
    def join_required(self) -> bool:
        """True when the reference is required (INNER JOIN), False for a LEFT JOIN."""
        return self.nav is not None and self.nav.required

    @property
    def always_present(self) -> bool:
        """True when every row has this source: inner joins all the way up to the root (not
        reached through a LEFT JOIN or an optional navigation)."""
        source = self
        while source.kind != "root":
            if not source.join_required:
                return False
            assert source.parent is not None
            source = source.parent
        return True

    def __repr__(self) -> str:
        return f"Source({self.meta.name}, {self.kind})"


def source_of(proxy: EntityProxy) -> Source:
    """The source behind ``proxy``."""
    columns: dict[str, ColumnRef] = proxy.__dict__
    if columns:
        return next(iter(columns.values())).source
    raise QueryBuildError("an entity without columns cannot be queried")


class EntityProxy:
    """What a query lambda receives for an entity: ``u.username`` is a column reference,
    ``p.user`` a joined entity, ``u.posts`` a :class:`CollectionQuery`.

    Reading an attribute the entity does not map raises
    :class:`~linkgress.errors.QueryBuildError` naming it.
    """

    _linkgress_misuse = ("an entity is not a value: compare its columns (u.id == x), or "
                         "project it from select()")

    # Columns live in the instance __dict__ (shared with the Source), so ``u.id`` is a plain
    # attribute read; only navigations and mistakes reach __getattr__.

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        source = source_of(self)
        nav = source.meta.navigation_by_name.get(name)
        if nav is None:
            raise QueryBuildError(
                f"{source.meta.name} has no column or navigation {name!r} (columns: "
                f"{', '.join(source.columns)})")
        if nav.kind == "one":
            return source.reference(nav).proxy()
        target = Source(source.model, source.model.entity(nav.target))
        return CollectionQuery(nav=nav, parent=source, source=target)

    def __setattr__(self, name: str, value: Any) -> None:
        raise QueryBuildError(f"query proxies are read-only (tried to set {name!r})")

    def __eq__(self, other: object) -> Any:
        raise QueryBuildError("compare columns of an entity (u.id == x), not the entity itself")

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<proxy of {source_of(self).meta.name}>"


# --- collection navigations -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CollectionQuery:
    """``u.posts`` inside a lambda: a correlated subquery over the collection's table.

    Chain ``where``, ``order_by``/``then_by``, ``limit``/``offset`` and ``select``, then end with
    ``to_list()`` (a nested list in the projection), ``count()``, ``sum/min/max/avg(lambda)``,
    or ``any()``/``exists()`` (a condition). All compile into the one outer statement.
    """

    _linkgress_misuse: ClassVar[str] = (
        "a collection navigation is not a value: use .any(), .count(), .sum(...) or "
        ".to_list()")

    nav: NavigationMeta
    parent: Source
    source: Source
    where_: Expr | None = None
    ordering: tuple[Ordering, ...] = ()
    limit_: Param | None = None
    offset_: Param | None = None
    projection: Projection | None = None

    def _eval(self, fn: Callable[[Any], Any]) -> Any:
        return call_lambda(fn, self.source.proxy())

    def where(self, predicate: Callable[[Any], Any]) -> CollectionQuery:
        """Keep the elements matching ``predicate`` (ANDed with earlier filters)."""
        cond = as_expr(self._eval(predicate))
        return replace(self, where_=cond if self.where_ is None else self.where_ & cond)

    def order_by(self, key: Callable[[Any], Any], *, descending: bool = False,
                 nulls: str | None = None) -> CollectionQuery:
        """Sort the elements (replaces earlier ordering); see ``Queryable.order_by``."""
        return replace(self, ordering=orderings(self._eval(key), descending, nulls))

    def order_by_descending(self, key: Callable[[Any], Any], *,
                            nulls: str | None = None) -> CollectionQuery:
        """``order_by(key, descending=True)``."""
        return self.order_by(key, descending=True, nulls=nulls)

    def then_by(self, key: Callable[[Any], Any], *, descending: bool = False,
                nulls: str | None = None) -> CollectionQuery:
        """Add a secondary sort key."""
        return replace(self, ordering=self.ordering + orderings(self._eval(key), descending,
                                                                nulls))

    def limit(self, count: int) -> CollectionQuery:
        """At most ``count`` elements."""
        return replace(self, limit_=page_param(count, "limit"))

    def offset(self, count: int) -> CollectionQuery:
        """Skip the first ``count`` elements."""
        return replace(self, offset_=page_param(count, "offset"))

    def select(self, projection: Callable[[Any], Any]) -> CollectionQuery:
        """Project each element (a dict, tuple, dataclass, column or entity)."""
        return replace(self, projection=build_projection(self._eval(projection)))

    def to_list(self) -> CollectionList:
        """The elements as a nested list of the outer row (one query, no N+1)."""
        projection = self.projection if self.projection is not None else PEntity(self.source)
        return CollectionList(self, projection)

    def count(self) -> CollectionAggregate:
        """The number of elements, as an integer expression."""
        return CollectionAggregate(self, Func("count", (), "num", star=True))

    def _aggregate(self, name: str, selector: Callable[[Any], Any]) -> CollectionAggregate:
        value = as_expr(self._eval(selector))
        category = "num" if name in ("sum", "avg") else value.category
        return CollectionAggregate(self, Func(name, (value,), category))

    def sum(self, selector: Callable[[Any], Any]) -> CollectionAggregate:
        """``sum(selector)`` over the elements (NULL when there are none)."""
        return self._aggregate("sum", selector)

    def min(self, selector: Callable[[Any], Any]) -> CollectionAggregate:
        """``min(selector)`` over the elements."""
        return self._aggregate("min", selector)

    def max(self, selector: Callable[[Any], Any]) -> CollectionAggregate:
        """``max(selector)`` over the elements."""
        return self._aggregate("max", selector)

    def avg(self, selector: Callable[[Any], Any]) -> CollectionAggregate:
        """``avg(selector)`` over the elements."""
        return self._aggregate("avg", selector)

    def any(self, predicate: Callable[[Any], Any] | None = None) -> CollectionExists:
        """True when some element (matching ``predicate``, if given) exists."""
        query = self if predicate is None else self.where(predicate)
        return CollectionExists(query)

    def exists(self) -> CollectionExists:
        """True when the collection (after its filters) is not empty."""
        return CollectionExists(self)

    def __bool__(self) -> bool:
        raise QueryBuildError(f"{self.nav.name} is a collection: use .any(), .count() ...")


@node
@dataclass(frozen=True, slots=True, eq=False)
class CollectionAggregate(Expr):
    """``(SELECT agg FROM target WHERE correlation AND filters)`` — a scalar expression."""

    query: CollectionQuery
    aggregate: Func

    @property
    def category(self) -> str:  # type: ignore[override]
        return self.aggregate.category

    def describe(self) -> str:
        return f"{self.query.nav.name}.{self.aggregate.name}()"


@node
@dataclass(frozen=True, slots=True, eq=False)
class CollectionExists(Expr):
    """``EXISTS (SELECT 1 FROM target WHERE correlation AND filters)``."""

    query: CollectionQuery
    category = "bool"

    def describe(self) -> str:
        return f"{self.query.nav.name}.any()"


@node
@dataclass(frozen=True, slots=True, eq=False)
class CollectionList:
    """A collection projected as a nested list: ``array(SELECT ROW(...) ...)``."""

    query: CollectionQuery
    projection: Projection


# --- groups -----------------------------------------------------------------------------------


class GroupProxy:
    """What lambdas after ``group_by`` receive: ``g.key`` (the grouping value, in the shape the
    key lambda returned) and aggregates over the group's rows: ``g.count()``,
    ``g.sum(lambda x: x.views)``, ``g.min``, ``g.max``, ``g.avg``."""

    __slots__ = ("_sources", "key")

    def __init__(self, source: Source, key: Any, joined: tuple[Source, ...] = ()) -> None:
        self._sources = (source, *joined)  # after join(): one lambda parameter per source
        self.key = key

    def __getattr__(self, name: str) -> Any:
        raise QueryBuildError(f"a group has no {name!r}: use g.key, g.count(), g.sum(...), "
                              "g.min(...), g.max(...) or g.avg(...)")

    def _value(self, selector: Callable[[Any], Any]) -> Expr:
        return as_expr(call_lambda(selector, *[source.proxy() for source in self._sources]))

    def count(self, selector: Callable[[Any], Any] | None = None, *,
              distinct: bool = False) -> Expr:
        """``count(*)``, or ``count([DISTINCT] selector)`` (non-NULL values)."""
        if selector is None:
            return Func("count", (), "num", star=True)
        return Func("count", (self._value(selector),), "num", distinct=distinct)

    def sum(self, selector: Callable[[Any], Any]) -> Expr:
        """``sum(selector)`` over the group."""
        return Func("sum", (self._value(selector),), "num")

    def avg(self, selector: Callable[[Any], Any]) -> Expr:
        """``avg(selector)`` over the group."""
        return Func("avg", (self._value(selector),), "num")

    def min(self, selector: Callable[[Any], Any]) -> Expr:
        """``min(selector)`` over the group."""
        value = self._value(selector)
        return Func("min", (value,), value.category)

    def max(self, selector: Callable[[Any], Any]) -> Expr:
        """``max(selector)`` over the group."""
        value = self._value(selector)
        return Func("max", (value,), value.category)


# --- projections ------------------------------------------------------------------------------


def build_projection(value: Any) -> Projection:
    """The projection for what a ``select`` lambda returned.

    Raises :class:`~linkgress.errors.QueryBuildError` for values that cannot be projected.
    """
    if isinstance(value, Expr):
        return PValue(value)
    if isinstance(value, EntityProxy):
        return PEntity(source_of(value))
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise QueryBuildError(f"projection dict keys must be strings, got {key!r}")
        return PDict(tuple(value), tuple(build_projection(v) for v in value.values()))
    if isinstance(value, CollectionList):
        return PList(value)
    if isinstance(value, CollectionQuery):
        return PList(value.to_list())
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        names = tuple(getattr(type(value), "_fields"))  # noqa: B009
        return PObject(type(value), names, tuple(build_projection(v) for v in value))
    if isinstance(value, tuple):
        return PTuple(tuple(build_projection(v) for v in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = tuple(f.name for f in dataclasses.fields(value) if f.init)
        return PObject(type(value), names,
                       tuple(build_projection(getattr(value, n)) for n in names))
    if isinstance(value, GroupProxy):
        raise QueryBuildError("project the group's key and aggregates (g.key, g.count()), "
                              "not the group itself")
    if isinstance(value, list):
        raise QueryBuildError("a projection cannot be a list; use a tuple or a dict")
    if value is None:  # a bare untyped parameter would not prepare; NULL reads as text
        return PValue(Param(None, "text"))
    return PValue(as_expr(value))
