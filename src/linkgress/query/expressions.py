"""Expression nodes: what query lambdas build by operator overloading on column proxies.

Every node is a frozen value. Comparisons, ``&``/``|``/``~``, arithmetic and the methods of
:class:`Expr` (``is_null``, ``in_``, ``between``, ``like``, ``startswith``, ``coalesce``, ...)
return new nodes; Python values met along the way become :class:`Param` nodes (bind
parameters), never SQL text. Type errors (an integer column compared with a string) raise
:class:`~linkgress.errors.QueryBuildError` right away, naming the attribute.

This is the ground floor of the query layer: it imports nothing above it. Each node class is
registered with :func:`node` (see :data:`NODE_TYPES`); the shape walker
(:mod:`linkgress.query.shape`) and the compiler (:mod:`linkgress.query.compiler`) each keep a
table by node type, and a unit test checks that every registered type has an entry in both —
a new node (a JSON extraction, a window function) is added here, registered, and then given
its walker and renderer.

``func`` and ``sql`` (SQL functions and raw fragments) live in
:mod:`linkgress.query.functions`; the comparison categories in :mod:`linkgress.query.categories`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass
from types import CoroutineType
from typing import TYPE_CHECKING, Any, TypeVar

from linkgress.errors import QueryBuildError
from linkgress.model.entity import ColumnInfo
from linkgress.query.awaitables import QueryCall, awaitable_expr
from linkgress.query.categories import (
    ACCEPTS,
    FRACTIONAL,
    INTEGER_TYPES,
    PYTHON_CATEGORY,
    check_nulls,
    compatible,
    enum_label,
    escape_like,
    exact_decimal,
    foreign_column_error,
    python_cast,
)
from linkgress.query.extensions import CategoryMethods, extended

if TYPE_CHECKING:
    from linkgress.model.meta import ColumnMeta

__all__ = [
    "Between",
    "BinaryOp",
    "Expr",
    "Func",
    "InArray",
    "IsNull",
    "Like",
    "Ordering",
    "Param",
    "Raw",
    "UnaryOp",
    "as_expr",
    "checked_value",
    "coerce_operand",
    "node",
]

N = TypeVar("N", bound=type)

#: Every node type the walker and the compiler must handle (filled by :func:`node`).
NODE_TYPES: list[type] = []


def node(cls: N) -> N:
    """Register node class ``cls`` (put it above ``@dataclass`` so the final class is the one
    registered)."""
    NODE_TYPES.append(cls)
    return cls


class Expr(CategoryMethods):
    """Base of every expression node; carries the operators query lambdas use, and (from
    :class:`~linkgress.query.extensions.CategoryMethods`) the methods of some categories:
    JSONB, arrays, flags, full-text search, windows."""

    __slots__ = ()

    #: Comparison category (see :func:`~linkgress.query.categories.column_category`).
    category: str = "any"
    #: The column behind this expression: only a column reference
    #: (:class:`~linkgress.query.proxies.ColumnRef`) has one.
    meta: ColumnMeta | None = None

    def describe(self) -> str:
        """How messages name this expression."""
        return type(self).__name__

    # -- comparisons --------------------------------------------------------------------------

    def _compare(self, op: str, other: Any) -> Expr:
        if other is None:
            if op in ("=", "<>"):
                return IsNull(self, op == "<>")
            raise QueryBuildError(f"cannot compare {self.describe()} with None using {op!r}; "
                                  "use is_null() / is_not_null()")
        return BinaryOp(op, self, self._operand(other, op), "bool")

    def __eq__(self, other: object) -> Expr:  # type: ignore[override]
        return self._compare("=", other)

    def __ne__(self, other: object) -> Expr:  # type: ignore[override]
        return self._compare("<>", other)

    def __lt__(self, other: Any) -> Expr:
        return self._compare("<", other)

    def __le__(self, other: Any) -> Expr:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> Expr:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> Expr:
        return self._compare(">=", other)

    __hash__ = None  # type: ignore[assignment]  # == builds SQL, so nodes are not hashable

    def __getitem__(self, key: Any) -> Expr:  # JSON extraction (linkgress.query.jsonb)
        return extended(self, "__getitem__")(key)  # type: ignore[no-any-return]

    def __bool__(self) -> bool:
        raise QueryBuildError(
            f"{self.describe()} has no truth value inside a query lambda: combine conditions "
            "with & | ~ (not and/or/not), and use a.between(x, y) instead of x < a < y")

    # -- logic ----------------------------------------------------------------------------------

    def _condition(self, other: Any, op: str) -> Expr:
        right = as_expr(other)
        for side in (self, right):
            if side.category not in ("bool", "any"):
                raise QueryBuildError(f"{op!r} needs conditions, got {side.describe()}")
        return BinaryOp(op, self, right, "bool")

    def __and__(self, other: Any) -> Expr:
        return self._condition(other, "AND")

    def __rand__(self, other: Any) -> Expr:
        return as_expr(other)._condition(self, "AND")

    def __or__(self, other: Any) -> Expr:
        return self._condition(other, "OR")

    def __ror__(self, other: Any) -> Expr:
        return as_expr(other)._condition(self, "OR")

    def __invert__(self) -> Expr:
        if self.category not in ("bool", "any"):
            raise QueryBuildError(f"'~' needs a condition, got {self.describe()}")
        return UnaryOp("NOT", self, "bool")

    # -- arithmetic -----------------------------------------------------------------------------

    def _arith(self, op: str, other: Any, reverse: bool = False) -> Expr:
        right = self._operand(other, op)
        if self.category == "text" or right.category == "text":
            raise QueryBuildError(f"cannot apply {op!r} to {self.describe()} and "
                                  f"{right.describe()}; use func.concat(...) for text")
        category = self.category if self.category != "any" else right.category
        left, right = (right, self) if reverse else (self, right)
        return BinaryOp(op, left, right, category)

    def __add__(self, other: Any) -> Expr:
        return self._arith("+", other)

    def __radd__(self, other: Any) -> Expr:
        return self._arith("+", other, True)

    def __sub__(self, other: Any) -> Expr:
        return self._arith("-", other)

    def __rsub__(self, other: Any) -> Expr:
        return self._arith("-", other, True)

    def __mul__(self, other: Any) -> Expr:
        return self._arith("*", other)

    def __rmul__(self, other: Any) -> Expr:
        return self._arith("*", other, True)

    def __truediv__(self, other: Any) -> Expr:
        return self._arith("/", other)

    def __rtruediv__(self, other: Any) -> Expr:
        return self._arith("/", other, True)

    def __mod__(self, other: Any) -> Expr:
        return self._arith("%", other)

    def __rmod__(self, other: Any) -> Expr:
        return self._arith("%", other, True)

    def __neg__(self) -> Expr:
        return UnaryOp("-", self, self.category)

    # -- predicates -----------------------------------------------------------------------------

    def is_null(self) -> Expr:
        """``IS NULL``."""
        return IsNull(self, False)

    def is_not_null(self) -> Expr:
        """``IS NOT NULL``."""
        return IsNull(self, True)

    def in_(self, values: Iterable[Any]) -> Expr:
        """``= ANY($n)`` with the values bound as one array; an empty list matches nothing."""
        subquery = getattr(type(values), "_linkgress_in", None)
        if subquery is not None:  # a query of one column: ``IN (SELECT ...)``
            return subquery(values, self, False)  # type: ignore[no-any-return]
        if isinstance(values, Expr) and values.category == "array":  # see query/arrays.py
            return extended(values, "any_eq")(self)  # type: ignore[no-any-return]
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise QueryBuildError(f"in_() on {self.describe()} expects a list of values, "
                                  f"got {values!r}")
        items = [self._value(v, "in_") for v in values]
        return InArray(self, Param(items, self._array_cast()), False)

    def not_in(self, values: Iterable[Any]) -> Expr:
        """The negation of :meth:`in_` (an empty list matches every non-NULL row)."""
        subquery = getattr(type(values), "_linkgress_in", None)
        if subquery is not None:
            return subquery(values, self, True)  # type: ignore[no-any-return]
        node = self.in_(values)
        assert isinstance(node, InArray)
        return InArray(node.operand, node.values, True)

    def between(self, low: Any, high: Any) -> Expr:
        """``BETWEEN low AND high`` (inclusive)."""
        return Between(self, self._operand(low, "between"), self._operand(high, "between"))

    def like(self, pattern: Any) -> Expr:
        """``LIKE pattern`` (``%`` and ``_`` are wildcards)."""
        return Like(self, self._text_operand(pattern, "like"), "LIKE")

    def ilike(self, pattern: Any) -> Expr:
        """Case-insensitive ``ILIKE pattern``."""
        return Like(self, self._text_operand(pattern, "ilike"), "ILIKE")

    def startswith(self, prefix: str) -> Expr:
        """Starts with ``prefix`` (``%`` and ``_`` in it match literally)."""
        return self.like(escape_like(self._text_value(prefix, "startswith")) + "%")

    def endswith(self, suffix: str) -> Expr:
        """Ends with ``suffix`` (``%`` and ``_`` in it match literally)."""
        return self.like("%" + escape_like(self._text_value(suffix, "endswith")))

    def contains(self, part: Any) -> Expr:
        """Contains ``part`` (``%`` and ``_`` in it match literally); on JSONB and array
        columns, ``@>`` (see :mod:`linkgress.query.jsonb`, :mod:`linkgress.query.arrays`)."""
        if self.category in ("json", "array"):
            return extended(self, "contains")(part)  # type: ignore[no-any-return]
        return self.like("%" + escape_like(self._text_value(part, "contains")) + "%")

    def coalesce(self, *fallbacks: Any) -> Expr:
        """``COALESCE(self, fallback, ...)``: the first non-NULL value."""
        args = (self, *(self._operand(f, "coalesce") for f in fallbacks))
        return Func("coalesce", args, self.category)

    # -- ordering -------------------------------------------------------------------------------

    def asc(self, nulls: str | None = None) -> Ordering:
        """Ascending sort key (``nulls``: ``"first"`` / ``"last"``)."""
        return Ordering(self, False, check_nulls(nulls))

    def desc(self, nulls: str | None = None) -> Ordering:
        """Descending sort key (``nulls``: ``"first"`` / ``"last"``)."""
        return Ordering(self, True, check_nulls(nulls))

    # -- operands -------------------------------------------------------------------------------

    def _operand(self, other: Any, op: str) -> Expr:
        if type(other) is QueryCall or type(other) is CoroutineType:
            other = awaitable_expr(other)  # an unawaited query.count(): a scalar subquery
        if isinstance(other, Expr):
            if not compatible(self.category, other.category):
                raise QueryBuildError(f"cannot use {op!r} between {self.describe()} "
                                      f"({self.category}) and {other.describe()} "
                                      f"({other.category})")
            return other
        value = self._value(other, op)
        meta = self.meta
        if self.category == "json" and meta is not None and not meta.type.dims:
            value = json.dumps(value)  # asyncpg sends json/jsonb parameters as text
        elif type(value) in FRACTIONAL and not (
                meta is not None and meta.type.name not in INTEGER_TYPES):
            # PostgreSQL would type the parameter after the other side (``integer``) and
            # asyncpg would refuse 1.5: say what it is.
            return Param(value, python_cast(value), "num")
        return Param(value, None)

    def _value(self, value: Any, op: str) -> Any:
        """Check a Python value against this expression's category; return it normalised
        (an enum member becomes its label). Mutations call this too, then encode per column."""
        if isinstance(value, ColumnInfo):
            raise foreign_column_error(value)
        category = self.category
        if category in ("any", "json"):
            return value.value if isinstance(value, enum.Enum) else value
        if category == "enum":
            meta = self.meta
            return enum_label(None if meta is None else meta.enum_class, self.describe(), value,
                              op)
        accepts = ACCEPTS.get(category)
        if accepts is not None and (not isinstance(value, accepts) or (
                isinstance(value, bool) and category == "num")):
            raise QueryBuildError(f"cannot use {op!r} between {self.describe()} ({category}) "
                                  f"and {value!r} ({type(value).__name__})")
        meta = self.meta
        if meta is not None and meta.type.name == "numeric":
            return exact_decimal(value)
        return value

    def _text_value(self, value: Any, op: str) -> str:
        if self.category not in ("text", "any", "enum") or not isinstance(value, str):
            raise QueryBuildError(f"{op}() needs a text column and a str, got "
                                  f"{self.describe()} ({self.category}) and {value!r}")
        return value

    def _text_operand(self, pattern: Any, op: str) -> Expr:
        if isinstance(pattern, Expr):
            return pattern
        return Param(self._text_value(pattern, op), None)

    def _array_cast(self) -> str | None:
        return None


def as_expr(value: Any) -> Expr:
    """``value`` as an expression: nodes stay, Python values become bind parameters."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, ColumnInfo):
        raise foreign_column_error(value)
    misuse = getattr(type(value), "_linkgress_misuse", None)
    if misuse is not None:
        raise QueryBuildError(misuse)
    if type(value) is QueryCall or type(value) is CoroutineType:
        return awaitable_expr(value)  # type: ignore[no-any-return]
    category = "any" if value is None else PYTHON_CATEGORY.get(type(value), "any")
    if isinstance(value, enum.Enum):
        value = value.value
    return Param(value, python_cast(value), category)


# --- nodes ------------------------------------------------------------------------------------


@node
@dataclass(frozen=True, slots=True, eq=False)
class Param(Expr):
    """A bound value: rendered as ``$n`` (with ``::cast`` when set), never as text."""

    value: Any
    cast: str | None
    category: str = "any"

    def describe(self) -> str:
        return repr(self.value)


@node
@dataclass(frozen=True, slots=True, eq=False)
class BinaryOp(Expr):
    """``left op right`` for comparisons, AND/OR and arithmetic."""

    op: str
    left: Expr
    right: Expr
    category: str

    def describe(self) -> str:
        return f"({self.left.describe()} {self.op} {self.right.describe()})"


@node
@dataclass(frozen=True, slots=True, eq=False)
class UnaryOp(Expr):
    """``NOT operand`` or ``-operand``."""

    op: str
    operand: Expr
    category: str


@node
@dataclass(frozen=True, slots=True, eq=False)
class IsNull(Expr):
    """``operand IS [NOT] NULL``."""

    operand: Expr
    negated: bool
    category = "bool"


@node
@dataclass(frozen=True, slots=True, eq=False)
class InArray(Expr):
    """``operand = ANY($n)`` (or ``<> ALL`` when negated) with one array parameter."""

    operand: Expr
    values: Param
    negated: bool
    category = "bool"


@node
@dataclass(frozen=True, slots=True, eq=False)
class Between(Expr):
    """``operand BETWEEN low AND high``."""

    operand: Expr
    low: Expr
    high: Expr
    category = "bool"


@node
@dataclass(frozen=True, slots=True, eq=False)
class Like(Expr):
    """``operand LIKE|ILIKE pattern`` (backslash escapes, PostgreSQL's default)."""

    operand: Expr
    pattern: Expr
    op: str
    category = "bool"


@node
@dataclass(frozen=True, slots=True, eq=False)
class Func(Expr):
    """A SQL function call; ``args == ()`` with ``star`` renders ``count(*)``."""

    name: str
    args: tuple[Expr, ...]
    category: str = "any"
    star: bool = False
    distinct: bool = False

    def describe(self) -> str:
        return f"{self.name}(...)"


@node
@dataclass(frozen=True, slots=True, eq=False)
class Raw(Expr):
    """A raw SQL fragment; its ``$1..$n`` refer to ``args`` (inlined nodes or bound values)."""

    text: str
    args: tuple[Expr, ...]
    category: str = "any"

    def describe(self) -> str:
        return f"sql({self.text!r})"


@dataclass(frozen=True, slots=True, eq=False)
class Ordering:
    """A sort key: expression, direction, and where NULLs go (None = PostgreSQL's default)."""

    expr: Expr
    descending: bool = False
    nulls: str | None = None


def coerce_operand(expr: Expr, other: Any, op: str) -> Expr:
    """``other`` as an operand of ``expr`` under ``op`` (checked against its category)."""
    return expr._operand(other, op)


def checked_value(expr: Expr, value: Any, op: str) -> Any:
    """A Python ``value`` checked against ``expr``'s category (enum members become labels)."""
    return expr._value(value, op)
