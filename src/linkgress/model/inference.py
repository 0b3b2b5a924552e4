"""Annotation -> column type inference, by convention."""

from __future__ import annotations

import enum
import re
import types
import typing
from typing import Any

from linkgress.model import types as t
from linkgress.model.types import ColumnType
from linkgress.model.typetable import BY_PYTHON

# Each annotation of the type table (typetable.BY_PYTHON) maps to its row's type.
_SCALARS: dict[Any, ColumnType] = {py: ColumnType(spec.sql) for py, spec in BY_PYTHON.items()}

_JSON_ROOTS = (dict, list, typing.Any)


class UnsupportedAnnotation(TypeError):
    """The annotation has no column type by convention."""


def snake_case(name: str) -> str:
    """``OrderStatus`` -> ``order_status``; ``HTTPCode`` -> ``http_code``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def split_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; ``X`` -> ``(X, False)``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) != len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        raise UnsupportedAnnotation(f"a union of several types ({annotation!r}) has no column "
                                    "type; give one with column(...)")
    return annotation, False


def infer_type(annotation: Any) -> tuple[ColumnType, type[enum.Enum] | None]:
    """The column type for a (non-optional) annotation, and the enum class if it is one
    (an ``enum.IntFlag`` is an ``integer`` column whose values read back as flags).

    Enum types come back with ``schema=""``: the model builder places them.
    """
    if isinstance(annotation, type) and issubclass(annotation, enum.IntFlag):
        return ColumnType("integer"), annotation  # bit flags: an integer, not an ENUM
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return ColumnType(snake_case(annotation.__name__), schema="", is_enum=True), annotation
    if annotation in _SCALARS:
        return _SCALARS[annotation], None
    origin = typing.get_origin(annotation)
    if annotation in _JSON_ROOTS or origin is dict:
        return t.jsonb(), None
    if origin in (list, tuple, typing.Sequence):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(args) == 1:
            try:
                element, enum_class = infer_type(args[0])
            except UnsupportedAnnotation:
                return t.jsonb(), None
            if element.name not in ("json", "jsonb"):
                return element.array(), enum_class
        return t.jsonb(), None
    raise UnsupportedAnnotation(f"unsupported annotation {annotation!r}; give the column type "
                                "with column(<type>) or map it with a supported Python type")
