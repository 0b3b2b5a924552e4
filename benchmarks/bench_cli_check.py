"""``linkgress db check`` wall time on an in-sync 50-table project (what a CI step or a startup
probe pays), and how much of it is Python starting and importing linkgress.

Bytecode is cached (``PYTHONPYCACHEPREFIX`` in the temporary directory), as for an installed
package, even when ``PYTHONDONTWRITEBYTECODE`` is set. The script writes a 50-table model (a
varchar, a text and an indexed integer column each) to a temporary directory, migrates a fresh
database to it, then runs ``python -m linkgress db check`` ``--repeats`` times as a
subprocess, interleaved with two references: ``python -c pass`` (interpreter start) and
``python -c "import linkgress.cli.app, linkgress.schema.manager"`` (interpreter start + the
imports ``db check`` needs). Reports medians as Markdown::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python benchmarks/bench_cli_check.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import linkgress
from linkgress.testing import postgres_server, temporary_database

SRC = str(Path(linkgress.__file__).resolve().parents[1])
TABLES = 50


def model_source(tables: int) -> str:
    lines = ["from linkgress import DbContext, Entity, column, integer, text, varchar", ""]
    for i in range(tables):
        lines += [f"class T{i}(Entity):", "    id: int",
                  "    name: str = column(varchar(100))",
                  "    body: str | None = column(text())",
                  "    n: int = column(integer(), index=True)", ""]
    lines += ["class Big(DbContext):"]
    lines += [f"    t{i} = DbContext.table(T{i})" for i in range(tables)]
    return "\n".join(lines) + "\n"


def timed(argv: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != expect:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL")
    with (postgres_server() if admin is None else _given(admin)) as server, \
            temporary_database(server) as dsn, tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "big.py").write_text(model_source(TABLES))
        # As an installed package runs: with compiled bytecode (pip writes it at install
        # time), kept out of the source tree; without it every run recompiles linkgress
        # (about 80 ms here).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tmp, SRC]),
               "PYTHONPYCACHEPREFIX": str(cwd / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cli = [sys.executable, "-m", "linkgress", "--context", "big:Big", "--dsn", dsn]
        timed([*cli, "db", "migrate"], cwd, env)  # also writes the bytecode cache
        runs: dict[str, list[float]] = {"python -c pass": [], "imports": [], "db check": []}
        commands = {"python -c pass": [sys.executable, "-c", "pass"],
                    "imports": [sys.executable, "-c",
                                "import linkgress.cli.app, linkgress.schema.manager"],
                    "db check": [*cli, "db", "check"]}
        for _ in range(args.repeats):
            for name, argv in commands.items():
                runs[name].append(timed(argv, cwd, env))
    print(f"| {TABLES} tables, {args.repeats} runs | median | min |")
    print("|---|---|---|")
    for name, values in runs.items():
        print(f"| {name} | {statistics.median(values) * 1000:.0f} ms | "
              f"{min(values) * 1000:.0f} ms |")


class _given:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def __enter__(self) -> str:
        return self.dsn

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
