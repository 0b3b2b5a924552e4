"""What the differ may drop, and where its notes go.

An object of ``current`` that ``target`` does not declare is dropped only when it is *managed*:
``managed`` (the snapshot recorded after the last successful migration) holds it, or
``manage_all`` is set and it lives in one of ``target``'s schemas. Everything else is left alone
and reported as a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from linkgress.schema.snapshot import Schema, Table

# Tables linkgress keeps for itself (journal, schema state) are never diffed or dropped, even
# if introspection lets one through.
INTERNAL_PREFIX = "__linkgress"

# Sub-objects of a table, by the attribute of Table that lists them.
TABLE_PARTS = ("columns", "uniques", "checks", "indexes", "foreign_keys", "partitions")


def tables_by_key(schema: Schema) -> dict[tuple[str, str], Table]:
    """``{(schema, name): table}`` — lookups stay O(1) on models of hundreds of tables."""
    return {t.key: t for t in schema.tables}


def label(schema: str, name: str) -> str:
    """``schema.name`` for messages (always qualified: notes name exact objects)."""
    return f"{schema}.{name}"


@dataclass
class DiffContext:
    """The comparison's inputs that every per-kind differ needs, plus the notes it collects."""

    target: Schema
    managed: Schema | None = None
    manage_all: bool = False
    notes: list[str] = field(default_factory=list)

    def owns_schema(self, schema: str) -> bool:
        """True when ``manage_all`` makes everything in ``schema`` managed."""
        return self.manage_all and schema in self.target.schemas

    def managed_table(self, schema: str, name: str) -> Table | None:
        """The recorded definition of table ``schema.name``, or None."""
        return None if self.managed is None else self.managed.table(schema, name)

    def may_drop_table(self, schema: str, name: str) -> bool:
        """Whether a table ``target`` no longer declares may be dropped."""
        if name.startswith(INTERNAL_PREFIX):
            return False
        return self.owns_schema(schema) or self.managed_table(schema, name) is not None

    def may_drop_part(self, table: Table, part: str, name: str) -> bool:
        """Whether the column/constraint/index ``name`` (``part`` is a :data:`TABLE_PARTS`
        attribute, or ``"primary_key"``) of ``table`` may be dropped."""
        if self.owns_schema(table.schema):
            return True
        recorded = self.managed_table(table.schema, table.name)
        if recorded is None:
            return False
        if part == "primary_key":
            return recorded.primary_key is not None and recorded.primary_key.name == name
        return any(item.name == name for item in getattr(recorded, part))

    def may_drop_type(self, kind: str, schema: str, name: str) -> bool:
        """Whether an enum (``kind="enums"``), domain (``"domains"``) or sequence
        (``"sequences"``) may be dropped."""
        if self.owns_schema(schema):
            return True
        if self.managed is None:
            return False
        return any(item.key == (schema, name) for item in getattr(self.managed, kind))

    def may_drop_schema(self, schema: str) -> bool:
        """Whether a schema ``target`` no longer uses may be dropped (never ``public``)."""
        if schema == "public" or self.managed is None:
            return False
        return schema in self.managed.schemas

    def unmanaged(self, kind: str, what: str) -> None:
        """Record that an unmanaged object was left alone."""
        self.notes.append(f"unmanaged {kind} '{what}' left alone")
