"""PostgreSQL for test suites: a server, and throwaway databases on it.

The pytest plugin (:mod:`linkgress.testing.plugin`, registered automatically when linkgress is
installed) is built from these helpers; they also work without pytest::

    with postgres_server() as admin_dsn, temporary_database(admin_dsn) as dsn:
        ...  # dsn points at a fresh, empty database, dropped on exit

Everything here is synchronous: each database operation runs on a private event loop in a
helper thread, so it works from sync code, from sync fixtures, and while another event loop
(pytest-asyncio's, anyio's) exists in the calling thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import secrets
import shutil
import socket
import tempfile
import warnings
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from linkgress.testing.migrations import (
        MigrationCheckFailed,
        MigrationSteps,
        MigrationStepsFactory,
        check_migrations,
    )

__all__ = [
    "DATABASE_PREFIX",
    "MigrationCheckFailed",
    "MigrationSteps",
    "MigrationStepsFactory",
    "check_migrations",
    "docker_available",
    "new_database_name",
    "postgres_server",
    "provide_server",
    "run_async",
    "temporary_database",
]

DATABASE_PREFIX = "lg_test_"
"""Every database the helpers create is named ``lg_test_<12 hex digits>``."""

CONTAINER_IMAGE = "postgres:18-alpine"
"""The image used when the server comes from testcontainers (``LINKGRESS_TEST_IMAGE`` overrides)."""

logger = logging.getLogger("linkgress.testing")

_MIGRATION_HELPERS = ("MigrationCheckFailed", "MigrationSteps", "MigrationStepsFactory",
                      "check_migrations")


def __getattr__(name: str) -> Any:
    # Loaded on first use: the pytest plugin imports this package at startup.
    if name in _MIGRATION_HELPERS:
        from linkgress.testing import migrations

        return getattr(migrations, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_T = TypeVar("_T")


def run_async(function: Callable[..., Coroutine[Any, Any, _T]], *args: Any) -> _T:
    """Run ``function(*args)`` to completion on a private event loop in a helper thread."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="linkgress-testing") as executor:
        return executor.submit(lambda: asyncio.run(function(*args))).result()


def new_database_name() -> str:
    """Return a fresh database name, ``lg_test_`` followed by 12 random hex digits."""
    return DATABASE_PREFIX + secrets.token_hex(6)


@contextlib.contextmanager
def temporary_database(admin_dsn: str) -> Iterator[str]:
    """Create a uniquely named database through ``admin_dsn``; yield its DSN; drop it on exit.

    Only the database created here is ever dropped (with ``WITH (FORCE)``, so connections a
    test left open do not block it). If creating fails, nothing is dropped.
    """
    from linkgress.client import create_database, drop_database, dsn_with_database

    name = new_database_name()
    run_async(create_database, admin_dsn, name)
    try:
        yield dsn_with_database(admin_dsn, name)
    finally:
        run_async(drop_database, admin_dsn, name)


def _docker_socket_path() -> str | None:
    host = os.environ.get("DOCKER_HOST", "")
    if host:
        return host.removeprefix("unix://") if host.startswith("unix://") else None
    candidates = ["/var/run/docker.sock", str(Path.home() / ".docker/run/docker.sock")]
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        candidates.append(os.path.join(runtime_dir, "docker.sock"))  # rootless Docker
    return next((path for path in candidates if os.path.exists(path)), None)


def docker_available(timeout: float = 0.5) -> bool:
    """True if a Docker daemon answers ``GET /_ping`` within ``timeout`` seconds.

    Cheap and quiet: no Docker library is imported; a missing socket returns at once. Checks
    ``DOCKER_HOST`` (``unix://`` or plain ``tcp://``; other schemes count as unavailable), else
    the usual socket paths.
    """
    host = os.environ.get("DOCKER_HOST", "")
    try:
        if host.startswith("tcp://"):
            address, _, port = host.removeprefix("tcp://").split("/")[0].rpartition(":")
            sock = socket.create_connection((address, int(port or 2375)), timeout=timeout)
        else:
            path = _docker_socket_path()
            if path is None:
                return False
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(path)
            except OSError:
                sock.close()
                raise
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(64)
    except (OSError, ValueError):
        return False
    return reply.startswith(b"HTTP/1.") and b" 200 " in reply


@contextlib.contextmanager
def _container_server() -> Iterator[str]:
    with warnings.catch_warnings():  # testcontainers' older module paths warn on import
        warnings.simplefilter("ignore")
        try:
            module = importlib.import_module("testcontainers.community.postgres")
        except ImportError:
            module = importlib.import_module("testcontainers.postgres")
    image = os.environ.get("LINKGRESS_TEST_IMAGE") or CONTAINER_IMAGE
    container: Any = module.PostgresContainer(image, driver=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        container.start()
    try:
        yield str(container.get_connection_url())
    finally:
        container.stop()


@contextlib.contextmanager
def _embedded_server() -> Iterator[str]:
    from linkgress.embedded import start_embedded_server, stop_embedded_server

    data_dir = tempfile.mkdtemp(prefix="linkgress-pg-")
    try:
        yield start_embedded_server(data_dir, keep=False)
    finally:
        stop_embedded_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def provide_server() -> Iterator[tuple[str, str]]:
    """Yield (admin DSN, where it came from): :func:`postgres_server` and the pytest plugin's
    ``linkgress_server_dsn`` fixture (which reports the source) are built on it."""
    from linkgress.client import mask_dsn

    for variable in ("LINKGRESS_TEST_DSN", "DATABASE_URL"):
        dsn = os.environ.get(variable, "").strip()
        if dsn:
            yield dsn, f"{variable} ({mask_dsn(dsn)})"
            return
    if docker_available():
        stack = contextlib.ExitStack()
        try:
            dsn = stack.enter_context(_container_server())
        except Exception:
            # Docker answers but cannot run the image (offline, no permission): fall through.
            logger.warning("Docker answered but the PostgreSQL container failed", exc_info=True)
        else:
            with stack:
                yield dsn, f"a testcontainers PostgreSQL ({mask_dsn(dsn)})"
            return
    with _embedded_server() as dsn:
        yield dsn, f"an embedded PostgreSQL ({mask_dsn(dsn)})"


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an admin DSN of a PostgreSQL server for tests, stopping it on exit if started here.

    In this order: ``LINKGRESS_TEST_DSN``; ``DATABASE_URL``; a testcontainers PostgreSQL if a
    Docker daemon answers; else an embedded PostgreSQL in a temporary directory (deleted on
    exit). The DSN must allow ``CREATE DATABASE``.
    """
    with provide_server() as (dsn, source):
        logger.info("PostgreSQL for tests: %s", source)
        yield dsn
