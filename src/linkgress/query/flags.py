"""Bit flags in queries: ``enum.IntFlag`` columns (plain ``integer`` columns whose values read
back as flags) get ``has_flag``, ``has_all``, ``has_any`` and ``has_none``.

``u.permissions.has_all(P.READ | P.WRITE)`` compiles to ``((permissions & $1) = $1)``,
``has_any`` to ``((permissions & $1) <> 0)``, ``has_none`` to ``((permissions & $1) = 0)``;
``has_flag(f)`` is ``has_all(f)``. The mask is a bind parameter. Used on a column that is not
an ``IntFlag`` column, or with a value of another flag class, they raise
:class:`~linkgress.errors.QueryBuildError`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.expressions import Expr, Param, node
from linkgress.query.extensions import ANY_CATEGORY, extension

__all__ = ["FLAG_TESTS", "FlagTest"]

#: The test of each mode: what ``(column & mask)`` is compared with.
FLAG_TESTS = {"all": "= {mask}", "any": "<> 0", "none": "= 0"}


@node
@dataclass(frozen=True, slots=True, eq=False)
class FlagTest(Expr):
    """``(operand & mask) = mask`` / ``<> 0`` / ``= 0`` for mode ``all`` / ``any`` /
    ``none``."""

    operand: Expr
    mask: Param
    mode: str
    category = "bool"

    def describe(self) -> str:
        return f"{self.operand.describe()}.has_{self.mode}({self.mask.value!r})"


def _flag_test(expr: Expr, flags: Any, mode: str, method: str) -> FlagTest:
    meta = expr.meta
    flag_class = None if meta is None else meta.enum_class
    if flag_class is None or not issubclass(flag_class, enum.IntFlag):
        raise QueryBuildError(f"{method}() needs an enum.IntFlag column, got "
                              f"{expr.describe()} ({expr.category})")
    if isinstance(flags, enum.Enum) and not isinstance(flags, flag_class):
        raise QueryBuildError(f"{method}() on {expr.describe()} needs {flag_class.__name__} "
                              f"flags, got {flags!r}")
    if isinstance(flags, bool) or not isinstance(flags, int) or flags < 0:
        raise QueryBuildError(f"{method}() on {expr.describe()} needs {flag_class.__name__} "
                              f"flags, got {flags!r}")
    return FlagTest(expr, Param(int(flags), None), mode)


@extension("has_flag", ANY_CATEGORY)
def has_flag(expr: Expr, flags: Any) -> Expr:
    """Every bit of ``flags`` is set (``u.permissions.has_flag(P.READ)``)."""
    return _flag_test(expr, flags, "all", "has_flag")


@extension("has_all", ANY_CATEGORY)
def has_all(expr: Expr, flags: Any) -> Expr:
    """Every bit of ``flags`` is set (``has_all(P.READ | P.WRITE)``)."""
    return _flag_test(expr, flags, "all", "has_all")


@extension("has_any", ANY_CATEGORY)
def has_any(expr: Expr, flags: Any) -> Expr:
    """At least one bit of ``flags`` is set."""
    return _flag_test(expr, flags, "any", "has_any")


@extension("has_none", ANY_CATEGORY)
def has_none(expr: Expr, flags: Any) -> Expr:
    """No bit of ``flags`` is set."""
    return _flag_test(expr, flags, "none", "has_none")
