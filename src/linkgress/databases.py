"""Creating and dropping databases through an admin DSN (tests, the CLI, the demo)."""

from __future__ import annotations

import asyncpg

from linkgress.dsn import parse_dsn
from linkgress.errors import mapped_errors
from linkgress.schema.quoting import quote_ident

__all__ = ["create_database", "drop_database"]


async def create_database(admin_dsn: str, name: str) -> None:
    """Create database ``name`` (any characters; it is quoted) through ``admin_dsn``."""
    sql = f"CREATE DATABASE {quote_ident(name)}"
    with mapped_errors(sql, server=_server_of(admin_dsn)):
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


def _server_of(dsn: str) -> str:
    target = parse_dsn(dsn).with_defaults()
    return f"{target.host}:{target.port}"


async def drop_database(admin_dsn: str, name: str) -> None:
    """Drop database ``name`` if it exists, disconnecting its sessions first.

    Uses ``WITH (FORCE)`` on PostgreSQL 13 and later; on older servers terminates the other
    sessions explicitly before dropping.
    """
    with mapped_errors(f"DROP DATABASE {quote_ident(name)}", server=_server_of(admin_dsn)):
        await _drop_database(admin_dsn, name)


async def _drop_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        if connection.get_server_version().major >= 13:
            await connection.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        else:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            await connection.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)}")
    finally:
        await connection.close()
