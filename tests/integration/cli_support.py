"""Running the ``linkgress`` command in tests: a subprocess with a controlled environment,
without a terminal (:class:`Cli`) or in a real pseudo-terminal (:meth:`Cli.in_terminal`)."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import asyncpg

import linkgress

SRC = str(Path(linkgress.__file__).resolve().parents[1])
CLEARED = ("DATABASE_URL", "LINKGRESS_TEST_DSN", "LINKGRESS_ENV", "APP_ENV", "CI", "DB_HOST",
           "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
MODELS = """
from linkgress import DbContext, Entity, column, text, varchar


class User(Entity):
    id: int
    username: str = column(varchar(100))
    email: str = column(text(), unique=True)


class App(DbContext):
    users = DbContext.table(User)


class UserSlim(Entity):
    id: int
    username: str = column(varchar(100))


class AppSlim(DbContext):
    '''Drops users.email: a destructive change.'''

    users = DbContext.table(UserSlim)
"""


class Cli:
    """Runs ``python -m linkgress`` in ``cwd`` with a controlled environment."""

    def __init__(self, cwd: Path, dsn: str) -> None:
        self.cwd = cwd
        self.dsn = dsn
        self.env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        self.env["PYTHONPATH"] = os.pathsep.join([str(cwd), SRC])

    def argv(self, args: tuple[str, ...], dsn: bool) -> list[str]:
        return [sys.executable, "-m", "linkgress", *args, *(["--dsn", self.dsn] if dsn else [])]

    def __call__(self, *args: str, dsn: bool = True, env: dict[str, str] | None = None,
                 stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(args, dsn), cwd=self.cwd,
                              env={**self.env, **(env or {})},
                              input=stdin, stdin=None if stdin is not None else
                              subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                              check=False)

    def in_terminal(self, *args: str, answer: str | None = None, prompt: str = "(y/N)",
                    env: dict[str, str] | None = None) -> tuple[int, str]:
        """Run with stdin, stdout and stderr on a pseudo-terminal; when ``prompt`` appears,
        type ``answer``. Returns the exit code and everything the terminal showed."""
        master, slave = pty.openpty()
        proc = subprocess.Popen(self.argv(args, True), cwd=self.cwd,
                                env={**self.env, **(env or {})},
                                stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        seen = b""
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
                if answer is not None and prompt.encode() in seen:
                    os.write(master, answer.encode() + b"\n")
                    answer = None
            return proc.wait(timeout=30), seen.decode(errors="replace").replace("\r\n", "\n")
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()


APP = ("--context", "models:App")
SLIM = ("--context", "models:AppSlim")


def sql(cli: Cli, *statements: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(cli.dsn)
        try:
            rows: list[asyncpg.Record] = []
            for statement in statements:
                rows = await conn.fetch(statement)
            return rows
        finally:
            await conn.close()

    return asyncio.run(run())


def run_script(cli: Cli, script: str) -> None:
    """Run a SQL script as psql would (the simple query protocol)."""
    async def run() -> None:
        conn = await asyncpg.connect(cli.dsn)
        try:
            await conn.execute(script)
        finally:
            await conn.close()

    asyncio.run(run())


def table_exists(cli: Cli, name: str) -> bool:
    return bool(sql(cli, f"SELECT to_regclass('{name}') IS NOT NULL AS x")[0]["x"])


MIGRATION = textwrap.dedent("""\
    from linkgress import Migration, SchemaBuilder


    class M(Migration):
        async def up(self, schema: SchemaBuilder) -> None:
            await schema.execute("CREATE TABLE {name} (id int)")

        async def down(self, schema: SchemaBuilder) -> None:
            await schema.execute("DROP TABLE {name}")
    """)


def write_migration(cli: Cli, stem: str, table: str) -> None:
    directory = cli.cwd / "migrations"
    directory.mkdir(exist_ok=True)
    (directory / f"{stem}.py").write_text(MIGRATION.format(name=table))
