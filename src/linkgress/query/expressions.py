"""Expression nodes: what query lambdas build by operator overloading on column proxies.

Every node is a frozen value. Comparisons, ``&``/``|``/``~``, arithmetic and the methods of
:class:`Expr` (``is_null``, ``in_``, ``between``, ``like``, ``startswith``, ``coalesce``, ...)
return new nodes; Python values met along the way become :class:`Param` nodes (bind
parameters), never SQL text. Type errors (an integer column compared with a string) raise
:class:`~linkgress.errors.QueryBuildError` right away, naming the attribute.

``func`` and ``sql`` (SQL functions and raw fragments) live in
:mod:`linkgress.query.functions`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linkgress.errors import QueryBuildError
from linkgress.model.entity import ColumnInfo

if TYPE_CHECKING:
    from linkgress.model.meta import ColumnMeta
    from linkgress.query.navigation import Source

__all__ = [
    "Between",
    "BinaryOp",
    "ColumnRef",
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
]

# --- type categories: what may be compared with what ----------------------------------------

_CATEGORY_BY_TYPE = {
    "smallint": "num", "integer": "num", "bigint": "num", "numeric": "num", "real": "num",
    "double precision": "num", "text": "text", "character varying": "text",
    "character": "text", "boolean": "bool", "timestamp with time zone": "time",
    "timestamp without time zone": "time", "date": "time", "time without time zone": "clock",
    "time with time zone": "clock", "uuid": "uuid", "json": "json", "jsonb": "json",
    "bytea": "bytes", "interval": "interval",
}

_ACCEPTS: dict[str, tuple[type, ...]] = {
    "num": (int, float, decimal.Decimal),
    "text": (str,),
    "bool": (bool,),
    "time": (_dt.date,),
    "clock": (_dt.time,),
    "uuid": (uuid.UUID, str),
    "bytes": (bytes, bytearray, memoryview),
    "interval": (_dt.timedelta,),
    "array": (list, tuple),
}

_PYTHON_CATEGORY: dict[type, str] = {
    bool: "bool", int: "num", float: "num", decimal.Decimal: "num", str: "text",
    _dt.datetime: "time", _dt.date: "time", _dt.time: "clock", uuid.UUID: "uuid",
    bytes: "bytes", _dt.timedelta: "interval", list: "array", tuple: "array",
}

# SQL casts for values that appear where PostgreSQL cannot infer their type (projections).
_PYTHON_CAST: dict[type, str] = {
    bool: "boolean", int: "bigint", float: "double precision", decimal.Decimal: "numeric",
    str: "text", _dt.datetime: "timestamptz", _dt.date: "date", _dt.time: "time",
    uuid.UUID: "uuid", bytes: "bytea", _dt.timedelta: "interval",
}


def column_category(meta: ColumnMeta) -> str:
    """The comparison category of a column (``num``, ``text``, ``enum``, ``any``, ...)."""
    if meta.type.dims:
        return "array"
    if meta.enum_class is not None or meta.type.is_enum:
        return "enum"
    return _CATEGORY_BY_TYPE.get(meta.type.name, "any")


_FRACTIONAL = (float, decimal.Decimal)
_INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})


def python_cast(value: Any) -> str | None:
    """The SQL type to cast a bound Python value to when nothing else gives its type."""
    if isinstance(value, enum.Enum):
        value = value.value
    return _PYTHON_CAST.get(type(value))


def _compatible(a: str, b: str) -> bool:
    return a == b or "any" in (a, b) or "json" in (a, b) or {a, b} == {"enum", "text"}


class Expr:
    """Base of every expression node; carries the operators query lambdas use."""

    __slots__ = ()

    #: Comparison category (see :func:`column_category`).
    category: str = "any"

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
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise QueryBuildError(f"in_() on {self.describe()} expects a list of values, "
                                  f"got {values!r}")
        items = [self._value(v, "in_") for v in values]
        return InArray(self, Param(items, self._array_cast()), False)

    def not_in(self, values: Iterable[Any]) -> Expr:
        """The negation of :meth:`in_` (an empty list matches every non-NULL row)."""
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
        return self.like(_escape_like(self._text_value(prefix, "startswith")) + "%")

    def endswith(self, suffix: str) -> Expr:
        """Ends with ``suffix`` (``%`` and ``_`` in it match literally)."""
        return self.like("%" + _escape_like(self._text_value(suffix, "endswith")))

    def contains(self, part: str) -> Expr:
        """Contains ``part`` (``%`` and ``_`` in it match literally)."""
        return self.like("%" + _escape_like(self._text_value(part, "contains")) + "%")

    def coalesce(self, *fallbacks: Any) -> Expr:
        """``COALESCE(self, fallback, ...)``: the first non-NULL value."""
        args = (self, *(self._operand(f, "coalesce") for f in fallbacks))
        return Func("coalesce", args, self.category)

    # -- ordering -------------------------------------------------------------------------------

    def asc(self, nulls: str | None = None) -> Ordering:
        """Ascending sort key (``nulls``: ``"first"`` / ``"last"``)."""
        return Ordering(self, False, _check_nulls(nulls))

    def desc(self, nulls: str | None = None) -> Ordering:
        """Descending sort key (``nulls``: ``"first"`` / ``"last"``)."""
        return Ordering(self, True, _check_nulls(nulls))

    # -- operands -------------------------------------------------------------------------------

    def _operand(self, other: Any, op: str) -> Expr:
        if isinstance(other, Expr):
            if not _compatible(self.category, other.category):
                raise QueryBuildError(f"cannot use {op!r} between {self.describe()} "
                                      f"({self.category}) and {other.describe()} "
                                      f"({other.category})")
            return other
        value = self._value(other, op)
        if self.category == "json" and isinstance(self, ColumnRef) and not self.meta.type.dims:
            value = json.dumps(value)  # asyncpg sends json/jsonb parameters as text
        elif type(value) in _FRACTIONAL and not (
                isinstance(self, ColumnRef) and self.meta.type.name not in _INTEGER_TYPES):
            # PostgreSQL would type the parameter after the other side (``integer``) and
            # asyncpg would refuse 1.5: say what it is.
            return Param(value, python_cast(value), "num")
        return Param(value, None)

    def _value(self, value: Any, op: str) -> Any:
        """Check a Python value against this expression's category; return it normalised
        (an enum member becomes its label). Mutations call this too, then encode per column."""
        if isinstance(value, ColumnInfo):
            raise _foreign_column(value)
        category = self.category
        if category in ("any", "json"):
            return value.value if isinstance(value, enum.Enum) else value
        if category == "enum":
            return _enum_value(self, value, op)
        accepts = _ACCEPTS.get(category)
        if accepts is not None and (not isinstance(value, accepts) or (
                isinstance(value, bool) and category == "num")):
            raise QueryBuildError(f"cannot use {op!r} between {self.describe()} ({category}) "
                                  f"and {value!r} ({type(value).__name__})")
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


def _enum_value(expr: Expr, value: Any, op: str) -> Any:
    enum_class = expr.enum_class if isinstance(expr, ColumnRef) else None
    if isinstance(value, enum.Enum):
        if enum_class is not None and not isinstance(value, enum_class):
            raise QueryBuildError(f"cannot use {op!r} between {expr.describe()} "
                                  f"({enum_class.__name__}) and {value!r}")
        return value.value
    if isinstance(value, str) and (
            enum_class is None or value in {m.value for m in enum_class}):
        return value
    raise QueryBuildError(f"cannot use {op!r} between {expr.describe()} (enum) and {value!r}")


def _foreign_column(info: ColumnInfo) -> QueryBuildError:
    return QueryBuildError(
        f"{info.attr!r} is a column of another entity (a class attribute, not a query proxy); "
        "reach other entities through a navigation (has_one / has_many)")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_nulls(nulls: str | None) -> str | None:
    if nulls not in (None, "first", "last"):
        raise QueryBuildError(f"nulls must be 'first', 'last' or None, got {nulls!r}")
    return nulls


def as_expr(value: Any) -> Expr:
    """``value`` as an expression: nodes stay, Python values become bind parameters."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, ColumnInfo):
        raise _foreign_column(value)
    misuse = getattr(type(value), "_linkgress_misuse", None)
    if misuse is not None:
        raise QueryBuildError(misuse)
    category = "any" if value is None else _PYTHON_CATEGORY.get(type(value), "any")
    if isinstance(value, enum.Enum):
        value = value.value
    return Param(value, python_cast(value), category)


# --- nodes ------------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True, eq=False)
class Param(Expr):
    """A bound value: rendered as ``$n`` (with ``::cast`` when set), never as text."""

    value: Any
    cast: str | None
    category: str = "any"

    def describe(self) -> str:
        return repr(self.value)


@dataclass(frozen=True, slots=True, eq=False)
class BinaryOp(Expr):
    """``left op right`` for comparisons, AND/OR and arithmetic."""

    op: str
    left: Expr
    right: Expr
    category: str

    def describe(self) -> str:
        return f"({self.left.describe()} {self.op} {self.right.describe()})"


@dataclass(frozen=True, slots=True, eq=False)
class UnaryOp(Expr):
    """``NOT operand`` or ``-operand``."""

    op: str
    operand: Expr
    category: str


@dataclass(frozen=True, slots=True, eq=False)
class IsNull(Expr):
    """``operand IS [NOT] NULL``."""

    operand: Expr
    negated: bool
    category = "bool"


@dataclass(frozen=True, slots=True, eq=False)
class InArray(Expr):
    """``operand = ANY($n)`` (or ``<> ALL`` when negated) with one array parameter."""

    operand: Expr
    values: Param
    negated: bool
    category = "bool"


@dataclass(frozen=True, slots=True, eq=False)
class Between(Expr):
    """``operand BETWEEN low AND high``."""

    operand: Expr
    low: Expr
    high: Expr
    category = "bool"


@dataclass(frozen=True, slots=True, eq=False)
class Like(Expr):
    """``operand LIKE|ILIKE pattern`` (backslash escapes, PostgreSQL's default)."""

    operand: Expr
    pattern: Expr
    op: str
    category = "bool"


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
