"""Type changes: the ``USING`` cast, and whether a change can lose data (``lossy``).

A change is safe only when every value of the old type has an equal value in the new one:
widening a length or a precision, moving up the integer ladder, any text type to ``text`` or
unbounded ``varchar``, an enum to text. Everything else — narrowing, float to integer,
``bigint`` to ``integer``, text to ``varchar(n)``, ``timestamp`` to ``timestamptz``, and any
change this module does not know — is lossy, which makes the ``AlterColumn`` destructive.
"""

from __future__ import annotations

from linkgress.model.types import ColumnType
from linkgress.schema.quoting import quote_ident

# Decimal digits each integer type can hold (for integer -> numeric(p, s)).
_INT_DIGITS = {"smallint": 5, "integer": 10, "bigint": 19}
_INT_RANK = {"smallint": 0, "integer": 1, "bigint": 2}
_UNBOUNDED_TEXT = frozenset({"text", "character varying"})
_LENGTH_TYPES = frozenset({"character varying", "character", "bit varying"})
_PRECISION_TYPES = frozenset({
    "timestamp with time zone", "timestamp without time zone", "time with time zone",
    "time without time zone", "interval"})
# (old, new) pairs of different scalar types where every old value fits exactly.
_SAFE_PAIRS = frozenset({
    ("smallint", "real"), ("smallint", "double precision"), ("integer", "double precision"),
    ("real", "double precision"), ("date", "timestamp without time zone"),
    ("date", "timestamp with time zone"),
})


def _same_name_safe(old: ColumnType, new: ColumnType) -> bool:
    if old.params == new.params:
        return True
    if old.name in _LENGTH_TYPES or old.name in _PRECISION_TYPES:
        # No modifier means unbounded (varchar) or the maximum precision (timestamp).
        return not new.params or (bool(old.params) and new.params[0] >= old.params[0])
    if old.name == "numeric":
        return _numeric_fits(old.params, new.params)
    return False


def _numeric_fits(old: tuple[int, ...], new: tuple[int, ...]) -> bool:
    if not new:
        return True
    if not old:
        return False
    old_scale = old[1] if len(old) > 1 else 0
    new_scale = new[1] if len(new) > 1 else 0
    return new_scale >= old_scale and new[0] - new_scale >= old[0] - old_scale


def _scalar_safe(old: ColumnType, new: ColumnType) -> bool:
    if old.name == new.name and old.schema == new.schema:
        return _same_name_safe(old, new)
    if new.schema is None and new.name in _UNBOUNDED_TEXT and not new.params:
        # Every value has a text form; an enum, varchar(n) or char(n) fits in text.
        return old.is_enum or old.name in _LENGTH_TYPES or old.name in _UNBOUNDED_TEXT
    if old.name in _INT_RANK and new.name in _INT_RANK:
        return _INT_RANK[new.name] >= _INT_RANK[old.name]
    if old.name in _INT_DIGITS and new.name == "numeric":
        return not new.params or new.params[0] - (new.params[1] if len(new.params) > 1
                                                  else 0) >= _INT_DIGITS[old.name]
    return (old.name, new.name) in _SAFE_PAIRS


def is_lossy(old: ColumnType, new: ColumnType) -> bool:
    """True when converting a column from ``old`` to ``new`` can lose or reject data."""
    if old == new:
        return False
    if old.dims != new.dims:
        return True
    return not _scalar_safe(old, new)


def using_expression(column: str, old: ColumnType, new: ColumnType) -> str | None:
    """The ``USING`` expression for the type change, or None for the plain ``col::new``.

    Enums have no cast to one another or from most types, so any change involving an enum
    goes through ``text``.
    """
    if not (old.is_enum or new.is_enum):
        return None
    text = "text" + "[]" * old.dims
    return f"{quote_ident(column)}::{text}::{new.sql}"
