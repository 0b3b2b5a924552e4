"""Identifier rules and generated names shared by the model builders."""

from __future__ import annotations

import hashlib

from linkgress.errors import ModelError
from linkgress.model.entity import ColumnInfo
from linkgress.schema.snapshot import FK_ACTIONS

MAX_IDENTIFIER_BYTES = 63


def check_identifier(name: str, *, what: str, entity: str | None,
                     field: str | None = None) -> str:
    """Reject empty names, NUL bytes and names PostgreSQL would silently truncate."""
    if not name:
        raise ModelError(f"invalid {what} name {name!r}: it is empty", entity=entity,
                         field=field)
    if "\x00" in name:
        raise ModelError(f"invalid {what} name {name!r}: it contains a NUL byte (\\x00)",
                         entity=entity, field=field)
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise ModelError(f"{what} name {name!r} is {len(name.encode())} bytes long; PostgreSQL "
                         f"allows at most {MAX_IDENTIFIER_BYTES}", entity=entity, field=field)
    return name


def check_text(value: str | None, *, what: str, entity: str | None,
               field: str | None = None) -> str | None:
    """Reject a NUL byte in a string that ends up in SQL text or the catalog (a comment, an
    enum label, a raw SQL expression): PostgreSQL cannot store one, and the driver would
    refuse it only when the DDL is sent."""
    if value is not None and "\x00" in value:
        raise ModelError(f"{what} contains a NUL byte (\\x00): {value!r}", entity=entity,
                         field=field)
    return value


def generated_name(*parts: str) -> str:
    """A constraint/index name from ``parts``, shortened with a hash suffix to fit 63 bytes."""
    name = "_".join(parts)
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    head = name.encode()[: MAX_IDENTIFIER_BYTES - 9].decode(errors="ignore")
    return f"{head}_{digest}"


def normalize_action(action: str | None, *, entity: str, field: str | None) -> str:
    """``"cascade"`` / ``"set_null"`` -> ``"CASCADE"`` / ``"SET NULL"``; None -> NO ACTION."""
    if action is None:
        return "NO ACTION"
    normal = " ".join(action.replace("_", " ").upper().split())
    if normal not in FK_ACTIONS:
        raise ModelError(f"unknown foreign key action {action!r}; expected one of "
                         f"{', '.join(a.lower() for a in FK_ACTIONS)}", entity=entity,
                         field=field)
    return normal


def find_column_info(cls: type, attr: str) -> ColumnInfo:
    """The ``ColumnInfo`` declared for field ``attr`` on entity ``cls`` or a base class
    (``Entity.__init_subclass__`` keeps them all, inherited ones too); a blank one for a name
    that is not a field."""
    declared: ColumnInfo | None = getattr(cls, "__linkgress_infos__", {}).get(attr)
    return ColumnInfo() if declared is None else declared
