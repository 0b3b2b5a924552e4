"""Machine-readable output (``--format json``): one JSON document on stdout, stable keys.

- ``db analyze``: ``{"operations": [...], "notes": [...]}``
- ``db check``: the same plus ``"in_sync"`` and ``"migrations"`` (the journal's view of the
  files; ``null`` when the project has no migration files and the database no journal)
- ``migration status``: ``{"migrations": [...], "problems": [...]}``

An operation is ``{"type", "description", "destructive", "sql"}``; a migration is
``{"name", "applied", "batch", "applied_at" (ISO 8601), "edited", "file_missing",
"out_of_order"}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linkgress.migrations.runner import MigrationStatus
    from linkgress.schema.operations import Operation


def operation_json(op: Operation) -> dict[str, Any]:
    """One operation as JSON-ready data."""
    from linkgress.schema.ddl import render

    return {"type": op.type, "description": op.describe(), "destructive": op.is_destructive,
            "sql": [f"{sql};" for sql in render(op)]}


def migrations_json(entries: Sequence[MigrationStatus],
                    late: Sequence[str]) -> list[dict[str, Any]]:
    """The status entries as JSON-ready data."""
    return [{"name": e.name, "applied": e.applied, "batch": e.batch,
             "applied_at": e.applied_at.isoformat() if e.applied_at else None,
             "edited": e.checksum_mismatch, "file_missing": e.file_missing,
             "out_of_order": e.name in late} for e in entries]


def dumps(document: dict[str, Any]) -> str:
    """The document as printed: indented, keys in the order built."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def out_of_order(entries: list[MigrationStatus]) -> list[str]:
    """Pending files whose names sort before an applied one (written on another branch, say):
    ``up`` would apply them after newer ones."""
    applied = [e.name for e in entries if e.applied]
    newest = max(applied, default=None)
    return [e.name for e in entries
            if not e.applied and not e.file_missing and newest is not None and e.name < newest]
