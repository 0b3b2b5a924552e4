"""Type categories: which Python values and which columns may meet in a comparison.

The bottom of the query layer, beside the expression nodes: a column's *category* (``num``,
``text``, ``enum``, ``json``, ...) decides what it may be compared with, and a bound Python
value's type decides the SQL cast it gets where PostgreSQL cannot infer one.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import uuid
from typing import TYPE_CHECKING, Any

from linkgress.errors import QueryBuildError
from linkgress.model.typetable import exact_decimal

if TYPE_CHECKING:
    from linkgress.model.entity import ColumnInfo
    from linkgress.model.meta import ColumnMeta

__all__ = [
    "ACCEPTS",
    "FRACTIONAL",
    "INTEGER_TYPES",
    "PYTHON_CATEGORY",
    "check_nulls",
    "column_category",
    "compatible",
    "enum_label",
    "escape_like",
    "exact_decimal",
    "foreign_column_error",
    "python_cast",
]

CATEGORY_BY_TYPE = {
    "smallint": "num", "integer": "num", "bigint": "num", "numeric": "num", "real": "num",
    "double precision": "num", "text": "text", "character varying": "text",
    "character": "text", "boolean": "bool", "timestamp with time zone": "time",
    "timestamp without time zone": "time", "date": "time", "time without time zone": "clock",
    "time with time zone": "clock", "uuid": "uuid", "json": "json", "jsonb": "json",
    "bytea": "bytes", "interval": "interval", "tsvector": "tsvector",
}

ACCEPTS: dict[str, tuple[type, ...]] = {
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

PYTHON_CATEGORY: dict[type, str] = {
    bool: "bool", int: "num", float: "num", decimal.Decimal: "num", str: "text",
    _dt.datetime: "time", _dt.date: "time", _dt.time: "clock", uuid.UUID: "uuid",
    bytes: "bytes", _dt.timedelta: "interval", list: "array", tuple: "array",
}

# SQL casts for values that appear where PostgreSQL cannot infer their type (projections).
PYTHON_CAST: dict[type, str] = {
    bool: "boolean", int: "bigint", float: "double precision", decimal.Decimal: "numeric",
    str: "text", _dt.datetime: "timestamptz", _dt.date: "date", _dt.time: "time",
    uuid.UUID: "uuid", bytes: "bytea", _dt.timedelta: "interval",
}


def column_category(meta: ColumnMeta) -> str:
    """The comparison category of a column (``num``, ``text``, ``enum``, ``any``, ...)."""
    if meta.type.dims:
        return "array"
    if meta.type.is_enum or (meta.enum_class is not None
                             and not issubclass(meta.enum_class, enum.Flag)):
        return "enum"  # an IntFlag maps to an integer column: "num" (see flags.py)
    return CATEGORY_BY_TYPE.get(meta.type.name, "any")


FRACTIONAL = (float, decimal.Decimal)
INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})


def python_cast(value: Any) -> str | None:
    """The SQL type to cast a bound Python value to when nothing else gives its type."""
    if isinstance(value, enum.Enum):
        value = value.value
    return PYTHON_CAST.get(type(value))


def compatible(a: str, b: str) -> bool:
    """True when values of categories ``a`` and ``b`` may be compared."""
    return a == b or "any" in (a, b) or "json" in (a, b) or {a, b} == {"enum", "text"}


def enum_label(enum_class: type[enum.Enum] | None, described: str, value: Any, op: str) -> Any:
    """``value`` (a member or a label) as the label an enum column (``described``) stores."""
    if isinstance(value, enum.Enum):
        if enum_class is not None and not isinstance(value, enum_class):
            raise QueryBuildError(f"cannot use {op!r} between {described} "
                                  f"({enum_class.__name__}) and {value!r}")
        return value.value
    if isinstance(value, str) and (
            enum_class is None or value in {m.value for m in enum_class}):
        return value
    raise QueryBuildError(f"cannot use {op!r} between {described} (enum) and {value!r}")


def foreign_column_error(info: ColumnInfo) -> QueryBuildError:
    """The error for a class attribute (``User.id``) met where a query proxy belongs."""
    return QueryBuildError(
        f"{info.attr!r} is a column of another entity (a class attribute, not a query proxy); "
        "reach other entities through a navigation (has_one / has_many)")


def escape_like(value: str) -> str:
    """``value`` with LIKE's wildcards (and the escape character) escaped."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def check_nulls(nulls: str | None) -> str | None:
    """``nulls`` of a sort key, checked: ``"first"``, ``"last"`` or None."""
    if nulls not in (None, "first", "last"):
        raise QueryBuildError(f"nulls must be 'first', 'last' or None, got {nulls!r}")
    return nulls
