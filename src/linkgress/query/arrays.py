"""Array columns in queries: ``p.tags.contains([...])`` (``@>``), ``.overlaps([...])``
(``&&``), ``p.tags.any_eq(x)`` and ``x.in_(p.tags)`` (``x = ANY(tags)``).

The list is one bind parameter, cast to the column's array type; enum members become their
labels. ``func.array_length(p.tags, 1)`` and ``func.cardinality(p.tags)`` are plain functions
(:mod:`linkgress.query.functions`). The methods are attached to expressions of category
``array`` through :mod:`linkgress.query.extensions`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.categories import exact_decimal
from linkgress.query.expressions import BinaryOp, Expr, Param, node
from linkgress.query.extensions import extension

__all__ = ["AnyEq", "array_param"]


@node
@dataclass(frozen=True, slots=True, eq=False)
class AnyEq(Expr):
    """``value = ANY(array)``: ``value`` is an element of the array expression."""

    value: Expr
    array: Expr
    category = "bool"

    def describe(self) -> str:
        return f"{self.value.describe()} = ANY({self.array.describe()})"


def _element(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_element(v) for v in value]
    return exact_decimal(value)


def array_param(expr: Expr, values: Any, op: str) -> Param:
    """``values`` (a list or tuple) as one parameter cast to ``expr``'s array type."""
    if not isinstance(values, list | tuple):
        raise QueryBuildError(f"{op}() on {expr.describe()} needs a list, got {values!r}")
    meta = expr.meta
    cast = None if meta is None else meta.type.base_sql + "[]" * max(meta.type.dims, 1)
    return Param([_element(v) for v in values], cast, "array")


@extension("contains", "array")
def contains(expr: Expr, values: Any) -> Expr:
    """``@>``: the array holds every element of ``values``."""
    return BinaryOp("@>", expr, array_param(expr, values, "contains"), "bool")


@extension("overlaps", "array")
def overlaps(expr: Expr, values: Any) -> Expr:
    """``&&``: the array and ``values`` have an element in common."""
    return BinaryOp("&&", expr, array_param(expr, values, "overlaps"), "bool")


@extension("any_eq", "array")
def any_eq(expr: Expr, value: Any) -> Expr:
    """``value = ANY(array)``: ``value`` (a Python value or an expression) is an element."""
    if value is None or isinstance(value, list | tuple | dict):
        raise QueryBuildError(f"any_eq() on {expr.describe()} needs one element value, "
                              f"got {value!r}")
    if isinstance(value, Expr):
        return AnyEq(value, expr)
    return AnyEq(Param(_element(value), None), expr)
