"""Domains in the catalogs, and their normalisation.

Introspection reads every domain of the schemas in scope (:data:`DOMAINS`; extension members
left out). Normalisation prints the model's domains as PostgreSQL does: inside the savepoint
that mirrors the model, each domain is created under a temporary name with its full definition
and read back with the same query — so its base type, default and check compare exactly.
Domains the model's columns use but the database lacks are created under their real names in
that savepoint too (the mirror's columns need them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from linkgress.schema.domain_ops import create_domain_sql
from linkgress.schema.introspect.parse import Row, parse_domain
from linkgress.schema.snapshot import Schema

_DOMAINS_TEMPLATE = """
SELECT n.nspname AS schema, t.typname AS name,
       pg_catalog.format_type(t.typbasetype, t.typtypmod) AS type,
       t.typndims AS dims, (bt.typelem <> 0 AND bt.typlen = -1) AS is_array,
       en.nspname AS type_schema, et.typname AS type_name, et.typtype::text AS type_kind,
       t.typnotnull AS not_null, pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS "default",
       ARRAY(SELECT c.conname::text FROM pg_catalog.pg_constraint c
              WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname) AS check_names,
       ARRAY(SELECT pg_catalog.pg_get_expr(c.conbin, 0) FROM pg_catalog.pg_constraint c
              WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname) AS checks
  FROM pg_catalog.pg_type t
  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
  JOIN pg_catalog.pg_type et
    ON et.oid = CASE WHEN bt.typelem <> 0 AND bt.typlen = -1 THEN bt.typelem ELSE bt.oid END
  JOIN pg_catalog.pg_namespace en ON en.oid = et.typnamespace
 WHERE t.typtype = 'd' AND {where}
 ORDER BY n.nspname, t.typname
"""

DOMAINS = _DOMAINS_TEMPLATE.format(where="""n.nspname = ANY($1::text[])
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep
                    WHERE dep.classid = 'pg_catalog.pg_type'::regclass AND dep.objid = t.oid
                      AND dep.deptype = 'e')""")

# Normalisation reads back its temporarily named domains: ``$1::text[]`` are their names.
TEMP_DOMAINS = _DOMAINS_TEMPLATE.format(where="t.typname = ANY($1::text[])")

TEMP_DOMAIN_PREFIX = "__linkgress_norm_dom_"


def temp_name(position: int) -> str:
    """The temporary name of the model's ``position``-th domain in the mirror."""
    return f"{TEMP_DOMAIN_PREFIX}{position}"


def mirror_statements(target: Schema, existing: frozenset[tuple[str, str]]) -> list[str]:
    """The model's domains lacking in the database under their own names (for the mirror's
    columns), then every model domain under its temporary name (to print it)."""
    out = [create_domain_sql(d) for d in target.domains if d.key not in existing]
    out += [create_domain_sql(replace(d, name=temp_name(i)))
            for i, d in enumerate(target.domains)]
    return out


def apply_printed_domains(target: Schema, rows: Sequence[Row]) -> Schema:
    """``target`` with each domain's base type, default and check as PostgreSQL printed its
    temporary copy (read with :data:`TEMP_DOMAINS`)."""
    printed = {row["name"]: parse_domain(row) for row in rows}
    domains = []
    for i, domain in enumerate(target.domains):
        got = printed.get(temp_name(i))
        domains.append(domain if got is None else replace(
            domain, base_type=got.base_type, default=got.default, check=got.check))
    return replace(target, domains=tuple(domains))
