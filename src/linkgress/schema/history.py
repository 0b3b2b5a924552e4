"""The history of applied models, so that old code never reverts new schema.

During a rolling deploy, old and new versions of a service call ``migrate()`` side by side. The
state row (``__linkgress_schema_state``) therefore keeps, next to the managed snapshot, the
list of models applied to the database, oldest first (column ``history``, jsonb: entries
``{"model": digest, "fingerprint": ..., "applied_at": ...}``). A model found in that list but
not last was *superseded*: its ``migrate()`` changes nothing and only checks that the database
still has what the model needs (:func:`missing_for`). Only a model never seen may migrate.

A database recorded before the history existed has an empty list; its recorded snapshot still
names the fingerprint of the model that wrote it, which is kept as the first entry when another
model migrates (so that the older model is then known as superseded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from linkgress.model.types import ColumnType
from linkgress.schema.snapshot import Schema, Table

if TYPE_CHECKING:
    from linkgress.client import RawConnection

#: How many models the history keeps (the oldest are forgotten first).
HISTORY_LIMIT = 200

Status = Literal["new", "current", "superseded"]


@dataclass(frozen=True)
class ModelIdentity:
    """Who is migrating: the digest of the model's schema (stable across servers) and the
    fingerprint its normalisation is recorded under (model, server version, search_path)."""

    model: str
    fingerprint: str

    def matches(self, entry: dict[str, Any]) -> bool:
        """Whether a history entry records this model."""
        return entry.get("model") == self.model or entry.get("fingerprint") == self.fingerprint


def model_status(history: list[dict[str, Any]], me: ModelIdentity,
                 legacy_fingerprints: tuple[str, ...] = ()) -> Status:
    """``current`` (the last model applied), ``superseded`` (applied, then another one) or
    ``new``. ``legacy_fingerprints`` are those a history-less record was written under. Pure."""
    if not history:
        return "current" if me.fingerprint in legacy_fingerprints else "new"
    if me.matches(history[-1]):
        return "current"
    return "superseded" if any(me.matches(e) for e in history) else "new"


def appended(history: list[dict[str, Any]], me: ModelIdentity,
             legacy_fingerprints: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``history`` with ``me`` as its last entry (seeded with the legacy record, bounded). Pure."""
    out = [e for e in history if not me.matches(e)]
    if not out:
        out = [{"model": None, "fingerprint": fp, "applied_at": None}
               for fp in legacy_fingerprints if fp != me.fingerprint]
    out.append({"model": me.model, "fingerprint": me.fingerprint,
                "applied_at": datetime.now(UTC).isoformat()})
    return out[-HISTORY_LIMIT:]


# -- what a superseded model needs ---------------------------------------------------------

_WIDER: dict[str, tuple[str, ...]] = {
    "smallint": ("integer", "bigint", "numeric"),
    "integer": ("bigint", "numeric"),
    "bigint": ("numeric",),
    "real": ("double precision",),
    "character varying": ("text",),
    "character": ("character varying", "text"),
    "timestamp without time zone": ("timestamp with time zone",),
}


def type_compatible(needed: ColumnType, actual: ColumnType) -> bool:
    """Whether a column of type ``actual`` still serves code written for ``needed``: the same
    type, or a widening (a longer varchar, text for varchar, bigint for integer...). Pure."""
    if needed.canonical == actual.canonical:
        return True
    if needed.dims != actual.dims or needed.schema != actual.schema:
        return False
    if needed.name == actual.name:  # same type, other modifiers: only a longer one serves
        if not actual.params:
            return True
        pairs = zip(needed.params, actual.params, strict=False)
        return bool(needed.params) and all(a >= n for n, a in pairs)
    return actual.name in _WIDER.get(needed.name, ())


def _missing_in_table(needed: Table, actual: Table) -> list[str]:
    out: list[str] = []
    for col in needed.columns:
        have = actual.column(col.name)
        if have is None:
            out.append(f"column {needed.qualified_name}.{col.name}")
        elif not type_compatible(col.type, have.type):
            out.append(f"column {needed.qualified_name}.{col.name} as {col.type.display} "
                       f"(it is {have.type.display})")
    return out


def missing_for(needed: Schema, actual: Schema) -> list[str]:
    """What ``needed`` (a model's schema) lacks in ``actual`` (the database): tables, columns,
    columns whose type no longer serves, enums. [] when the database satisfies it. Pure."""
    out: list[str] = []
    tables = {t.key: t for t in actual.tables}
    for table in needed.tables:
        have = tables.get(table.key)
        if have is None:
            out.append(f"table {table.qualified_name}")
        else:
            out += _missing_in_table(table, have)
    enums = {e.key: e for e in actual.enums}
    for enum in needed.enums:
        present = enums.get(enum.key)
        if present is None or not set(enum.values) <= set(present.values):
            out.append(f"enum {enum.schema}.{enum.name}"
                       + ("" if present is None else " labels " + ", ".join(
                           v for v in enum.values if v not in present.values)))
    return out


# -- the column in the state table ---------------------------------------------------------

async def ensure_history_column(conn: RawConnection, table: str) -> None:
    """Add ``history`` to a state table made before it existed (under the migration lock)."""
    present = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass "
        "AND attname = 'history' AND NOT attisdropped)", table)
    if not present:
        await conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS history jsonb "
                           "NOT NULL DEFAULT '[]'::jsonb")


async def read_history(conn: RawConnection, table: str, state_name: str
                       ) -> list[dict[str, Any]]:
    """The recorded history ([] without a state row or a ``history`` column)."""
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table):
        return []
    raw = await conn.fetchval(f"SELECT (to_jsonb(s) -> 'history')::text FROM {table} AS s "
                              "WHERE s.state_name = $1", state_name)
    value = json.loads(raw) if raw else []
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


async def write_history(conn: RawConnection, table: str, state_name: str,
                        history: list[dict[str, Any]]) -> None:
    """Store ``history`` in the state row (which the caller has just written)."""
    await ensure_history_column(conn, table)
    await conn.execute(f"UPDATE {table} SET history = $2::jsonb WHERE state_name = $1",
                       state_name, json.dumps(history))
