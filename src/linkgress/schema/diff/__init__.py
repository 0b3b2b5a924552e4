"""The differ: ``diff(current, target)`` -> the operations that bring ``current`` to ``target``.

Pure: two canonical :class:`~linkgress.schema.snapshot.Schema` values in, a
:class:`DiffResult` out. Normalisation has already happened when the snapshots were built, so the
differ compares values with ``==`` and never rewrites SQL text.

What it may drop (DESIGN.md, "What linkgress manages, and what it never drops"): the differ
creates and alters whatever ``target`` declares. It proposes a drop only for an object that
``managed`` (the snapshot recorded after the last successful migration) holds and ``target`` no
longer declares — or, with ``manage_all=True``, for anything in ``target``'s schemas. Everything
else in ``current`` is unmanaged: never dropped or altered, reported in ``notes``.

The work is split by object kind (``schemas``, ``enums``, ``sequences``, ``tables``,
``columns``, ``constraints``, ``indexes``, ``foreign_keys``); :func:`order_operations` (in
``ordering``) puts the result in an order PostgreSQL accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from linkgress.schema.diff.ordering import order_operations
from linkgress.schema.operations import Operation
from linkgress.schema.snapshot import Schema

__all__ = ["DiffResult", "diff", "order_operations"]


@dataclass(frozen=True)
class DiffResult:
    """What :func:`diff` found: ``operations`` in executable order, and human ``notes``
    (unmanaged objects left alone, likely renames, changes that may fail on existing rows).
    ``blocked`` lists the notes that make the plan impossible as it stands."""

    operations: list[Operation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # What makes PostgreSQL refuse the plan (e.g. an unmanaged view over a column whose type
    # changes), also among the notes: migrate() raises MigrationError before any DDL.
    blocked: list[str] = field(default_factory=list)


def diff(current: Schema, target: Schema, *, managed: Schema | None = None,
         manage_all: bool = False) -> DiffResult:
    """Compare ``current`` (what the database holds) with ``target`` (what the model declares).

    The notes start with those introspection left on ``current`` (``Schema.notes``). A unique
    constraint or index the model did not name that exists, equal, under another name is
    matched with it (see :func:`~linkgress.schema.diff.adopt.adopt_existing_names`).

    ``managed`` is the snapshot recorded after the last successful migration (None when never
    recorded: then nothing is dropped). ``manage_all`` treats everything in ``target``'s
    schemas as managed (Alembic-style). Returns the operations, already ordered by
    :func:`order_operations`, and notes. Never raises for a valid pair of snapshots.
    """
    from linkgress.schema.diff.adopt import adopt_existing_names
    from linkgress.schema.diff.engine import run_diff
    from linkgress.schema.diff.views import order_views

    target = adopt_existing_names(current, target)
    operations, notes = run_diff(current, target, managed=managed, manage_all=manage_all)
    return DiffResult(operations=order_views(order_operations(operations), target),
                      notes=[*introspection_notes(current), *notes])


def introspection_notes(current: Schema) -> list[str]:
    """The notes introspection left on ``current`` (what the snapshot cannot represent: index
    operator classes, generated columns, invalid indexes...), without linkgress's own markers."""
    return [note for note in current.notes if not note.startswith("linkgress:")]
