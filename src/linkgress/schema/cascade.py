"""What ``DROP TABLE ... CASCADE`` would take besides the tables: read from ``pg_depend``
before ``ensure_deleted()`` drops anything, so nothing linkgress does not manage disappears
unannounced (DESIGN.md, "What linkgress manages, and what it never drops").

A table's own parts (columns, indexes, constraints, triggers, owned sequences, its row type)
go with it without CASCADE; CASCADE adds the objects with a *normal* dependency on the table or
its row type: views (followed recursively: a view on such a view goes too), other tables'
foreign keys, rules, SQL functions with a ``BEGIN ATOMIC`` body, columns typed by the row type.
Foreign keys between the dropped tables themselves are linkgress's and are not reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from linkgress.schema.operations import Operation
from linkgress.schema.quoting import quote_qualified
from linkgress.schema.snapshot import Table, View

if TYPE_CHECKING:
    from linkgress.connection import RawConnection

# $1: the tables as quoted qualified names. ``ours``: the tables and their partitions (which
# go with them, with the foreign keys PostgreSQL cloned onto them). ``gone``: those and,
# recursively, the views built on them (a view is its ``_RETURN`` rule's relation).
CASCADE_VICTIMS = """
WITH RECURSIVE ours(oid) AS (
    SELECT to_regclass(name)::oid FROM unnest($1::text[]) AS name
     WHERE to_regclass(name) IS NOT NULL
  UNION
    SELECT h.inhrelid
      FROM ours
      JOIN pg_catalog.pg_inherits h ON h.inhparent = ours.oid
      JOIN pg_catalog.pg_class pc ON pc.oid = h.inhrelid AND pc.relispartition
), gone(oid) AS (
    SELECT oid FROM ours
  UNION
    SELECT r.ev_class
      FROM gone
      JOIN pg_catalog.pg_class c ON c.oid = gone.oid
      JOIN pg_catalog.pg_depend d
        ON d.deptype = 'n' AND d.classid = 'pg_catalog.pg_rewrite'::regclass
       AND ((d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = gone.oid)
            OR (d.refclassid = 'pg_catalog.pg_type'::regclass AND d.refobjid = c.reltype))
      JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.rulename = '_RETURN'
)
SELECT DISTINCT CASE WHEN r.rulename = '_RETURN'
                     THEN pg_catalog.pg_describe_object('pg_catalog.pg_class'::regclass,
                                                        r.ev_class, 0)
                     ELSE pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
                END AS description
  FROM gone
  JOIN pg_catalog.pg_class c ON c.oid = gone.oid
  JOIN pg_catalog.pg_depend d
    ON d.deptype = 'n'
   AND ((d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = gone.oid)
        OR (d.refclassid = 'pg_catalog.pg_type'::regclass AND d.refobjid = c.reltype))
  LEFT JOIN pg_catalog.pg_rewrite r
    ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND r.oid = d.objid
  LEFT JOIN pg_catalog.pg_constraint con
    ON d.classid = 'pg_catalog.pg_constraint'::regclass AND con.oid = d.objid
 WHERE NOT (d.classid = 'pg_catalog.pg_class'::regclass AND d.objid IN (SELECT oid FROM gone))
   AND (con.oid IS NULL OR con.conrelid NOT IN (SELECT oid FROM ours))
   AND (r.oid IS NULL OR r.ev_class NOT IN (SELECT oid FROM ours))
 ORDER BY 1
"""


class DeletedObjects(list[Operation]):
    """What ``ensure_deleted()`` returns: the operations applied (a plain list of them), and in
    ``cascaded`` the objects linkgress did not manage that went with the tables (CASCADE), as
    PostgreSQL describes them (``view public.sink_count``)."""

    def __init__(self, operations: Iterable[Operation] = (),
                 cascaded: Iterable[str] = ()) -> None:
        super().__init__(operations)
        self.cascaded: list[str] = list(cascaded)


async def cascade_victims(conn: RawConnection, tables: Iterable[Table | View]) -> list[str]:
    """The objects (as PostgreSQL describes them) that dropping ``tables`` (and the managed
    views given with them) with CASCADE would also drop, and that are not part of those;
    [] when a plain DROP suffices."""
    names = [quote_qualified(t.schema, t.name) for t in tables]
    if not names:
        return []
    return [row["description"] for row in await conn.fetch(CASCADE_VICTIMS, names)]
