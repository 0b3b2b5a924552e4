"""The CLI's commands: one small async function each, returning the exit code.

Every command gets an :class:`Env` (parsed arguments, output, project settings) and opens the
context only if it needs the database.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import (
    ProjectSettings,
    load_context_class,
    migrations_directory,
    resolve_dsn,
)
from .output import Output

if TYPE_CHECKING:
    from pathlib import Path

    from linkgress.context import DbContext
    from linkgress.migrations import MigrationRunner
    from linkgress.schema.manager import DbSchemaManager
    from linkgress.schema.operations import Operation


MISSING_DATABASE = "3D000"  # invalid_catalog_name


@dataclass
class Env:
    """What a command works with."""

    args: argparse.Namespace
    out: Output
    environ: Mapping[str, str]
    project: ProjectSettings
    _dsn: str | None = field(default=None, init=False)

    def dsn(self) -> str:
        """The database DSN (the embedded server is started on first need)."""
        if self._dsn is None:
            self._dsn = resolve_dsn(self.args.dsn, self.environ, self.out.err)
        return self._dsn

    @property
    def migrations_directory(self) -> Path:
        """The migrations directory."""
        return migrations_directory(self.args.migrations_directory, self.project)

    @asynccontextmanager
    async def open(self, *, connections: int = 4) -> AsyncIterator[DbContext]:
        """An instance of the configured context on the database (a pool of up to
        ``connections``); disposed afterwards."""
        from linkgress.client import PgClient

        context_class = load_context_class(self.args.context, self.project)
        if getattr(self.args, "create_database", False):
            await self._create_database_if_missing()
        db = context_class(PgClient(dsn=self.dsn(), min_size=0, max_size=connections))
        try:
            yield db
        finally:
            await db.dispose()

    async def _create_database_if_missing(self) -> None:
        from linkgress.client import PgClient, create_database
        from linkgress.dsn import dsn_with_database, parse_dsn

        probe = PgClient(dsn=self.dsn(), min_size=0, max_size=1)
        try:
            await probe.fetchval("SELECT 1")
            return
        except Exception as exc:
            name = parse_dsn(self.dsn()).database
            if getattr(exc, "sqlstate", None) != MISSING_DATABASE or not name:
                raise
        finally:
            await probe.close()
        await create_database(dsn_with_database(self.dsn(), "postgres"), name)
        self.out.err.write(f"linkgress: created database {name!r}\n")
        self.out.err.flush()

    def lock_timeouts(self) -> tuple[float, float]:
        """``(lock_timeout, lock_wait_timeout)``: the flags, else ``[tool.linkgress]``, else
        ``migrate()``'s defaults (5 s, 60 s)."""
        args, project = self.args, self.project
        return (float(getattr(args, "lock_timeout", None) or project.lock_timeout or 5.0),
                float(getattr(args, "lock_wait_timeout", None) or project.lock_wait_timeout
                      or 60.0))

    def manager(self, db: DbContext, *, quiet: bool = False) -> DbSchemaManager:
        """``db``'s schema manager with the configured lock timeouts."""
        lock_timeout, lock_wait_timeout = self.lock_timeouts()
        return db.get_schema_manager(quiet=quiet, lock_timeout=lock_timeout,
                                     lock_wait_timeout=lock_wait_timeout)

    def runner(self, db: DbContext) -> MigrationRunner:
        """A runner printing a progress line per migration on a terminal."""
        from linkgress.migrations import MigrationRunner

        lock_timeout, lock_wait_timeout = self.lock_timeouts()
        return MigrationRunner(db, migrations_directory=self.migrations_directory,
                               lock_timeout=lock_timeout, lock_wait_timeout=lock_wait_timeout,
                               progress=lambda action, name: self.out.progress(
                                   f"{action} {name}"))


def _plan(out: Output, operations: list[Operation]) -> None:
    from linkgress.schema.confirm import plan_lines, warning_lines
    from linkgress.schema.hazards import hazard_lines

    if out.colour:
        out.plan(operations)
    else:
        out.lines(plan_lines(operations))
    hazards = hazard_lines(operations)
    if hazards:
        out.lines(hazards, "dim")
    warning = warning_lines(operations)
    if warning:
        out.line()
        out.lines(warning, "yellow")


# -- db -----------------------------------------------------------------------------------------


async def db_migrate(env: Env) -> int:
    """Automatic migration: print the plan, obtain consent for destructive operations, apply."""
    async with env.open() as db:
        applied = await env.manager(db).migrate(
            allow_destructive=env.args.allow_destructive,
            defer_destructive=env.args.defer_destructive, online=env.args.online)
    if applied:
        env.out.ok(f"Migration completed successfully{env.out.elapsed()}")
    return 0


async def db_contract(env: Env) -> int:
    """Apply the destructive operations a ``db migrate --defer-destructive`` deferred."""
    async with env.open() as db:
        applied = await env.manager(db).contract(
            allow_destructive=env.args.allow_destructive)
    env.out.ok(f"Contract applied {len(applied)} operation(s)" if applied
               else "Nothing to contract")
    return 0


async def db_analyze(env: Env) -> int:
    """Print what ``db migrate`` would do; change nothing."""
    async with env.open() as db:
        result = await env.manager(db).analyze_full()
    if env.args.format == "json":
        from .report import dumps, operation_json

        env.out.line(dumps({"operations": [operation_json(op) for op in result.operations],
                            "notes": result.notes}))
        return 0
    if result.operations:
        _plan(env.out, result.operations)
    else:
        env.out.line("Schema is up to date: no pending migrations")
    _notes(env.out, result.notes)
    return 0


def _notes(out: Output, notes: list[str]) -> None:
    for note in notes:
        out.line(f"note: {note}", "dim")


async def db_check(env: Env) -> int:
    """Exit 1 when the database differs from the model (CI drift check), 0 when in sync."""
    # One connection: a short-lived process pays each connection's start-up (a server
    # backend, TLS negotiation) in full, and on a local server reading the catalogs over
    # several connections cost more than it saved (0.29 s -> 0.23 s for 50 tables).
    async with env.open(connections=1) as db:
        result = await env.manager(db).analyze_full()
        journal = await _journal_json(env, db) if env.args.format == "json" else None
    operations = result.operations
    if env.args.format == "json":
        from .report import dumps, operation_json

        env.out.line(dumps({"in_sync": not operations,
                            "operations": [operation_json(op) for op in operations],
                            "notes": result.notes, "migrations": journal}))
        return 1 if operations else 0
    if not operations:
        env.out.ok("In sync: the database matches the model")
        _notes(env.out, result.notes)
        return 0
    env.out.line(f"Drift: the database differs from the model ({len(operations)} pending "
                 "operation(s))", "red")
    _plan(env.out, operations)
    _notes(env.out, result.notes)
    return 1


async def _journal_json(env: Env, db: DbContext) -> list[dict[str, Any]] | None:
    from linkgress.migrations.journal import Journal

    from .report import migrations_json, out_of_order

    async with db.client.acquire() as conn:
        has_journal = await Journal().exists(conn)
    if not has_journal and not env.migrations_directory.is_dir():
        return None
    entries = await env.runner(db).status()
    return migrations_json(entries, out_of_order(entries))


async def db_sql(env: Env) -> int:
    """Print the SQL ``db migrate`` would run, as a script."""
    from linkgress.schema.ddl import render

    async with env.open() as db:
        operations = await env.manager(db).analyze()
    if not operations:
        env.out.line("-- no changes: the database matches the model")
    for op in operations:
        env.out.line(f"-- {op.describe()}")
        env.out.lines(f"{sql};" for sql in render(op))
    return 0


async def db_create(env: Env) -> int:
    """``ensure_created()``: create whatever of the model is missing."""
    env.out.operation_progress = False  # the list below names each object once
    async with env.open() as db:
        created = await env.manager(db, quiet=True).ensure_created()
    env.out.lines(f"  {i}. {op.describe()}" for i, op in enumerate(created, 1))
    env.out.ok("Schema created successfully" if created else "Schema already exists")
    return 0


async def db_seed(env: Env) -> int:
    """Create what is missing of the schema, then await the project's seeding function with
    the open context (``[tool.linkgress] seed = "module:function"``, or ``--seed``)."""
    from .config import load_seed_function

    seed = load_seed_function(env.args.seed, env.project)
    env.out.operation_progress = False  # the list below names each object once
    async with env.open() as db:
        created = await env.manager(db, quiet=True).ensure_created()
        env.out.lines(f"  {i}. {op.describe()}" for i, op in enumerate(created, 1))
        try:
            await seed(db)
        except Exception as exc:
            raise SeedFailed(f"seed {seed.__module__}:{seed.__qualname__} failed: "
                             f"{type(exc).__name__}: {exc}") from exc
    env.out.ok(f"Seeded ({seed.__module__}:{seed.__qualname__})")
    return 0


class SeedFailed(Exception):
    """The seeding function raised (exit 1; the message names it and the error)."""


async def demo(env: Env) -> int:
    """Run the demo on the configured server (it uses its own database, linkgress_demo)."""
    from linkgress.demo import run_demo

    await run_demo(env.dsn(), sys.stdout)
    return 0
