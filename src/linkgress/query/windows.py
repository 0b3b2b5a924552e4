"""Window functions: ``func.row_number().over(partition_by=..., order_by=...)``, any aggregate
``func.sum(p.views).over(...)``, and frames with ``.rows_between(start, end)``.

``partition_by`` takes an expression or a tuple of them, ``order_by`` a sort key as
``order_by`` lambdas return it (``p.views.desc()``, a tuple of keys); inside a ``select``
lambda the entity parameter is in scope, so they are written with it directly. The window keeps
its function's category, so ``func.sum(p.views).over(...) > 10`` is type-checked like the
aggregate. Frame offsets are bind parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.expressions import Expr, Func, Ordering, Param, as_expr, node, orderings
from linkgress.query.extensions import ANY_CATEGORY, extension

__all__ = ["FrameBound", "Window"]


@dataclass(frozen=True, slots=True, eq=False)
class FrameBound:
    """One end of a frame: ``UNBOUNDED PRECEDING|FOLLOWING``, ``CURRENT ROW`` or
    ``<offset> PRECEDING|FOLLOWING`` (``offset`` bound)."""

    kind: str
    offset: Param | None = None


@node
@dataclass(frozen=True, slots=True, eq=False)
class Window(Expr):
    """``function OVER (PARTITION BY ... ORDER BY ... ROWS BETWEEN start AND end)``."""

    function: Func
    partition: tuple[Expr, ...] = ()
    ordering: tuple[Ordering, ...] = ()
    frame: tuple[FrameBound, FrameBound] | None = None

    @property
    def category(self) -> str:  # type: ignore[override]
        return self.function.category

    def describe(self) -> str:
        return f"{self.function.describe()} OVER (...)"

    def rows_between(self, start: int | None, end: int | None) -> Window:
        """Restrict the frame to rows from ``start`` to ``end`` relative to the current row:
        ``None`` is unbounded (before for ``start``, after for ``end``), ``0`` the current
        row, ``-n`` n rows before, ``n`` n rows after — ``rows_between(-2, 0)`` is a moving
        window over three rows."""
        if not self.ordering:
            raise QueryBuildError("rows_between() needs over(order_by=...): a frame follows "
                                  "the window's order")
        first, last = _bound(start, "start"), _bound(end, "end")
        if start is not None and end is not None and start > end:
            raise QueryBuildError(f"rows_between({start}, {end}): the start is after the end")
        return replace(self, frame=(first, last))


def _bound(value: int | None, which: str) -> FrameBound:
    if value is None:
        return FrameBound("UNBOUNDED PRECEDING" if which == "start" else "UNBOUNDED FOLLOWING")
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryBuildError(f"rows_between() {which} must be an int or None, got {value!r}")
    if value == 0:
        return FrameBound("CURRENT ROW")
    return FrameBound("PRECEDING" if value < 0 else "FOLLOWING", Param(abs(value), "bigint"))


def _partition(value: Any) -> tuple[Expr, ...]:
    items = value if isinstance(value, tuple | list) else (value,)
    out = []
    for item in items:
        if callable(item) and not isinstance(item, Expr):
            raise QueryBuildError(
                "over(partition_by=...) takes expressions: inside select(lambda p: ...) write "
                "partition_by=p.category_id (the lambda's parameter is in scope)")
        out.append(as_expr(item))
    return tuple(out)


@extension("over", ANY_CATEGORY)
def over(expr: Expr, partition_by: Any = None, order_by: Any = None) -> Window:
    """``expr OVER (...)``: ``expr`` is a function call (``func.row_number()``,
    ``func.sum(p.views)``); ``partition_by`` an expression or a tuple of them; ``order_by``
    a sort key or a tuple of them."""
    if not isinstance(expr, Func):
        raise QueryBuildError(f"over() needs a function call such as func.row_number() or "
                              f"func.sum(...), got {expr.describe()}")
    if callable(order_by) and not isinstance(order_by, Expr):
        raise QueryBuildError(
            "over(order_by=...) takes sort keys: inside select(lambda p: ...) write "
            "order_by=p.views.desc() (the lambda's parameter is in scope)")
    keys = () if order_by is None else orderings(order_by, False, None)
    return Window(expr, () if partition_by is None else _partition(partition_by), keys)
