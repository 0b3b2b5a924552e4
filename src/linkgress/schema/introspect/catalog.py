"""Catalog SQL for introspection and normalisation, as constants.

Every query takes the list of schema names as ``$1::text[]`` and filters on it; the Python side
(:mod:`.parse`) drops rows of tables it does not keep (extension-owned, excluded, linkgress's own
tables). Expressions are printed by PostgreSQL itself (``format_type``, ``pg_get_expr``,
``pg_get_indexdef``) in non-pretty mode, as ``pg_dump`` does, so that text from the model side
(:func:`~linkgress.schema.introspect.normalize_target`) and from the catalog side compare equal.

A few columns only exist on newer servers (``indnullsnotdistinct``, PostgreSQL 15); the queries
that need them are templates completed by :func:`constraints_sql` / :func:`indexes_sql` with
fixed fragments, never with user data.
"""

from __future__ import annotations

# An object created by CREATE EXTENSION depends on its extension with deptype 'e'.
_NOT_EXTENSION_MEMBER = """
NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep
             WHERE dep.classid = '{catalog}'::regclass AND dep.objid = {oid}
               AND dep.deptype = 'e')"""

SCHEMAS = """
SELECT n.nspname AS name
  FROM pg_catalog.pg_namespace n
 WHERE n.nspname = ANY($1::text[])
 ORDER BY n.nspname
"""

ENUMS = f"""
SELECT n.nspname AS schema, t.typname AS name,
       array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
  FROM pg_catalog.pg_type t
  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
 WHERE t.typtype = 'e' AND n.nspname = ANY($1::text[])
   AND {_NOT_EXTENSION_MEMBER.format(catalog="pg_catalog.pg_type", oid="t.oid")}
 GROUP BY n.nspname, t.typname
 ORDER BY n.nspname, t.typname
"""

# Standalone sequences only: identity sequences (deptype 'i') and serial / OWNED BY sequences
# (deptype 'a' on a column) belong to their column.
SEQUENCES = """
SELECT n.nspname AS schema, c.relname AS name,
       pg_catalog.format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart AS start, s.seqincrement AS increment, s.seqmin AS min_value,
       s.seqmax AS max_value, s.seqcache AS cache, s.seqcycle AS cycle
  FROM pg_catalog.pg_sequence s
  JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = ANY($1::text[])
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep
                    WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = c.oid
                      AND (dep.deptype IN ('e', 'i')
                           OR (dep.deptype = 'a' AND dep.refobjsubid > 0)))
 ORDER BY n.nspname, c.relname
"""

# Ordinary and partitioned tables; partitions belong to their parent and are left out: a
# partitioned table lists them (``partitions``: a JSON array of [name, bound], by name).
TABLES = f"""
SELECT c.oid AS oid, n.nspname AS schema, c.relname AS name,
       dsc.description AS comment,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_by,
       CASE WHEN c.relkind = 'p' THEN (
           SELECT pg_catalog.json_agg(pg_catalog.json_build_array(
                      pc.relname, pg_catalog.pg_get_expr(pc.relpartbound, pc.oid))
                  ORDER BY pc.relname)::text
             FROM pg_catalog.pg_inherits h
             JOIN pg_catalog.pg_class pc ON pc.oid = h.inhrelid
            WHERE h.inhparent = c.oid) END AS partitions
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_description dsc
    ON dsc.objoid = c.oid AND dsc.classoid = 'pg_catalog.pg_class'::regclass
   AND dsc.objsubid = 0
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY($1::text[])
   AND {_NOT_EXTENSION_MEMBER.format(catalog="pg_catalog.pg_class", oid="c.oid")}
 ORDER BY n.nspname, c.relname
"""

# ``serial``: the default is nextval() of a sequence OWNED BY the column (SERIAL, or pg_dump's
# CREATE SEQUENCE + ALTER SEQUENCE ... OWNED BY + DEFAULT nextval(...)); the owned sequences
# are read once (a hashed join), not per column.
# ``type`` is format_type() of the column (an array prints its element once, whatever its
# dimensions: attndims says how many were declared). For a type outside pg_catalog (an enum, a
# domain), the element's own schema and name are given, unquoted.
_COLUMNS_SELECT = """
SELECT a.attrelid AS table_oid, a.attnum AS position, a.attname AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       a.attndims AS dims, (t.typelem <> 0 AND t.typlen = -1) AS is_array,
       en.nspname AS type_schema, et.typname AS type_name, et.typtype::text AS type_kind,
       NOT a.attnotnull AS nullable, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS "default",
       a.attidentity::text AS identity, a.attgenerated::text AS generated,
       CASE WHEN a.attidentity <> '' THEN
         (SELECT ARRAY[s.seqstart, s.seqincrement] FROM pg_catalog.pg_depend idd
            JOIN pg_catalog.pg_sequence s ON s.seqrelid = idd.objid
           WHERE idd.refclassid = 'pg_catalog.pg_class'::regclass
             AND idd.refobjid = a.attrelid AND idd.refobjsubid = a.attnum
             AND idd.classid = 'pg_catalog.pg_class'::regclass AND idd.deptype = 'i')
       END AS identity_options,
       dsc.description AS comment,
       (a.attidentity = '' AND pg_catalog.pg_get_expr(d.adbin, d.adrelid) = ANY(own.nextvals))
         IS TRUE AS serial
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  JOIN pg_catalog.pg_type et
    ON et.oid = CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE t.oid END
  JOIN pg_catalog.pg_namespace en ON en.oid = et.typnamespace
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_catalog.pg_description dsc
    ON dsc.objoid = a.attrelid AND dsc.classoid = 'pg_catalog.pg_class'::regclass
   AND dsc.objsubid = a.attnum
  LEFT JOIN (SELECT sd.refobjid, sd.refobjsubid,
                    array_agg('nextval(' || pg_catalog.quote_literal(sd.objid::regclass::text)
                              || '::regclass)') AS nextvals
               FROM pg_catalog.pg_depend sd
               JOIN pg_catalog.pg_class sc ON sc.oid = sd.objid AND sc.relkind = 'S'
              WHERE sd.classid = 'pg_catalog.pg_class'::regclass
                AND sd.refclassid = 'pg_catalog.pg_class'::regclass
                AND sd.deptype = 'a' AND sd.refobjsubid > 0
              GROUP BY sd.refobjid, sd.refobjsubid) own
    ON own.refobjid = a.attrelid AND own.refobjsubid = a.attnum
"""

_COLUMNS_TEMPLATE = _COLUMNS_SELECT + """
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
   AND n.nspname = ANY($1::text[]){shard}
 ORDER BY a.attrelid, a.attnum
"""

COLUMNS = _COLUMNS_TEMPLATE.format(shard="")


def columns_sql(shards: int = 1, shard: int = 0) -> str:
    """:data:`COLUMNS`, or its ``shard``-th of ``shards`` parts (split by table oid, so each
    table's columns stay together): the largest query, split for concurrent readers."""
    if shards == 1:
        return COLUMNS
    if not 0 <= shard < shards:
        raise ValueError(f"shard must be in [0, {shards}), got {shard!r}")
    return _COLUMNS_TEMPLATE.format(
        shard=f"\n   AND a.attrelid::bigint % {int(shards)} = {int(shard)}")

_CONSTRAINTS_TEMPLATE = """
SELECT con.conrelid AS table_oid, con.conname AS name, con.contype::text AS kind,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
              ORDER BY k.ord) AS columns,
       rn.nspname AS ref_schema, rc.relname AS ref_table,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
              ORDER BY k.ord) AS ref_columns,
       con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update,
       con.condeferrable AS deferrable, con.condeferred AS initially_deferred,
       con.confmatchtype::text AS match,
       pg_catalog.pg_get_expr(con.conbin, con.conrelid) AS expression,
       COALESCE({nulls_not_distinct}, false) AS nulls_not_distinct
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
  LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
  LEFT JOIN pg_catalog.pg_index ci ON ci.indexrelid = con.conindid AND con.contype = 'u'
 WHERE con.contype IN ('p', 'u', 'c', 'f') AND {where}
 ORDER BY con.conrelid, con.conname
"""

# Indexes that back a constraint (primary key, unique, exclusion) are part of the constraint.
# That test is written as an uncorrelated subquery (a hashed NOT IN): per-index lookups made
# this the slowest catalog query. The per-element arrays come from one pass over the
# elements (a lateral aggregate), not one subquery each; operator class and collation names
# are looked up only when not the default (joining the catalogs made the query 3x slower).
# Per key element: ``opclasses`` (NULL for the default one), ``collations`` (NULL when it is
# the column's own; for an expression, when it is the database default or none) and
# ``options`` (pg_index.indoption: bit 1 DESC, bit 2 NULLS FIRST). ``include``: the INCLUDE
# columns.
_INDEXES_TEMPLATE = """
SELECT i.indrelid AS table_oid, ic.relname AS name, i.indisunique AS is_unique,
       am.amname AS method, i.indisvalid AS is_valid,
       e.columns, e.expressions, COALESCE(e.include, '{{}}') AS include, e.opclasses,
       e.collations, e.options,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS "where",
       {nulls_not_distinct} AS nulls_not_distinct
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_am am ON am.oid = ic.relam
  CROSS JOIN (SELECT ARRAY(SELECT oc.oid FROM pg_catalog.pg_opclass oc WHERE oc.opcdefault)
                     AS oids) default_opclasses
  CROSS JOIN LATERAL (
    SELECT array_agg(a.attname ORDER BY k.ord) FILTER (WHERE k.ord <= i.indnkeyatts) AS columns,
           array_agg(CASE WHEN k.num = 0
                          THEN pg_catalog.pg_get_indexdef(i.indexrelid, k.ord::int, false) END
                     ORDER BY k.ord) FILTER (WHERE k.ord <= i.indnkeyatts) AS expressions,
           array_agg(a.attname ORDER BY k.ord) FILTER (WHERE k.ord > i.indnkeyatts) AS include,
           array_agg(CASE WHEN k.cls = ANY (default_opclasses.oids) THEN NULL
                          ELSE (SELECT oc.opcname FROM pg_catalog.pg_opclass oc
                                 WHERE oc.oid = k.cls) END ORDER BY k.ord)
             FILTER (WHERE k.ord <= i.indnkeyatts) AS opclasses,
           array_agg(CASE WHEN k.coll = 0 OR k.coll = COALESCE(a.attcollation, 100) THEN NULL
                          ELSE (SELECT co.collname FROM pg_catalog.pg_collation co
                                 WHERE co.oid = k.coll) END ORDER BY k.ord)
             FILTER (WHERE k.ord <= i.indnkeyatts) AS collations,
           array_agg(k.flags ORDER BY k.ord) FILTER (WHERE k.ord <= i.indnkeyatts) AS options
      FROM unnest(i.indkey::int2[], i.indclass::oid[], i.indcollation::oid[],
                  i.indoption::int2[]) WITH ORDINALITY k(num, cls, coll, flags, ord)
      LEFT JOIN pg_catalog.pg_attribute a
        ON a.attrelid = i.indrelid AND a.attnum = k.num AND k.num > 0) e
 WHERE {where}
   AND i.indexrelid NOT IN (SELECT con.conindid FROM pg_catalog.pg_constraint con
                             WHERE con.contype IN ('p', 'u', 'x'))
 ORDER BY i.indrelid, ic.relname
"""

_IN_SCHEMAS = "c.relkind IN ('r', 'p') AND n.nspname = ANY($1::text[])"

# Normalisation reads back the temporary tables it created: ``$1::text[]`` are their names.
_IN_MY_TEMP_TABLES = ("c.relnamespace = pg_catalog.pg_my_temp_schema() "
                      "AND c.relname = ANY($1::text[])")

TEMP_COLUMNS = _COLUMNS_SELECT + f"""
 WHERE a.attnum > 0 AND NOT a.attisdropped AND {_IN_MY_TEMP_TABLES}
 ORDER BY a.attrelid, a.attnum
"""

TEMP_TABLE_OIDS = f"""
SELECT c.oid AS oid, c.relname AS name FROM pg_catalog.pg_class c WHERE {_IN_MY_TEMP_TABLES}
"""

# What normalisation must know about the target's objects that may already exist: schemas,
# enums with their labels, sequences (``relation``: a default's nextval() needs one).
EXISTING_ENUMS_AND_SEQUENCES = """
SELECT 'schema' AS kind, n.nspname AS schema, n.nspname AS name, NULL::text[] AS labels
  FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY($1::text[])
UNION ALL
SELECT 'enum', n.nspname, t.typname,
       ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e
              WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype = 'e' AND n.nspname = ANY($1::text[])
UNION ALL
SELECT 'domain', n.nspname, t.typname, NULL
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype = 'd' AND n.nspname = ANY($1::text[])
UNION ALL
SELECT 'relation', n.nspname, c.relname, NULL
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND n.nspname = ANY($1::text[])
"""


def _nulls_not_distinct(server_major: int, alias: str) -> str:
    return f"{alias}.indnullsnotdistinct" if server_major >= 15 else "false"


def constraints_sql(server_major: int, *, temp: bool = False) -> str:
    """The constraints query for this server's major version (``temp``: normalisation's
    temporary tables, named by ``$1``, instead of the schemas named by ``$1``)."""
    return _CONSTRAINTS_TEMPLATE.format(
        nulls_not_distinct=_nulls_not_distinct(server_major, "ci"),
        where=_IN_MY_TEMP_TABLES if temp else _IN_SCHEMAS)


def indexes_sql(server_major: int, *, temp: bool = False) -> str:
    """The indexes query for this server's major version (``temp`` as in
    :func:`constraints_sql`)."""
    return _INDEXES_TEMPLATE.format(
        nulls_not_distinct=_nulls_not_distinct(server_major, "i"),
        where=_IN_MY_TEMP_TABLES if temp else _IN_SCHEMAS)


def as_json_rows(sql: str, order_by: str | None = None) -> str:
    """``sql``'s rows as one JSON array (of objects keyed by column name), ordered by
    ``order_by`` over its columns: a scalar subquery, so that several queries share one
    round trip."""
    order = f" ORDER BY {order_by}" if order_by else ""
    return f"(SELECT coalesce(json_agg(q{order}), '[]'::json) FROM ({sql}) q)"


def temp_readback_sql(server_major: int) -> str:
    """Everything normalisation reads back about its temporary tables (named by ``$1``), in
    one row of JSON arrays: ``oids``, ``columns``, ``constraints``, ``indexes``."""
    return "SELECT " + ",\n       ".join([
        f"{as_json_rows(TEMP_TABLE_OIDS)} AS oids",
        f"{as_json_rows(TEMP_COLUMNS, 'q.table_oid, q.position')} AS columns",
        f"{as_json_rows(constraints_sql(server_major, temp=True))} AS constraints",
        f"{as_json_rows(indexes_sql(server_major, temp=True))} AS indexes",
    ])
