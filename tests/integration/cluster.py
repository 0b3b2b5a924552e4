"""A private PostgreSQL cluster for tests that restart, stop or kill a server.

Never the shared server: ``initdb`` into a temporary directory, ``pg_ctl`` on a free loopback
port, run as a non-root OS user when the tests run as root (PostgreSQL refuses to run as root).
The server binaries come from ``pg_config --bindir`` (or ``PG_BINDIR``); tests skip, saying
why, only when they are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def server_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                             check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")),
                         reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() \
                and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One private cluster: ``dsn(database)``, ``restart()``, ``stop()``, ``start()``.

    With ``primary``, a streaming replica of that (running) cluster instead of a new one:
    ``pg_basebackup -R`` copies it and configures the standby.
    """

    def __init__(self, bindir: Path, *, primary: Cluster | None = None) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="lg-cluster-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres" if user_exists("postgres") else "nobody"
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        if primary is None:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--no-sync", "--no-instructions")
        else:
            self._run("pg_basebackup", "-D", str(self.data), "-h", "127.0.0.1",
                      "-p", str(primary.port), "-U", "postgres", "-R", "-X", "stream",
                      "--no-sync", "-c", "fast")

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bindir / tool), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        return command

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(self._command(tool, *args), capture_output=True, text=True,
                                cwd=self.root, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr}"
                               f"\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""

    def _pg_ctl_args(self, action: str, *extra: str) -> list[str]:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                   "-c fsync=off -c max_connections=60")
        return ["-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                action, *extra]

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start_sync(self) -> None:
        self._run("pg_ctl", *self._pg_ctl_args("start"))

    async def _pg_ctl(self, action: str, *extra: str) -> None:
        # Through asyncio, so the event loop keeps running (and notices closed sockets) while
        # the server goes down and comes back, as it would in a real service.
        process = await asyncio.create_subprocess_exec(
            *self._command("pg_ctl", *self._pg_ctl_args(action, *extra)), cwd=self.root,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"pg_ctl {action} failed: {err.decode()}\n{self._log_tail()}")

    async def restart(self) -> None:
        await self._pg_ctl("restart", "-m", "fast")

    async def stop(self) -> None:
        await self._pg_ctl("stop", "-m", "fast")

    async def start(self) -> None:
        await self._pg_ctl("start")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def user_exists(name: str) -> bool:
    """Whether the OS user ``name`` exists."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextlib.contextmanager
def private_replica(primary: Cluster) -> Iterator[Cluster]:
    """A started streaming replica of ``primary``, destroyed afterwards."""
    replica = Cluster(primary.bindir, primary=primary)
    try:
        replica.start_sync()
        yield replica
    finally:
        replica.destroy()


@contextlib.contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A started private cluster, destroyed afterwards (skips when binaries are missing)."""
    bindir = server_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: install the "
                    "postgresql package or set PG_BINDIR")
    cluster = Cluster(bindir)
    try:
        cluster.start_sync()
        yield cluster
    finally:
        cluster.destroy()
