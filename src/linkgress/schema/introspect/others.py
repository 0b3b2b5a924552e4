"""What linkgress sees in a context's schemas but neither manages nor compares — functions,
procedures, aggregates, triggers, rules, row-level security policies, composite types and
foreign tables — read so that each is a note ("unmanaged ... left alone"): the unmanaged
objects of the schemas a context uses are always reported, never dropped.

Extension members, the triggers PostgreSQL makes for foreign keys, the ``_RETURN`` rule of a
view and anything on an excluded or linkgress-internal table are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from linkgress.schema.introspect.parse import MANAGED_TABLES, Row, is_excluded

_NOT_EXTENSION_MEMBER = """NOT EXISTS (
       SELECT 1 FROM pg_catalog.pg_depend dep
        WHERE dep.classid = '{catalog}'::regclass AND dep.objid = {oid} AND dep.deptype = 'e')"""

# kind, schema, name (a function with its argument types), and the table it belongs to.
_OTHERS = f"""
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
                      WHEN 'w' THEN 'window function' ELSE 'function' END AS kind,
       n.nspname AS schema,
       p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS name,
       NULL::text AS parent
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = ANY($1::text[])
   AND {_NOT_EXTENSION_MEMBER.format(catalog="pg_catalog.pg_proc", oid="p.oid")}
UNION ALL
SELECT 'trigger', n.nspname, t.tgname, c.relname
  FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal AND {{not_cloned}} AND n.nspname = ANY($1::text[])
   AND {_NOT_EXTENSION_MEMBER.format(catalog="pg_catalog.pg_trigger", oid="t.oid")}
UNION ALL
SELECT 'rule', n.nspname, r.rulename, c.relname
  FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE r.rulename <> '_RETURN' AND n.nspname = ANY($1::text[])
   AND {_NOT_EXTENSION_MEMBER.format(catalog="pg_catalog.pg_rewrite", oid="r.oid")}
UNION ALL
SELECT 'policy', n.nspname, pol.polname, c.relname
  FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = ANY($1::text[])
UNION ALL
SELECT CASE c.relkind WHEN 'c' THEN 'composite type' ELSE 'foreign table' END,
       n.nspname, c.relname, NULL
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('c', 'f') AND n.nspname = ANY($1::text[])
   AND {_NOT_EXTENSION_MEMBER.format(catalog="pg_catalog.pg_class", oid="c.oid")}
 ORDER BY 2, 1, 3
"""


def others_sql(server_major: int) -> str:
    """The query of what is reported only (a trigger cloned onto a partition from its parent's,
    PostgreSQL 13 on, is reported once, on the parent)."""
    return _OTHERS.format(not_cloned="t.tgparentid = 0" if server_major >= 13 else "true")


def other_notes(rows: Sequence[Row], exclude: Sequence[str] = ()) -> list[str]:
    """One note per row of :func:`others_sql` (those on excluded or internal tables left out)."""
    notes = []
    for row in rows:
        parent = row["parent"]
        if parent is not None and (parent in MANAGED_TABLES
                                   or is_excluded(row["schema"], parent, exclude)):
            continue
        if parent is None:
            notes.append(f"unmanaged {row['kind']} '{row['schema']}.{row['name']}' left alone")
        else:
            notes.append(f"unmanaged {row['kind']} '{row['name']}' on table "
                         f"'{row['schema']}.{parent}' left alone")
    return notes
