"""``func`` (any SQL function) and ``sql`` (a raw SQL fragment with bound arguments).

``func.lower(u.email)`` calls any SQL function; ``sql("similarity($1, $2) > 0.3", u.name, q)``
embeds a raw fragment whose ``$n`` placeholders refer to its arguments (expressions are inlined,
other values are bound).
"""

from __future__ import annotations

import re
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.expressions import Func, Raw, as_expr

__all__ = ["func", "raw", "sql"]

_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_RESULT_CATEGORY = {
    "lower": "text", "upper": "text", "trim": "text", "concat": "text", "substr": "text",
    "replace": "text", "length": "num", "char_length": "num", "abs": "num", "round": "num",
    "floor": "num", "ceil": "num", "count": "num", "sum": "num", "avg": "num",
    "now": "time", "date_trunc": "time",
}


class _FuncFactory:
    """``func.name(*args)`` calls SQL function ``name``; ``func.count()`` is ``count(*)``."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or not _FUNCTION_NAME.match(name):
            raise AttributeError(name)

        def call(*args: Any, distinct: bool = False) -> Func:
            category = _RESULT_CATEGORY.get(name.lower(), "any")
            if name.lower() in ("min", "max", "coalesce", "greatest", "least") and args:
                category = as_expr(args[0]).category
            star = name.lower() == "count" and not args
            return Func(name, tuple(as_expr(a) for a in args), category, star, distinct)

        call.__name__ = name
        return call


func: Any = _FuncFactory()


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
