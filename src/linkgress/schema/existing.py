"""Which of a schema's named objects already exist — the cheap catalog read behind
``ensure_created()`` (create what is missing) and ``ensure_deleted()`` (drop what is there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

EXISTING_OBJECTS = """
SELECT 'schema' AS kind, n.nspname AS schema, n.nspname AS name, NULL::text AS parent
  FROM pg_namespace n WHERE n.nspname = ANY($1::text[])
UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum' ELSE 'domain' END, n.nspname, t.typname, NULL
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd') AND n.nspname = ANY($1::text[])
UNION ALL
SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index'
                      WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' ELSE 'table' END,
       n.nspname, c.relname, NULL
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'S', 'i', 'I', 'v', 'm') AND n.nspname = ANY($1::text[])
UNION ALL
SELECT 'constraint', n.nspname, con.conname, rel.relname
  FROM pg_constraint con
  JOIN pg_class rel ON rel.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = rel.relnamespace
 WHERE n.nspname = ANY($1::text[])
"""

if TYPE_CHECKING:
    from linkgress.connection import RawConnection


@dataclass(frozen=True)
class ExistingObjects:
    """Names present in the database, keyed by kind."""

    schemas: frozenset[str]
    enums: frozenset[tuple[str, str]]
    sequences: frozenset[tuple[str, str]]
    tables: frozenset[tuple[str, str]]
    indexes: frozenset[tuple[str, str]]
    constraints: frozenset[tuple[str, str, str]]  # (schema, table, name)
    views: frozenset[tuple[str, str]] = frozenset()  # views and materialized views
    domains: frozenset[tuple[str, str]] = frozenset()


async def read_existing(conn: RawConnection, schemas: list[str]) -> ExistingObjects:
    """Read the names of schemas, enums, sequences, tables, indexes, constraints and views."""
    found: dict[str, set[tuple[str, ...]]] = {
        k: set() for k in ("schema", "enum", "sequence", "table", "index", "constraint",
                           "view", "domain")}
    for row in await conn.fetch(EXISTING_OBJECTS, schemas):
        if row["kind"] == "constraint":
            found["constraint"].add((row["schema"], row["parent"], row["name"]))
        else:
            found[row["kind"]].add((row["schema"], row["name"]))
    return ExistingObjects(
        schemas=frozenset(s for s, _ in found["schema"]),
        enums=frozenset((s, n) for s, n in found["enum"]),
        sequences=frozenset((s, n) for s, n in found["sequence"]),
        tables=frozenset((s, n) for s, n in found["table"]),
        indexes=frozenset((s, n) for s, n in found["index"]),
        constraints=frozenset((s, t, n) for s, t, n in found["constraint"]),
        views=frozenset((s, n) for s, n in found["view"]),
        domains=frozenset((s, n) for s, n in found["domain"]),
    )
