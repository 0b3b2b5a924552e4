"""PgBouncer in transaction pooling mode: what ``PgClient(..., pgbouncer=True)`` changes.

In transaction mode PgBouncer gives a client a server connection for one transaction (or one
statement outside a transaction) only; the next one may run on another server connection.
Anything a session keeps between transactions is therefore lost or, worse, found by another
client: named prepared statements, ``SET`` without ``LOCAL``, session advisory locks,
``LISTEN``, temporary tables that outlive a transaction, startup parameters PgBouncer does not
track. With ``pgbouncer=True`` linkgress:

- sets asyncpg's ``statement_cache_size=0``: every statement is sent as the *unnamed* prepared
  statement — one round trip to describe it (parameter and result types), a second one to
  parse it again and run it; linkgress's own cache of compiled SQL text stays on;
- refuses ``server_settings`` that PgBouncer does not track (they would be session state);
- runs ``stream()`` cursors on a SQL-level cursor (``DECLARE ... CURSOR``) inside a
  transaction, not on a named prepared statement;
- refuses the post-commit ``CREATE INDEX CONCURRENTLY`` builds of ``migrate()``, which need a
  session-level lock (run ``migrate()`` on a direct connection to build them).

See docs/pgbouncer.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from linkgress.errors import LinkgressError

__all__ = ["ENV_VARIABLE", "TRACKED_STARTUP_PARAMETERS", "cache_size", "check_server_settings"]

#: The environment variable :meth:`linkgress.PgClient.from_env` reads.
ENV_VARIABLE = "LINKGRESS_PGBOUNCER"

#: Startup parameters PgBouncer tracks per client (lower case); any other one is refused by it.
TRACKED_STARTUP_PARAMETERS = frozenset(
    {"application_name", "client_encoding", "datestyle", "timezone",
     "standard_conforming_strings"})

#: asyncpg's statement cache size when PgBouncer is not in front.
DEFAULT_STATEMENT_CACHE_SIZE = 100


def cache_size(pgbouncer: bool, statement_cache_size: int | None) -> int:
    """The ``statement_cache_size`` to give asyncpg; a positive one with ``pgbouncer=True``
    is a ``ValueError`` (named prepared statements do not survive transaction pooling)."""
    if statement_cache_size is not None and statement_cache_size < 0:
        raise ValueError(f"statement_cache_size must be >= 0, got {statement_cache_size!r}")
    if not pgbouncer:
        return DEFAULT_STATEMENT_CACHE_SIZE if statement_cache_size is None \
            else statement_cache_size
    if statement_cache_size:
        raise ValueError(
            f"statement_cache_size={statement_cache_size!r} cannot be used with "
            "pgbouncer=True: PgBouncer in transaction mode does not keep the named prepared "
            "statements that cache holds (linkgress's compiled-SQL cache stays on)")
    return 0


def check_server_settings(settings: Mapping[str, str] | None) -> None:
    """Raise :class:`~linkgress.errors.LinkgressError` for ``server_settings`` PgBouncer
    would refuse or lose (everything but the startup parameters it tracks)."""
    untracked = sorted(k for k in settings or {} if k.lower() not in TRACKED_STARTUP_PARAMETERS)
    if untracked:
        raise LinkgressError(
            f"server_settings {', '.join(map(repr, untracked))} cannot be used with "
            "pgbouncer=True: they are session state, which PgBouncer in transaction mode does "
            "not keep; set them per role (ALTER ROLE ... SET), or per transaction with "
            "db.transaction(settings={...})")
