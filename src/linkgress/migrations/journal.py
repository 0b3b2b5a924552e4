"""The journal: the seed's ``__linkgress_migrations (id, name, batch, applied_at)`` history
table plus ``checksum`` and ``stamped`` (recorded without running) columns. Created on first
use (under the migration lock); its name and schema are configurable. Every write happens in
the caller's transaction, so a migration and its journal row commit or roll back together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from linkgress.schema.quoting import quote_ident, quote_qualified

if TYPE_CHECKING:
    from linkgress.connection import RawConnection

DEFAULT_JOURNAL_TABLE = "__linkgress_migrations"


@dataclass(frozen=True)
class JournalRow:
    """One applied migration."""

    id: int
    name: str
    batch: int
    applied_at: datetime
    checksum: str
    stamped: bool = False  # recorded as applied without running (stamp, baseline)


class Journal:
    """Reads and writes the history table on a given connection."""

    def __init__(self, table: str = DEFAULT_JOURNAL_TABLE, schema: str = "public") -> None:
        self.table = table
        self.schema = schema
        self.qualified = quote_qualified(schema, table)

    async def exists(self, conn: RawConnection) -> bool:
        """True when the history table exists."""
        return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", self.qualified))

    async def ensure(self, conn: RawConnection) -> None:
        """Create the schema and table if missing, or add the ``stamped`` column to a journal
        made before it existed (call under the migration lock)."""
        if await self.exists(conn):
            await conn.execute(f"ALTER TABLE {self.qualified} ADD COLUMN IF NOT EXISTS "
                               "stamped boolean NOT NULL DEFAULT false")
            return
        if self.schema != "public":
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
        await conn.execute(self.create_statement())

    def create_statement(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for the history table."""
        return (f"CREATE TABLE IF NOT EXISTS {self.qualified} (\n"
                "  id serial PRIMARY KEY,\n"
                "  name varchar(255) NOT NULL UNIQUE,\n"
                "  batch integer NOT NULL,\n"
                "  applied_at timestamptz NOT NULL DEFAULT now(),\n"
                "  checksum text NOT NULL,\n"
                "  stamped boolean NOT NULL DEFAULT false\n)")

    async def rows(self, conn: RawConnection) -> list[JournalRow]:
        """Every row, oldest first; [] when the table does not exist yet."""
        if not await self.exists(conn):
            return []
        # to_jsonb(j): a journal made before the ``stamped`` column reads as not stamped.
        records = await conn.fetch(
            "SELECT id, name, batch, applied_at, checksum, "
            "coalesce((to_jsonb(j) -> 'stamped')::boolean, false) AS stamped "
            f"FROM {self.qualified} AS j ORDER BY id")
        return [JournalRow(id=r["id"], name=r["name"], batch=r["batch"],
                           applied_at=r["applied_at"], checksum=r["checksum"],
                           stamped=r["stamped"]) for r in records]

    async def is_applied(self, conn: RawConnection, name: str) -> bool:
        """True when ``name`` has a row (the table must exist)."""
        return bool(await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {self.qualified} WHERE name = $1)", name))

    async def max_batch(self, conn: RawConnection) -> int:
        """The highest batch number, 0 for an empty journal."""
        return int(await conn.fetchval(f"SELECT coalesce(max(batch), 0) FROM {self.qualified}"))

    async def record(self, conn: RawConnection, name: str, batch: int, checksum: str, *,
                     stamped: bool = False) -> None:
        """Insert the row for an applied (``stamped``: recorded, not run) migration."""
        await conn.execute(
            f"INSERT INTO {self.qualified} (name, batch, checksum, stamped) "
            "VALUES ($1, $2, $3, $4)", name, batch, checksum, stamped)

    async def remove(self, conn: RawConnection, name: str) -> bool:
        """Delete ``name``'s row; False when it was not there (reverted concurrently)."""
        status = await conn.execute(f"DELETE FROM {self.qualified} WHERE name = $1", name)
        return status != "DELETE 0"
