"""Python default values rendered as SQL literals for a given column type.

Only values that fit the column are accepted; anything else raises ``TypeError`` with a message
the model builder wraps in a ``ModelError`` naming the entity and field.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import ipaddress
import json
import math
import typing
import uuid
from typing import Any

from linkgress.model.types import INTEGER_TYPES, NUMERIC_TYPES, TEXT_TYPES, ColumnType
from linkgress.schema.quoting import quote_literal

_TEMPORAL: dict[str, tuple[type, ...]] = {
    "date": (dt.date,),
    "time without time zone": (dt.time,),
    "timestamp without time zone": (dt.datetime,),
    "timestamp with time zone": (dt.datetime,),
    "interval": (dt.timedelta,),
}


def _number(value: Any, ctype: ColumnType) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        raise TypeError(f"expected a number for {ctype.display}, got {value!r}")
    if ctype.name in INTEGER_TYPES and not (
            isinstance(value, int) or (isinstance(value, decimal.Decimal)
                                       and value == value.to_integral_value())):
        raise TypeError(f"expected an integer for {ctype.display}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        return quote_literal(str(value).replace("inf", "Infinity").replace("nan", "NaN"))
    text = str(value)
    if isinstance(value, decimal.Decimal) and not value.is_finite():
        return quote_literal(text)
    return text if not text.startswith("-") else f"({text})"


def _interval(value: dt.timedelta) -> str:
    return f"{value.days} days {value.seconds} seconds {value.microseconds} microseconds"


def _holds_nul(value: Any) -> bool:
    """True when a JSON value has a NUL character in a string or key (jsonb refuses it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def _scalar(value: Any, ctype: ColumnType) -> str:
    """A literal for one element of ``ctype`` (arrays are handled by the caller)."""
    name = ctype.name
    if ctype.is_enum:
        label = value.value if isinstance(value, enum.Enum) else value
        if not isinstance(label, str | int):
            raise TypeError(f"expected a member of enum {name!r}, got {value!r}")
        return quote_literal(str(label))
    if name in NUMERIC_TYPES:
        return _number(value, ctype)
    if name == "boolean":
        if not isinstance(value, bool):
            raise TypeError(f"expected a bool for BOOLEAN, got {value!r}")
        return "true" if value else "false"
    if name in TEXT_TYPES:
        if isinstance(value, enum.Enum):
            value = value.value
        if not isinstance(value, str):
            raise TypeError(f"expected a str for {ctype.display}, got {value!r}")
        if ctype.params and len(value) > ctype.params[0]:
            raise TypeError(f"default {value!r} is longer than {ctype.display} allows")
        return quote_literal(value)
    if name in _TEMPORAL:
        allowed = _TEMPORAL[name]
        if not isinstance(value, allowed) or (name == "date" and isinstance(value, dt.datetime)):
            raise TypeError(f"expected a {allowed[0].__name__} for {ctype.display}, "
                            f"got {value!r}")
        text = (_interval(value) if isinstance(value, dt.timedelta)
                else typing.cast(dt.date | dt.time, value).isoformat())
        return quote_literal(text)
    if name == "uuid":
        if not isinstance(value, uuid.UUID):
            raise TypeError(f"expected a uuid.UUID for UUID, got {value!r}")
        return quote_literal(str(value))
    if name == "bytea":
        if not isinstance(value, bytes | bytearray):
            raise TypeError(f"expected bytes for BYTEA, got {value!r}")
        return quote_literal("\\x" + bytes(value).hex())
    if name in ("json", "jsonb"):
        try:
            text = json.dumps(value, sort_keys=True)
        except TypeError as exc:
            raise TypeError(f"default {value!r} is not JSON-serialisable") from exc
        if name == "jsonb" and _holds_nul(value):
            raise TypeError("jsonb cannot hold a NUL character (\\u0000)")
        return quote_literal(text)
    if name == "inet":
        if not isinstance(value, str | ipaddress.IPv4Address | ipaddress.IPv6Address
                          | ipaddress.IPv4Network | ipaddress.IPv6Network
                          | ipaddress.IPv4Interface | ipaddress.IPv6Interface):
            raise TypeError(f"expected an IP address for INET, got {value!r}")
        return quote_literal(str(value))
    raise TypeError(f"cannot render a default for {ctype.display}")


def sql_literal(value: Any, ctype: ColumnType) -> str:
    """Render ``value`` as a SQL default for a column of type ``ctype``.

    Returns e.g. ``0``, ``'it''s'``, ``true``, ``'pending'``, ``ARRAY[1, 2]::integer[]``.
    Raises ``TypeError`` when the value does not fit the type.
    """
    if value is None:
        return "NULL"
    if ctype.dims:
        if ctype.name in ("json", "jsonb") and ctype.dims == 0:
            return _scalar(value, ctype)
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list for {ctype.display}, got {value!r}")
        element = ColumnType(ctype.name, ctype.params, ctype.dims - 1, ctype.schema, ctype.is_enum)
        if not value:
            return f"'{{}}'::{ctype.sql}"
        items = ", ".join(sql_literal(v, element) for v in value)
        return f"ARRAY[{items}]::{ctype.sql}"
    literal = _scalar(value, ctype)
    if ctype.is_enum:
        return f"{literal}::{ctype.sql}"
    return literal
