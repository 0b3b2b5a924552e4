"""Value conversion between Python and PostgreSQL for the ORM, per column.

asyncpg already converts numbers, text, ``Decimal``, ``UUID``, dates and times, ``bytes`` and
arrays. What it leaves to us, and what this module does once per column (never per row by
inspecting values' types):

- a Python ``enum.Enum`` column: asyncpg sends and returns PostgreSQL enum values as their
  labels (``str``); we send ``member.value`` and turn labels back into members;
- ``numeric`` columns: a ``float`` is sent as the decimal it prints as (``0.99``, not the
  binary value asyncpg would send, 0.98999999999999999111...);
- ``json`` / ``jsonb`` columns: asyncpg sends and returns JSON text; we ``json.dumps`` the value
  (a dict, list, str, number, bool) and ``json.loads`` what comes back, so a column round-trips
  any JSON-serialisable Python value. Python ``None`` is SQL NULL, not JSON ``null``.

Both directions live here: the writing side (:func:`encoder_for`, :func:`column_encoders`,
:func:`encode`; None where no conversion is needed, so a hot loop can skip those columns) and
the reading side (:func:`decoder_for`, :class:`EnumLookup`), used by every row reader.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from linkgress.model.typetable import spec_for
from linkgress.query.categories import exact_decimal

if TYPE_CHECKING:
    from linkgress.model.meta import ColumnMeta, EntityMeta

__all__ = [
    "Converter",
    "EnumLookup",
    "column_encoders",
    "decoder_for",
    "encode",
    "encoder_for",
]

Converter = Callable[[Any], Any]

def _enum_encoder(enum_class: type[enum.Enum], dims: int) -> Converter:
    def label(value: Any) -> Any:
        if isinstance(value, enum.Enum):
            return value.value
        return value  # a label given as text, or None: PostgreSQL validates it

    if dims == 0:
        return label

    def labels(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [labels(item) for item in value]
        return label(value)

    return labels


def _numbers(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_numbers(item) for item in value]
    return exact_decimal(value)


def encoder_for(column: ColumnMeta) -> Converter | None:
    """How to turn a Python value into a bind parameter for ``column`` (None: as it is)."""
    if column.enum_class is not None:
        return _enum_encoder(column.enum_class, column.type.dims)
    if column.type.name == "numeric" and column.type.dims:
        return _numbers
    spec = spec_for(column.type)
    return spec.encode if spec is not None and column.type.dims == 0 else None


_ENCODERS: dict[int, tuple[EntityMeta, tuple[Converter | None, ...]]] = {}


def column_encoders(meta: EntityMeta) -> tuple[Converter | None, ...]:
    """One encoder (or None) per column of ``meta.columns``, in that order; cached."""
    cached = _ENCODERS.get(id(meta))
    if cached is None or cached[0] is not meta:
        cached = (meta, tuple(encoder_for(c) for c in meta.columns))
        _ENCODERS[id(meta)] = cached
    return cached[1]


def encode(column: ColumnMeta, value: Any) -> Any:
    """``value`` as a bind parameter for ``column`` (enum member -> label, JSON -> text)."""
    encoder = encoder_for(column)
    return value if encoder is None else encoder(value)


# --- reading ---------------------------------------------------------------------------------


def _enum_decoder(enum_class: type[enum.Enum], dims: int) -> Callable[[Any], Any]:
    def member(value: Any) -> Any:
        return None if value is None else enum_class(value)

    def members(value: Any) -> Any:
        if isinstance(value, list):
            return [members(item) for item in value]
        return member(value)

    return members if dims else member


def decoder_for(meta: ColumnMeta) -> Callable[[Any], Any] | None:
    """A function turning a fetched value into the attribute's Python value, or None when the
    value is already right (most types: asyncpg decodes them natively)."""
    if meta.enum_class is not None:
        return _enum_decoder(meta.enum_class, meta.type.dims)
    spec = spec_for(meta.type)
    return spec.decode if spec is not None and not meta.type.dims else None


class EnumLookup(dict[Any, Any]):
    """Label -> member (and None -> None): decoding an enum column is one dict lookup in the
    generated reader; an unknown label falls back to the enum class (which raises)."""

    def __init__(self, enum_class: type[enum.Enum]) -> None:
        super().__init__({m.value: m for m in enum_class})
        self[None] = None
        self.enum_class = enum_class

    def __missing__(self, value: Any) -> Any:
        return self.enum_class(value)
