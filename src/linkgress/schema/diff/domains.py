"""Domains: create, alter (default, NOT NULL, check), drop when managed; unmanaged domains of
the schemas in scope are notes.

PostgreSQL cannot change a domain's base type: when the model's differs, the differ says so
in a note and leaves the domain alone (a journaled migration can recreate it and its columns).
"""

from __future__ import annotations

from dataclasses import replace

from linkgress.schema import operations as ops
from linkgress.schema.diff.context import DiffContext, label
from linkgress.schema.domain_ops import AlterDomain, CreateDomain, DropDomain
from linkgress.schema.snapshot import Domain, Schema


def diff_domains(ctx: DiffContext, current: Schema, target: Schema) -> list[ops.Operation]:
    """Create, alter and (managed) drop operations for domains."""
    have = {d.key: d for d in current.domains}
    wanted = {d.key for d in target.domains}
    out: list[ops.Operation] = []
    for domain in target.domains:
        old = have.get(domain.key)
        if old is None:
            out.append(CreateDomain(domain=domain))
        elif old != domain:
            out += _alter(ctx, old, domain)
    for domain in current.domains:
        if domain.key in wanted:
            continue
        if ctx.may_drop_type("domains", domain.schema, domain.name):
            out.append(DropDomain(domain=domain))
        else:
            ctx.unmanaged("domain", label(domain.schema, domain.name))
    return out


def _alter(ctx: DiffContext, old: Domain, new: Domain) -> list[ops.Operation]:
    if old.base_type != new.base_type:
        ctx.notes.append(
            f"domain '{label(new.schema, new.name)}' is over {old.base_type.display} in the "
            f"database and {new.base_type.display} in the model; PostgreSQL cannot change a "
            "domain's base type: change it in a journaled migration")
        new = replace(new, base_type=old.base_type)
        if old == new:
            return []
    return [AlterDomain(old=old, new=new)]
