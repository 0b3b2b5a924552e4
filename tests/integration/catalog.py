"""Catalog readers the integration tests use to check what PostgreSQL really holds.

Deliberately independent of linkgress's own introspection: these read ``format_type``,
``pg_get_expr``, ``pg_get_constraintdef``, ``pg_get_indexdef`` and ``pg_enum`` directly.
"""

from __future__ import annotations

from typing import Any

import asyncpg

COLUMNS = """
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity,
       col_description(c.oid, a.attnum) AS comment
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind = 'r'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
 ORDER BY 1, 2, a.attnum
"""

CONSTRAINTS = """
SELECT n.nspname AS schema, c.relname AS table, con.conname AS name, con.contype AS kind,
       pg_get_constraintdef(con.oid) AS definition
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY 1, 2, 3
"""

INDEXES = """
SELECT schemaname AS schema, tablename AS table, indexname AS name, indexdef AS definition
  FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY 1, 2, 3
"""

ENUMS = """
SELECT n.nspname AS schema, t.typname AS name,
       array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
  JOIN pg_namespace n ON n.oid = t.typnamespace
 GROUP BY 1, 2 ORDER BY 1, 2
"""

SEQUENCES = """
SELECT schemaname AS schema, sequencename AS name, data_type::text, start_value, increment_by,
       min_value, max_value, cache_size, cycle
  FROM pg_sequences ORDER BY 1, 2
"""

SCHEMAS = """
SELECT nspname AS name FROM pg_namespace
 WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'
 ORDER BY 1
"""

FUNCTIONS = """
SELECT n.nspname AS schema, p.proname AS name FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2
"""

TABLE_COMMENTS = """
SELECT n.nspname AS schema, c.relname AS table, obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY 1, 2
"""


async def dump(dsn: str) -> dict[str, list[dict[str, Any]]]:
    """Everything above, as plain data: two equal dumps mean two equal schemas."""
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        for name, sql in (("schemas", SCHEMAS), ("columns", COLUMNS),
                          ("constraints", CONSTRAINTS), ("indexes", INDEXES), ("enums", ENUMS),
                          ("sequences", SEQUENCES), ("functions", FUNCTIONS),
                          ("table_comments", TABLE_COMMENTS)):
            out[name] = [dict(r) for r in await conn.fetch(sql)]
        return out
    finally:
        await conn.close()
