"""Domain operations (``CREATE DOMAIN``, ``ALTER DOMAIN``, ``DROP DOMAIN``) and their SQL.

Kept beside :mod:`linkgress.schema.operations` (one module per object kind being added), with
their renderers registered on :func:`linkgress.schema.ddl.render` when that module imports
this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from linkgress.schema.operations import Operation
from linkgress.schema.quoting import quote_ident, quote_qualified
from linkgress.schema.snapshot import Domain


def _label(domain: Domain) -> str:
    return domain.name if domain.schema == "public" else f"{domain.schema}.{domain.name}"


def check_name(domain: Domain) -> str:
    """The name linkgress gives a domain's check constraint (PostgreSQL's own default)."""
    return f"{domain.name}_check"


@dataclass(frozen=True, kw_only=True)
class CreateDomain(Operation):
    """``CREATE DOMAIN``."""

    type: ClassVar[str] = "create_domain"
    domain: Domain

    def describe(self) -> str:
        return f"Create domain '{_label(self.domain)}' ({self.domain.base_type.display})"

    def reverse(self) -> Operation:
        return DropDomain(domain=self.domain)


@dataclass(frozen=True, kw_only=True)
class DropDomain(Operation):
    """``DROP DOMAIN`` (never CASCADE: PostgreSQL refuses while a column uses it)."""

    type: ClassVar[str] = "drop_domain"
    is_destructive: ClassVar[bool] = True
    domain: Domain

    def describe(self) -> str:
        return f"Drop domain '{_label(self.domain)}'"

    def reverse(self) -> Operation:
        return CreateDomain(domain=self.domain)


@dataclass(frozen=True, kw_only=True)
class AlterDomain(Operation):
    """``ALTER DOMAIN``: default, NOT NULL and check (the base type cannot change)."""

    type: ClassVar[str] = "alter_domain"
    old: Domain
    new: Domain

    def describe(self) -> str:
        changed = [what for what, a, b in (
            ("default", self.old.default, self.new.default),
            ("not null", self.old.not_null, self.new.not_null),
            ("check", self.old.check, self.new.check)) if a != b]
        return f"Alter domain '{_label(self.new)}' ({', '.join(changed)})"

    def reverse(self) -> Operation:
        return AlterDomain(old=self.new, new=self.old)


def create_domain_sql(domain: Domain) -> str:
    """``CREATE DOMAIN "s"."n" AS base [DEFAULT ...] [NOT NULL] [CONSTRAINT ... CHECK (...)]``."""
    parts = [f"CREATE DOMAIN {quote_qualified(domain.schema, domain.name)} AS "
             f"{domain.base_type.sql}"]
    if domain.default is not None:
        parts.append(f"DEFAULT {domain.default}")
    if domain.not_null:
        parts.append("NOT NULL")
    if domain.check is not None:
        parts.append(f"CONSTRAINT {quote_ident(check_name(domain))} CHECK ({domain.check})")
    return " ".join(parts)


def alter_domain_sql(old: Domain, new: Domain) -> list[str]:
    """The ``ALTER DOMAIN`` statements taking ``old`` to ``new`` (one per change: the command
    takes a single action)."""
    head = f"ALTER DOMAIN {quote_qualified(new.schema, new.name)}"
    out = []
    if old.default != new.default:
        out.append(f"{head} DROP DEFAULT" if new.default is None
                   else f"{head} SET DEFAULT {new.default}")
    if old.not_null != new.not_null:
        out.append(f"{head} {'SET' if new.not_null else 'DROP'} NOT NULL")
    if old.check != new.check:
        out += [f"{head} DROP CONSTRAINT {quote_ident(name)}" for name in old.check_names]
        if old.check is not None and not old.check_names:  # from the model: our own name
            out.append(f"{head} DROP CONSTRAINT {quote_ident(check_name(old))}")
        if new.check is not None:
            out.append(f"{head} ADD CONSTRAINT {quote_ident(check_name(new))} "
                       f"CHECK ({new.check})")
    return out


def drop_domain_sql(domain: Domain) -> str:
    """``DROP DOMAIN "s"."n"``."""
    return f"DROP DOMAIN {quote_qualified(domain.schema, domain.name)}"


#: The domain operation kinds (:data:`linkgress.schema.operations.ALL_OPERATIONS` holds the
#: others).
DOMAIN_OPERATIONS: tuple[type[Operation], ...] = (CreateDomain, AlterDomain, DropDomain)
