"""Window functions: ``func.row_number().over(partition_by=..., order_by=...)``, any aggregate
``func.sum(p.views).over(...)``, and frames with ``.rows_between(start, end)``.

``partition_by`` takes an expression or a tuple of them, ``order_by`` a sort key as
``order_by`` lambdas return it (``p.views.desc()``, a tuple of keys) — written with the
``select`` lambda's parameter, which is in scope, or as lambdas of their own
(``partition_by=lambda p: p.category_id``) that receive the same proxies. The window keeps
its function's category, so ``func.sum(p.views).over(...) > 10`` is type-checked like the
aggregate. Frame offsets are bind parameters.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.expressions import Expr, Func, Ordering, Param, node, orderings
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
    for item in items:
        if not isinstance(item, Expr):
            raise QueryBuildError(f"over(partition_by=...) needs columns or expressions, "
                                  f"got {item!r}")
    return tuple(items)


def _caller_arguments(frame: FrameType) -> tuple[Any, ...]:
    """The arguments the function running in ``frame`` received (the query lambda's
    proxies)."""
    code = frame.f_code
    local = frame.f_locals
    return tuple(local[name] for name in code.co_varnames[:code.co_argcount] if name in local)


def _resolve(value: Any, arguments: tuple[Any, ...], what: str) -> Any:
    if not callable(value) or isinstance(value, Expr):
        return value
    try:
        return value(*arguments)
    except (TypeError, AttributeError) as exc:  # not called from a query lambda, or arity
        received = ", ".join(type(a).__name__ for a in arguments) or "nothing"
        raise QueryBuildError(
            f"over({what}=lambda ...) receives the parameters of the query lambda that calls "
            f"over() ({len(arguments)} here: {received}): {exc}") from exc


@extension("over", ANY_CATEGORY)
def over(expr: Expr, partition_by: Any = None, order_by: Any = None) -> Window:
    """``expr OVER (...)``: ``expr`` is a function call (``func.row_number()``,
    ``func.sum(p.views)``); ``partition_by`` an expression or a tuple of them; ``order_by``
    a sort key or a tuple of them. Either may also be a lambda, as in
    ``over(partition_by=lambda p: p.category_id)``: it receives what the query lambda calling
    ``over()`` received (its entity proxies)."""
    if not isinstance(expr, Func):
        raise QueryBuildError(f"over() needs a function call such as func.row_number() or "
                              f"func.sum(...), got {expr.describe()}")
    arguments: tuple[Any, ...] = ()
    if callable(partition_by) or callable(order_by):
        # Called through a functools.partial (no frame of its own): frame 1 is the lambda.
        frame = sys._getframe(1)
        try:
            arguments = _caller_arguments(frame)
        finally:
            del frame  # no reference cycle through the frame
        partition_by = _resolve(partition_by, arguments, "partition_by")
        order_by = _resolve(order_by, arguments, "order_by")
    keys = () if order_by is None else orderings(order_by, False, None)
    return Window(expr, () if partition_by is None else _partition(partition_by), keys)
