"""Window functions: ``func.row_number().over(partition_by=..., order_by=...)``, any aggregate
``func.sum(p.views).over(...)``, and frames with ``.rows_between(start, end)`` and
``.range_between(start, end)``.

``partition_by`` takes an expression or a tuple of them, ``order_by`` a sort key as
``order_by`` lambdas return it (``p.views.desc()``, a tuple of keys) — written with the
``select`` lambda's parameter, which is in scope, or as lambdas of their own
(``partition_by=lambda p: p.category_id``) that receive the same proxies. The window keeps
its function's category, so ``func.sum(p.views).over(...) > 10`` is type-checked like the
aggregate. Frame offsets are bind parameters.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from dataclasses import dataclass, replace
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.expressions import Expr, Func, Ordering, Param, node
from linkgress.query.extensions import ANY_CATEGORY, extension
from linkgress.query.lambdaargs import current_arguments
from linkgress.query.sortkeys import orderings

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
    """``function OVER (PARTITION BY ... ORDER BY ... ROWS|RANGE BETWEEN start AND end)``."""

    function: Func
    partition: tuple[Expr, ...] = ()
    ordering: tuple[Ordering, ...] = ()
    frame: tuple[FrameBound, FrameBound] | None = None
    frame_mode: str = "ROWS"

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
        return self._framed("ROWS", start, end, (int,))

    def range_between(self, start: Any, end: Any) -> Window:
        """Restrict the frame to the rows whose sort value lies from ``start`` to ``end`` away
        from the current row's (``RANGE``): ``None`` and ``0`` as in :meth:`rows_between`,
        other offsets are numbers or ``datetime.timedelta`` (for a date/time order), negative
        before and positive after — ``range_between(timedelta(days=-7), 0)``."""
        offsets = [v for v in (start, end) if v is not None and not isinstance(v, bool) and v]
        if offsets and len(self.ordering) != 1:
            raise QueryBuildError("range_between() with an offset needs exactly one "
                                  "over(order_by=...) key")
        return self._framed("RANGE", start, end, (int, float, decimal.Decimal, _dt.timedelta))

    def _framed(self, mode: str, start: Any, end: Any, kinds: tuple[type, ...]) -> Window:
        method = f"{mode.lower()}_between"
        if not self.ordering:
            raise QueryBuildError(f"{method}() needs over(order_by=...): a frame follows "
                                  "the window's order")
        first, last = _bound(start, "start", kinds, method), _bound(end, "end", kinds, method)
        if start is not None and end is not None and _after(start, end, method):
            raise QueryBuildError(f"{method}({start!r}, {end!r}): the start is after the end")
        return replace(self, frame=(first, last), frame_mode=mode)


def _sign(value: Any) -> int:
    zero: Any = _dt.timedelta(0) if isinstance(value, _dt.timedelta) else 0
    return (value > zero) - (value < zero)  # type: ignore[no-any-return]


def _after(start: Any, end: Any, method: str) -> bool:
    """True when frame offset ``start`` lies after ``end``."""
    first, last = _sign(start), _sign(end)
    if first and last and isinstance(start, _dt.timedelta) != isinstance(end, _dt.timedelta):
        raise QueryBuildError(f"{method}({start!r}, {end!r}): the offsets are of different "
                              "kinds")
    if first != last or first == 0:
        return first > last
    return bool(start > end)


_OFFSET_CASTS: dict[type, str] = {int: "bigint", float: "double precision",
                                   decimal.Decimal: "numeric", _dt.timedelta: "interval"}


def _bound(value: Any, which: str, kinds: tuple[type, ...], method: str) -> FrameBound:
    if value is None:
        return FrameBound("UNBOUNDED PRECEDING" if which == "start" else "UNBOUNDED FOLLOWING")
    if isinstance(value, bool) or not isinstance(value, kinds):
        allowed = " or ".join(k.__name__ for k in kinds)
        raise QueryBuildError(f"{method}() {which} must be {allowed} or None, got {value!r}")
    if not value:  # 0, 0.0, timedelta(0)
        return FrameBound("CURRENT ROW")
    offset: Any = value
    negative = _sign(offset) < 0
    if negative:
        offset = -offset
    cast = next(cast for kind, cast in _OFFSET_CASTS.items() if isinstance(value, kind))
    return FrameBound("PRECEDING" if negative else "FOLLOWING", Param(offset, cast))


def _partition(value: Any) -> tuple[Expr, ...]:
    items = value if isinstance(value, tuple | list) else (value,)
    for item in items:
        if not isinstance(item, Expr):
            raise QueryBuildError(f"over(partition_by=...) needs columns or expressions, "
                                  f"got {item!r}")
    return tuple(items)


def _resolve(value: Any, arguments: tuple[Any, ...], what: str) -> Any:
    if not callable(value) or isinstance(value, Expr):
        return value
    try:
        return value(*arguments)
    except (TypeError, AttributeError) as exc:  # the lambda's arity, or a misuse inside it
        received = ", ".join(type(a).__name__ for a in arguments) or "nothing"
        raise QueryBuildError(
            f"over({what}=lambda ...) receives the parameters of the query lambda that calls "
            f"over() ({len(arguments)} here: {received}): {exc}") from exc


def _is_lambda(value: Any) -> bool:
    return callable(value) and not isinstance(value, Expr)


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
    if _is_lambda(partition_by) or _is_lambda(order_by):
        arguments = current_arguments()
        if arguments is None:
            raise QueryBuildError("over(partition_by=lambda ...) / over(order_by=lambda ...) "
                                  "works inside a query lambda (select, order_by, ...), whose "
                                  "parameters the lambdas receive; elsewhere pass the "
                                  "expressions themselves")
        partition_by = _resolve(partition_by, arguments, "partition_by")
        order_by = _resolve(order_by, arguments, "order_by")
    keys = () if order_by is None else orderings(order_by, False, None)
    return Window(expr, () if partition_by is None else _partition(partition_by), keys)
