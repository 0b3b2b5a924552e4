"""Python default values rendered as SQL literals for a given column type.

Only values that fit the column are accepted; anything else raises ``TypeError`` with a message
the model builder wraps in a ``ModelError`` naming the entity and field. Each built-in type's
renderer is a column of :mod:`linkgress.model.typetable`; this module adds arrays and enums.
"""

from __future__ import annotations

import enum
from typing import Any

from linkgress.model.types import ColumnType
from linkgress.model.typetable import named_literal, spec_for
from linkgress.schema.quoting import quote_literal


def _scalar(value: Any, ctype: ColumnType) -> str:
    """A literal for one element of ``ctype`` (arrays are handled by the caller)."""
    if ctype.is_enum:
        label = value.value if isinstance(value, enum.Enum) else value
        if not isinstance(label, str | int):
            raise TypeError(f"expected a member of enum {ctype.name!r}, got {value!r}")
        return quote_literal(str(label))
    spec = spec_for(ctype)
    return named_literal(value, ctype) if spec is None else spec.literal(value, ctype)


def sql_literal(value: Any, ctype: ColumnType) -> str:
    """Render ``value`` as a SQL default for a column of type ``ctype``.

    Returns e.g. ``0``, ``'it''s'``, ``true``, ``'pending'``, ``ARRAY[1, 2]::integer[]``.
    Raises ``TypeError`` when the value does not fit the type.
    """
    if value is None:
        return "NULL"
    if ctype.dims:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list for {ctype.display}, got {value!r}")
        element = ColumnType(ctype.name, ctype.params, ctype.dims - 1, ctype.schema, ctype.is_enum,
                             modifier=ctype.modifier)
        if not value:
            return f"'{{}}'::{ctype.sql}"
        items = ", ".join(sql_literal(v, element) for v in value)
        return f"ARRAY[{items}]::{ctype.sql}"
    literal = _scalar(value, ctype)
    if ctype.is_enum:
        return f"{literal}::{ctype.sql}"
    return literal
