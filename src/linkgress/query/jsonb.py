"""JSONB in queries: extraction (``o.data["key"]``, ``->``), ``.as_text()`` (``->>``),
containment (``.contains(value)``, ``@>``) and key tests (``.has_key(key)``, ``?``).

Keys and values are always bind parameters (a key ``"'; DROP TABLE x; --"`` stays data). An
extraction is a ``jsonb`` value: projected, it reads back decoded (a dict, list, number, ...);
compared with a Python value it is cast for that value's type — ``o.data["price"] > 10``
compares ``(data ->> 'price')::numeric``, ``o.data["name"] == "x"`` compares the text, a dict
or list compares as ``jsonb``, and ``== None`` is true for a missing key and a JSON ``null``.

The nodes' walkers and renderers are in :mod:`linkgress.query.shape` and
:mod:`linkgress.query.compiler`; the methods are attached to expressions of category ``json``
through :mod:`linkgress.query.extensions`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from linkgress.errors import QueryBuildError
from linkgress.query.expressions import BinaryOp, Expr, IsNull, Param, coerce_operand, node
from linkgress.query.extensions import extension

__all__ = ["Cast", "JsonGet", "json_param"]

#: SQL type an extracted value is cast to, by the category it is compared with.
_CAST_BY_CATEGORY = {"num": "numeric", "bool": "boolean", "time": "timestamptz",
                     "uuid": "uuid", "clock": "time", "interval": "interval"}
#: ... and by the type of a Python value (checked in order: bool before int).
_CAST_BY_TYPE: tuple[tuple[type | tuple[type, ...], str, str], ...] = (
    (bool, "boolean", "bool"), ((int, float, decimal.Decimal), "numeric", "num"),
    (_dt.datetime, "timestamptz", "time"), (_dt.date, "date", "time"),
)


@node
@dataclass(frozen=True, slots=True, eq=False)
class Cast(Expr):
    """``(operand)::type`` — ``type`` is one of a fixed set of type names, never user text."""

    operand: Expr
    type: str
    category: str

    def describe(self) -> str:
        return f"{self.operand.describe()}::{self.type}"


@node
@dataclass(frozen=True, slots=True, eq=False)
class JsonGet(Expr):
    """``operand -> key`` (a ``jsonb`` value) or, when ``textual``, ``operand ->> key``."""

    operand: Expr
    key: Param
    textual: bool = False

    @property
    def category(self) -> str:  # type: ignore[override]
        return "text" if self.textual else "json"

    def describe(self) -> str:
        arrow = "->>" if self.textual else "->"
        return f"{self.operand.describe()} {arrow} {self.key.value!r}"

    def text(self) -> JsonGet:
        """The same extraction as text (``->>``)."""
        return self if self.textual else JsonGet(self.operand, self.key, True)

    def _compare(self, op: str, other: Any) -> Expr:
        if self.textual:
            return Expr._compare(self, op, other)
        if other is None:
            if op in ("=", "<>"):  # a missing key and a JSON null alike
                return IsNull(self.text(), op == "<>")
            return Expr._compare(self, op, other)
        if isinstance(other, (dict, list)):
            return BinaryOp(op, self, json_param(other, op), "bool")
        left = self.typed_for(other)
        return BinaryOp(op, left, coerce_operand(left, other, op), "bool")

    def in_(self, values: Iterable[Any]) -> Expr:
        """``= ANY($n)``, the extraction cast for the values (``data["n"].in_([1, 2])``)."""
        if self.textual or isinstance(values, Expr | str | bytes) or not isinstance(
                values, Iterable):
            return Expr.in_(self, values)
        items = list(values)
        return (self.typed_for(items[0]) if items else self.text()).in_(items)

    def between(self, low: Any, high: Any) -> Expr:
        """``BETWEEN``, the extraction cast for ``low``."""
        if self.textual:
            return Expr.between(self, low, high)
        return self.typed_for(low).between(low, high)

    def typed_for(self, other: Any) -> Expr:
        """This extraction as the SQL type ``other`` (a value or an expression) compares
        with."""
        if isinstance(other, Expr):
            if other.category == "json":
                return self
            cast = _CAST_BY_CATEGORY.get(other.category)
            return self.text() if cast is None else Cast(self.text(), cast, other.category)
        for kinds, cast, category in _CAST_BY_TYPE:
            if isinstance(other, kinds):
                return Cast(self.text(), cast, category)
        if isinstance(other, str):
            return self.text()
        raise QueryBuildError(f"cannot compare {self.describe()} with {other!r} "
                              f"({type(other).__name__})")


def json_param(value: Any, op: str) -> Param:
    """``value`` as a bound ``jsonb`` parameter (JSON text cast to ``jsonb``)."""
    try:
        return Param(json.dumps(value), "jsonb", "json")
    except (TypeError, ValueError) as exc:
        raise QueryBuildError(f"{op}() needs a JSON-serialisable value, got {value!r}") from exc


def _jsonb_only(expr: Expr, op: str) -> None:
    root = expr
    while isinstance(root, JsonGet):
        root = root.operand
    meta = root.meta
    if meta is not None and meta.type.name == "json":
        raise QueryBuildError(f"{op}() needs a jsonb column, got {expr.describe()} (json)")


@extension("__getitem__", "json")
def extract(expr: Expr, key: Any) -> JsonGet:
    """``expr[key]``: the member ``key`` (a str) or the array element ``key`` (an int)."""
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise QueryBuildError(f"{expr.describe()}[{key!r}]: a JSON key is a str (or an int "
                              "for an array element)")
    return JsonGet(expr, Param(key, "text" if isinstance(key, str) else "integer"))


@extension("as_text", "json")
def as_text(expr: Expr) -> JsonGet:
    """``->>``: an extracted value as text (``o.data["name"].as_text()``)."""
    if not isinstance(expr, JsonGet):
        raise QueryBuildError(f"as_text() reads an extracted value, as in "
                              f"{expr.describe()}['key'].as_text()")
    return expr.text()


@extension("contains", "json")
def contains(expr: Expr, value: Any) -> Expr:
    """``@>``: the JSON value contains ``value`` (``o.data.contains({"tags": ["a"]})``)."""
    _jsonb_only(expr, "contains")
    return BinaryOp("@>", expr, json_param(value, "contains"), "bool")


@extension("has_key", "json")
def has_key(expr: Expr, key: str) -> Expr:
    """``?``: the JSON object has top-level key ``key`` (or the array holds string ``key``)."""
    _jsonb_only(expr, "has_key")
    if not isinstance(key, str):
        raise QueryBuildError(f"has_key() on {expr.describe()} needs a str, got {key!r}")
    return BinaryOp("?", expr, Param(key, "text"), "bool")
