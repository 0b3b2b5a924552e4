"""The table of column types: one row per built-in type linkgress knows by name.

Each :class:`TypeSpec` row holds everything the rest of linkgress needs about one type:

- ``sql``: its name as PostgreSQL's ``format_type()`` prints it (the comparison vocabulary);
- ``builder``: the type builder (``linkgress.varchar``) and ``TableBuilder`` method of the same
  name, with ``arity``, the parameter counts the builder takes — what scaffolded migrations write
  (None: they write ``pg_type("...")``);
- ``python``: the annotations that infer to it (each Python type appears in one row only);
- ``literal``: how a Python default is rendered as a SQL literal for it;
- ``display``: the short upper-case form ``describe()`` lines show;
- ``family``: the category checks use (``integer``, ``number``, ``text``, ...);
- ``encode`` / ``decode``: the ORM's conversion of values to bind parameters and of fetched
  values back (None where asyncpg already does it).

Adding a type is a row here and a case in the test over every row (``tests/unit/
test_type_table.py``). Types without a row — anything named with ``pg_type(...)``, domains,
extension types — still work: PostgreSQL prints their names, and a ``str`` default is rendered
as a quoted literal cast to the type.
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linkgress.schema.quoting import quote_literal

if TYPE_CHECKING:
    from linkgress.model.types import ColumnType

Converter = Callable[[Any], Any]
Literal = Callable[[Any, "ColumnType"], str]


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """One row of the type table (see the module docstring for the fields)."""

    sql: str
    builder: str | None
    literal: Literal
    family: str
    display: str = ""
    python: tuple[type, ...] = ()
    arity: tuple[int, ...] = (0,)
    encode: Converter | None = None
    decode: Converter | None = None

    @property
    def short(self) -> str:
        """The ``describe()`` form: ``display`` or the upper-cased SQL name."""
        return self.display or self.sql.upper()


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


def _boolean(value: Any, ctype: ColumnType) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"expected a bool for BOOLEAN, got {value!r}")
    return "true" if value else "false"


def _text(value: Any, ctype: ColumnType) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if not isinstance(value, str):
        raise TypeError(f"expected a str for {ctype.display}, got {value!r}")
    if ctype.params and len(value) > ctype.params[0]:
        raise TypeError(f"default {value!r} is longer than {ctype.display} allows")
    return quote_literal(value)


def _temporal(*allowed: type) -> Literal:
    def render(value: Any, ctype: ColumnType) -> str:
        # A datetime is a date too: a date column takes only a plain date.
        if not isinstance(value, allowed) or (allowed == (dt.date,)
                                              and isinstance(value, dt.datetime)):
            raise TypeError(f"expected a {allowed[0].__name__} for {ctype.display}, "
                            f"got {value!r}")
        if isinstance(value, dt.timedelta):
            return quote_literal(f"{value.days} days {value.seconds} seconds "
                                 f"{value.microseconds} microseconds")
        return quote_literal(typing.cast(dt.date | dt.time, value).isoformat())
    return render


def _instance(kinds: tuple[type, ...], expected: str, convert: Converter = str) -> Literal:
    def render(value: Any, ctype: ColumnType) -> str:
        if not isinstance(value, kinds):
            raise TypeError(f"expected {expected} for {ctype.display}, got {value!r}")
        return quote_literal(convert(value))
    return render


def _holds_nul(value: Any) -> bool:
    """True when a JSON value has a NUL character in a string or key (jsonb refuses it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def _json(value: Any, ctype: ColumnType) -> str:
    try:
        text = json.dumps(value, sort_keys=True)
    except TypeError as exc:
        raise TypeError(f"default {value!r} is not JSON-serialisable") from exc
    if ctype.name == "jsonb" and _holds_nul(value):
        raise TypeError("jsonb cannot hold a NUL character (\\u0000)")
    return quote_literal(text)


def exact_decimal(value: Any) -> Any:
    """A ``float`` meant for a ``numeric`` column, as the decimal it prints as
    (``0.99`` -> ``Decimal("0.99")``); anything else unchanged. asyncpg would send the float's
    exact binary value (0.98999999999999999111...), so ``price > 0.99`` would match a price of
    0.99 and an unconstrained ``numeric`` would store 52 digits."""
    return decimal.Decimal(repr(value)) if type(value) is float else value


def _json_encode(value: Any) -> Any:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _json_decode(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


_ADDRESSES = (str, ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network,
              ipaddress.IPv6Network, ipaddress.IPv4Interface, ipaddress.IPv6Interface)
_NETWORKS = (str, ipaddress.IPv4Network, ipaddress.IPv6Network)

TYPES: tuple[TypeSpec, ...] = (
    TypeSpec("smallint", "smallint", _number, "integer"),
    TypeSpec("integer", "integer", _number, "integer", python=(int,)),
    TypeSpec("bigint", "bigint", _number, "integer"),
    TypeSpec("numeric", "numeric", _number, "number", python=(decimal.Decimal,), arity=(0, 2),
             encode=exact_decimal),
    TypeSpec("real", "real", _number, "number"),
    TypeSpec("double precision", "double_precision", _number, "number", "DOUBLE PRECISION",
             python=(float,)),
    TypeSpec("character varying", "varchar", _text, "text", "VARCHAR", arity=(0, 1)),
    TypeSpec("character", "char", _text, "text", "CHAR", arity=(1,)),
    TypeSpec("text", "text", _text, "text", python=(str,)),
    TypeSpec("boolean", "boolean", _boolean, "boolean", python=(bool,)),
    TypeSpec("date", "date", _temporal(dt.date), "temporal", python=(dt.date,)),
    TypeSpec("time without time zone", "time", _temporal(dt.time), "temporal", "TIME",
             python=(dt.time,)),
    TypeSpec("timestamp without time zone", "timestamp", _temporal(dt.datetime), "temporal",
             "TIMESTAMP"),
    TypeSpec("timestamp with time zone", "timestamptz", _temporal(dt.datetime), "temporal",
             "TIMESTAMPTZ", python=(dt.datetime,)),
    TypeSpec("interval", "interval", _temporal(dt.timedelta), "temporal",
             python=(dt.timedelta,)),
    TypeSpec("uuid", "uuid", _instance((uuid.UUID,), "a uuid.UUID"), "uuid",
             python=(uuid.UUID,)),
    TypeSpec("json", "json", _json, "json", encode=_json_encode, decode=_json_decode),
    TypeSpec("jsonb", "jsonb", _json, "json", encode=_json_encode, decode=_json_decode),
    TypeSpec("bytea", "bytea", _instance((bytes, bytearray), "bytes",
                                         lambda v: "\\x" + bytes(v).hex()), "binary",
             python=(bytes,)),
    TypeSpec("inet", "inet", _instance(_ADDRESSES, "an IP address"), "network",
             python=(ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Interface,
                     ipaddress.IPv6Interface)),
    TypeSpec("cidr", None, _instance(_NETWORKS, "an IP network"), "network",
             python=(ipaddress.IPv4Network, ipaddress.IPv6Network)),
)

BY_SQL: dict[str, TypeSpec] = {spec.sql: spec for spec in TYPES}
BY_PYTHON: dict[type, TypeSpec] = {py: spec for spec in TYPES for py in spec.python}


def _family(name: str) -> frozenset[str]:
    return frozenset(spec.sql for spec in TYPES if spec.family == name)


INTEGER_TYPES = _family("integer")
NUMERIC_TYPES = INTEGER_TYPES | _family("number")
TEXT_TYPES = _family("text")


def spec_for(ctype: ColumnType) -> TypeSpec | None:
    """The row of a built-in ``ctype`` (ignoring array dimensions), None for enums and types
    outside the table."""
    if ctype.schema is not None or ctype.is_enum:
        return None
    return BY_SQL.get(ctype.name)


def named_literal(value: Any, ctype: ColumnType) -> str:
    """A default for a type outside the table: a ``str`` in PostgreSQL's input syntax, cast to
    the type (PostgreSQL checks it when the column is created)."""
    if not isinstance(value, str):
        raise TypeError(f"a default for {ctype.display} must be a str in PostgreSQL's input "
                        f"syntax (or use default_sql=), got {value!r}")
    return f"{quote_literal(value)}::{ctype.sql}"
