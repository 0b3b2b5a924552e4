"""A real PgBouncer in transaction pooling mode, in front of the test server.

Started by the tests themselves: its own config file in a temporary directory, a free loopback
port, ``pool_mode = transaction``, ``auth_type = trust`` (with an auth file naming the user),
every database passed through to the test server. Run as a non-root OS user when the tests run
as root (PgBouncer refuses root). The binary is ``pgbouncer`` on PATH or /usr/sbin/pgbouncer
(Debian package ``pgbouncer``; ``.ci/run`` installs it). Missing, the tests fail under CI
(``CI`` set) and skip elsewhere, saying why. A server behind a Unix socket (the embedded
one) is reached through its socket directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkgress.dsn import DsnTarget, parse_dsn
from tests.integration.cluster import free_port, user_exists


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None


class PgBouncer:
    """One running PgBouncer: ``dsn(database, pgbouncer=True)`` connects through it."""

    def __init__(self, binary: str, server_dsn: str, *, pool_size: int) -> None:
        self.server = parse_dsn(server_dsn).with_defaults()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="lg-pgbouncer-"))
        self.log = self.root / "pgbouncer.log"
        self._pidfile = self.root / "pgbouncer.pid"
        self._write_config(pool_size)
        command = [binary, str(self.root / "pgbouncer.ini")]
        if os.geteuid() == 0:
            entry = self._os_user()
            user = entry.pw_name
            for path in (self.root, *self.root.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            command = ["runuser", "-u", user, "--", *command]
        self._process = subprocess.Popen(command, cwd=self.root, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)

    def _os_user(self) -> pwd.struct_passwd:
        """Who runs PgBouncer when the tests run as root: the owner of the server's socket
        directory when it is reached through one (the embedded server's is private to its
        owner), else ``postgres`` (or ``nobody``)."""
        host = self.server.host or ""
        if host.startswith("/"):
            owner = pwd.getpwuid(os.stat(host).st_uid)
            if owner.pw_uid != 0:
                return owner
        return pwd.getpwnam("postgres" if user_exists("postgres") else "nobody")

    def _write_config(self, pool_size: int) -> None:
        server: DsnTarget = self.server
        user = server.user or "postgres"
        (self.root / "users.txt").write_text(f'"{user}" ""\n')
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={server.host} port={server.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            "pool_mode = transaction\nauth_type = trust\n"
            f"auth_file = {self.root / 'users.txt'}\n"
            f"default_pool_size = {pool_size}\nmax_client_conn = 500\n"
            f"logfile = {self.log}\npidfile = {self._pidfile}\n")

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited ({self._process.returncode}):\n"
                                   f"{self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not listen on port {self.port}:\n{self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log.read_text()[-3000:]
        except OSError:
            return ""

    def dsn(self, database: str, *, pgbouncer: bool = True) -> str:
        flag = "?pgbouncer=true" if pgbouncer else ""
        user = self.server.user or "postgres"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}{flag}"

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(self._pidfile.read_text().strip()), signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_pgbouncer(server_dsn: str, *, pool_size: int = 4) -> Iterator[PgBouncer]:
    """A started PgBouncer in front of ``server_dsn``'s server, stopped afterwards."""
    binary = pgbouncer_binary()
    if binary is None:
        message = ("pgbouncer not found (Debian package `pgbouncer`: "
                   "apt-get install -y pgbouncer)")
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the PgBouncer tests, not skip them")
        pytest.skip(message)
    bouncer = PgBouncer(binary, server_dsn, pool_size=pool_size)
    try:
        bouncer.wait_ready()
        yield bouncer
    finally:
        bouncer.stop()
