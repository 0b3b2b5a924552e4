"""Column types: the builders users call (``varchar(100)``) and the canonical value they return.

A :class:`ColumnType` spells its name exactly as PostgreSQL's ``format_type()`` prints it
(``character varying(100)``, ``timestamp with time zone``), so the model side and the catalog side
of a comparison meet in one vocabulary without any alias table in the differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from linkgress.model.typetable import BY_SQL
from linkgress.model.typetable import INTEGER_TYPES as INTEGER_TYPES
from linkgress.model.typetable import NUMERIC_TYPES as NUMERIC_TYPES
from linkgress.model.typetable import TEXT_TYPES as TEXT_TYPES
from linkgress.schema.quoting import quote_ident

# Integer type -> the pseudo-type that makes it a serial column.
_SERIALS = {"integer": "serial", "bigint": "bigserial", "smallint": "smallserial"}


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A column's SQL type.

    ``name`` is the ``format_type()`` base name (``numeric``), ``params`` its modifiers
    (``(10, 2)``), ``dims`` the array dimensions, and ``schema`` is set only for user-defined
    types (enums), whose ``name`` is then the type's own name. ``serial`` marks an integer type
    whose values come from a sequence OWNED BY the column (``serial()``, ``bigserial()``,
    ``smallserial()``): the sequence and the ``nextval`` default are part of the column.
    """

    name: str
    params: tuple[int, ...] = ()
    dims: int = 0
    schema: str | None = None
    is_enum: bool = False
    serial: bool = False
    modifier: str | None = None

    @property
    def mods(self) -> str:
        """The type modifier as SQL: ``(10,2)``, ``(Point,4326)`` or ``""``."""
        if self.modifier is not None:
            return f"({self.modifier})"
        return f"({','.join(map(str, self.params))})" if self.params else ""

    @property
    def base_sql(self) -> str:
        """The element type as SQL, without array brackets."""
        if self.schema is not None:
            return f"{quote_ident(self.schema)}.{quote_ident(self.name)}{self.mods}"
        if self.params and " with" in self.name:  # timestamp(3) with time zone
            head, tail = self.name.split(" with", 1)
            return f"{head}{self.mods} with{tail}"
        return self.name + self.mods

    @property
    def sql(self) -> str:
        """The full type as SQL, ready for DDL and casts."""
        return self.base_sql + "[]" * self.dims

    @property
    def ddl_sql(self) -> str:
        """The type as a column definition spells it: ``serial`` / ``bigserial`` /
        ``smallserial`` for serial columns (which PostgreSQL expands into the integer type, an
        owned sequence and the ``nextval`` default), else :attr:`sql`."""
        if self.serial:
            return _SERIALS[self.name]
        return self.sql

    @property
    def canonical(self) -> str:
        """A comparison key: identical for equal types from the model and the catalog."""
        base = f"{self.schema}.{self.name}" if self.schema is not None else self.name
        return base + self.mods + "[]" * self.dims

    @property
    def display(self) -> str:
        """The seed's short upper-case form, e.g. ``VARCHAR(20)`` or ``INTEGER[]``."""
        if self.serial:
            return _SERIALS[self.name].upper()
        spec = BY_SQL.get(self.name) if self.schema is None else None
        head = self.name if self.is_enum else spec.short if spec else self.name.upper()
        return head + self.mods + "[]" * self.dims

    def array(self, dims: int = 1) -> ColumnType:
        """Return the array type with ``dims`` more dimensions."""
        return replace(self, dims=self.dims + dims)


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def integer() -> ColumnType:
    """``integer`` (4 bytes)."""
    return ColumnType("integer")


def bigint() -> ColumnType:
    """``bigint`` (8 bytes)."""
    return ColumnType("bigint")


def smallint() -> ColumnType:
    """``smallint`` (2 bytes)."""
    return ColumnType("smallint")


def serial() -> ColumnType:
    """``serial``: an ``integer`` filled from a sequence OWNED BY the column (its default is
    ``nextval(...)``). The sequence is part of the column: created and dropped with it."""
    return ColumnType("integer", serial=True)


def bigserial() -> ColumnType:
    """``bigserial``: a ``bigint`` filled from a sequence OWNED BY the column."""
    return ColumnType("bigint", serial=True)


def smallserial() -> ColumnType:
    """``smallserial``: a ``smallint`` filled from a sequence OWNED BY the column."""
    return ColumnType("smallint", serial=True)


def numeric(precision: int | None = None, scale: int | None = None) -> ColumnType:
    """``numeric``, ``numeric(p)`` or ``numeric(p, s)``."""
    if precision is None:
        if scale is not None:
            raise ValueError("numeric scale needs a precision")
        return ColumnType("numeric")
    _positive("numeric precision", precision)
    if scale is None:
        return ColumnType("numeric", (precision, 0))
    if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= precision:
        raise ValueError(f"numeric scale must be between 0 and the precision, got {scale!r}")
    return ColumnType("numeric", (precision, scale))


def real() -> ColumnType:
    """``real`` (4-byte float)."""
    return ColumnType("real")


def double_precision() -> ColumnType:
    """``double precision`` (8-byte float)."""
    return ColumnType("double precision")


def varchar(length: int | None = None) -> ColumnType:
    """``character varying(n)``; without a length, unbounded."""
    if length is None:
        return ColumnType("character varying")
    return ColumnType("character varying", (_positive("varchar length", length),))


def char(length: int = 1) -> ColumnType:
    """``character(n)``."""
    return ColumnType("character", (_positive("char length", length),))


def text() -> ColumnType:
    """``text``."""
    return ColumnType("text")


def boolean() -> ColumnType:
    """``boolean``."""
    return ColumnType("boolean")


def date() -> ColumnType:
    """``date``."""
    return ColumnType("date")


def time() -> ColumnType:
    """``time without time zone``."""
    return ColumnType("time without time zone")


def timestamp() -> ColumnType:
    """``timestamp without time zone``."""
    return ColumnType("timestamp without time zone")


def timestamptz() -> ColumnType:
    """``timestamp with time zone`` — what a ``datetime`` annotation maps to."""
    return ColumnType("timestamp with time zone")


def interval() -> ColumnType:
    """``interval``."""
    return ColumnType("interval")


def uuid() -> ColumnType:
    """``uuid``."""
    return ColumnType("uuid")


def json() -> ColumnType:
    """``json`` (text kept as written)."""
    return ColumnType("json")


def jsonb() -> ColumnType:
    """``jsonb`` — what ``dict`` and ``list`` annotations map to."""
    return ColumnType("jsonb")


def bytea() -> ColumnType:
    """``bytea``."""
    return ColumnType("bytea")


def inet() -> ColumnType:
    """``inet``."""
    return ColumnType("inet")


def array(element: ColumnType, dims: int = 1) -> ColumnType:
    """An array of ``element`` (``array(integer())`` is ``integer[]``)."""
    return element.array(_positive("array dimensions", dims))


def enum_type(name: str, schema: str = "public") -> ColumnType:
    """A reference to a PostgreSQL enum type (normally derived from a Python ``enum.Enum``)."""
    return ColumnType(name, schema=schema, is_enum=True)


# A type named by text: [schema.]name[(modifier)][ tail][[]...], e.g. "geometry(Point,4326)",
# "timestamp(3) with time zone", "public.citext", "varchar(20)[]".
_NAMED = re.compile(r"^(?:(?P<schema>[A-Za-z_][\w$]*)\.)?(?P<head>[A-Za-z_][\w$ ]*?)\s*"
                    r"(?:\((?P<mods>[\w ,]+)\))?(?P<tail>(?: [A-Za-z ]+?)?)\s*"
                    r"(?P<dims>(?:\[\])*)$")


def split_modifier(mods: str) -> tuple[tuple[int, ...], str | None]:
    """``"10,2"`` -> ``((10, 2), None)``; ``"Point,4326"`` -> ``((), "Point,4326")``."""
    items = [m.strip() for m in mods.split(",")]
    if all(m.isdigit() for m in items):
        return tuple(int(m) for m in items), None
    return (), ",".join(items)


def pg_type(name: str, *, schema: str | None = None) -> ColumnType:
    """Any PostgreSQL type by name, as you would write it in SQL: ``pg_type("tsvector")``,
    ``pg_type("citext")``, ``pg_type("geometry(Point,4326)")``, ``pg_type("ltree[]")``,
    ``pg_type("us_postal_code", schema="app")`` (a domain or any type of that schema).

    The model spells the type its way; before comparing, linkgress asks the server to print it
    (``format_type``), so ``pg_type("int4")`` equals an ``integer`` column and ``varchar(20)``
    equals ``character varying(20)``. A ``default=`` for a type outside the built-in table must
    be a ``str`` in PostgreSQL's input syntax (it is cast to the type). Raises ``ValueError``
    when ``name`` is not a type name.
    """
    match = _NAMED.match(name.strip()) if isinstance(name, str) else None
    if match is None or (schema is not None and match["schema"] is not None):
        raise ValueError(f"pg_type() expects a type name such as 'inet', 'varchar(20)' or "
                         f"'geometry(Point,4326)', got {name!r}")
    params, modifier = split_modifier(match["mods"]) if match["mods"] else ((), None)
    base = " ".join(f"{match['head']} {match['tail']}".split()).lower()
    owner = schema if schema is not None else match["schema"]
    return ColumnType(base, params, len(match["dims"]) // 2,
                      owner.lower() if owner is not None and schema is None else owner,
                      modifier=modifier)
