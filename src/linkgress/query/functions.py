"""``func`` (any SQL function) and ``sql`` (a raw SQL fragment with bound arguments).

``func.lower(u.email)`` calls any SQL function; ``sql("similarity($1, $2) > 0.3", u.name, q)``
embeds a raw fragment whose ``$n`` placeholders refer to its arguments (expressions are inlined,
other values are bound).
"""

from __future__ import annotations

import re
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.categories import compatible
from linkgress.query.expressions import Expr, Func, Param, Raw, as_expr

__all__ = ["func", "raw", "sql"]

_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_RESULT_CATEGORY = {
    "lower": "text", "upper": "text", "trim": "text", "concat": "text", "substr": "text",
    "replace": "text", "length": "num", "char_length": "num", "abs": "num", "round": "num",
    "floor": "num", "ceil": "num", "count": "num", "sum": "num", "avg": "num",
    "now": "time", "date_trunc": "time", "array_length": "num", "cardinality": "num",
    "row_number": "num", "rank": "num", "dense_rank": "num", "percent_rank": "num",
    "cume_dist": "num", "ntile": "num", "ts_rank": "num", "ts_rank_cd": "num",
    "to_tsvector": "tsvector", "to_tsquery": "tsquery", "plainto_tsquery": "tsquery",
    "phraseto_tsquery": "tsquery", "websearch_to_tsquery": "tsquery",
}
#: Functions whose arguments all have the result's type (mixing categories is refused).
_SAME_TYPE = frozenset({"min", "max", "coalesce", "greatest", "least"})
#: Functions whose result has the type of their first argument.
_FIRST_ARGUMENT_TYPE = frozenset({"lag", "lead", "first_value", "last_value", "nth_value"})
#: Casts for Python values PostgreSQL cannot take as ``bigint`` / ``text``, by position: a
#: text search configuration (only with two arguments: ``to_tsquery(query)`` has none), an
#: array dimension, a window offset.
_ARGUMENT_CASTS: dict[str, tuple[int, tuple[str | None, ...]]] = {
    **dict.fromkeys(("to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery",
                     "websearch_to_tsquery"), (2, ("regconfig",))),
    **dict.fromkeys(("array_length", "array_lower", "array_upper", "lag", "lead",
                     "nth_value"), (1, (None, "integer"))),
    "ntile": (1, ("integer",)),
}


class _FuncFactory:
    """``func.name(*args)`` calls SQL function ``name``; ``func.count()`` is ``count(*)``."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or not _FUNCTION_NAME.match(name):
            raise AttributeError(name)

        def call(*args: Any, distinct: bool = False) -> Func:
            lower = name.lower()
            exprs = _arguments(lower, args)
            category = _RESULT_CATEGORY.get(lower, "any")
            if lower in _SAME_TYPE and exprs:
                category = _common_category(name, exprs)
            elif lower in _FIRST_ARGUMENT_TYPE and exprs:
                category = exprs[0].category
            star = lower == "count" and not args
            return Func(name, exprs, category, star, distinct)

        call.__name__ = name
        return call


func: Any = _FuncFactory()


def _arguments(name: str, args: tuple[Any, ...]) -> tuple[Expr, ...]:
    least, casts = _ARGUMENT_CASTS.get(name, (0, ()))
    if len(args) < least:
        casts = ()
    return tuple(Param(a, casts[i]) if i < len(casts) and casts[i] and not isinstance(a, Expr)
                 else as_expr(a) for i, a in enumerate(args))


def _common_category(name: str, args: tuple[Expr, ...]) -> str:
    """The category of the first typed argument; arguments of other categories are refused
    (``func.coalesce(p.views, "none")``)."""
    typed = [a for a in args if a.category != "any"]
    if not typed:
        return "any"
    category = typed[0].category
    for arg in typed[1:]:
        if not compatible(category, arg.category):
            raise QueryBuildError(f"{name}() mixes {typed[0].describe()} ({category}) and "
                                  f"{arg.describe()} ({arg.category})")
    return category


def sql(text: str, *args: Any, category: str = "any") -> Raw:
    """A raw SQL fragment. ``$1``, ``$2``, ... in ``text`` stand for ``args``: an expression
    (``u.name``) is inlined, any other value is a bind parameter — never pasted into the SQL.

    ``category`` (``"num"``, ``"text"``, ``"bool"``, ...) lets the fragment take part in
    type-checked comparisons; the default ``"any"`` compares with anything.
    Every ``$n`` in ``text`` is a placeholder, even inside quotes: pass literals as arguments.
    """
    used = {int(m) for m in re.findall(r"\$(\d+)", text)}
    if used - set(range(1, len(args) + 1)):
        raise QueryBuildError(f"sql({text!r}) refers to ${max(used)} but has {len(args)} "
                              "argument(s)")
    return Raw(text, tuple(as_expr(a) for a in args), category)


#: Alias of :func:`sql`.
raw = sql
