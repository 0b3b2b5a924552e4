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
from typing import TYPE_CHECKING

from .config import (
    ProjectSettings,
    load_context_class,
    migrations_directory,
    production_guard,
    resolve_dsn,
)
from .output import Output

if TYPE_CHECKING:
    from pathlib import Path

    from linkgress.context import DbContext
    from linkgress.migrations import MigrationResult, MigrationRunner
    from linkgress.schema.operations import Operation


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
    async def open(self) -> AsyncIterator[DbContext]:
        """An instance of the configured context on the database; disposed afterwards."""
        from linkgress.client import PgClient

        context_class = load_context_class(self.args.context, self.project)
        db = context_class(PgClient(dsn=self.dsn(), min_size=0, max_size=4))
        try:
            yield db
        finally:
            await db.dispose()

    def runner(self, db: DbContext) -> MigrationRunner:
        """A runner printing a progress line per migration on a terminal."""
        from linkgress.migrations import MigrationRunner

        return MigrationRunner(db, migrations_directory=self.migrations_directory,
                               progress=lambda action, name: self.out.progress(
                                   f"{action} {name}"))


def _plan(out: Output, operations: list[Operation]) -> None:
    from linkgress.schema.confirm import plan_lines, warning_lines

    out.lines(plan_lines(operations))
    warning = warning_lines(operations)
    if warning:
        out.line()
        out.lines(warning, "yellow")


# -- db -----------------------------------------------------------------------------------------


async def db_migrate(env: Env) -> int:
    """Automatic migration: print the plan, obtain consent for destructive operations, apply."""
    async with env.open() as db:
        applied = await db.get_schema_manager().migrate(
            allow_destructive=env.args.allow_destructive,
            defer_destructive=env.args.defer_destructive)
    if applied:
        env.out.ok("Migration completed successfully")
    return 0


async def db_contract(env: Env) -> int:
    """Apply the destructive operations a ``db migrate --defer-destructive`` deferred."""
    async with env.open() as db:
        applied = await db.get_schema_manager().contract(
            allow_destructive=env.args.allow_destructive)
    env.out.ok(f"Contract applied {len(applied)} operation(s)" if applied
               else "Nothing to contract")
    return 0


async def db_analyze(env: Env) -> int:
    """Print what ``db migrate`` would do; change nothing."""
    async with env.open() as db:
        result = await db.get_schema_manager().analyze_full()
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
    async with env.open() as db:
        result = await db.get_schema_manager().analyze_full()
    operations = result.operations
    if not operations:
        env.out.ok("In sync: the database matches the model")
        _notes(env.out, result.notes)
        return 0
    env.out.line(f"Drift: the database differs from the model ({len(operations)} pending "
                 "operation(s))", "red")
    _plan(env.out, operations)
    _notes(env.out, result.notes)
    return 1


async def db_sql(env: Env) -> int:
    """Print the SQL ``db migrate`` would run, as a script."""
    from linkgress.schema.ddl import render

    async with env.open() as db:
        operations = await db.get_schema_manager().analyze()
    if not operations:
        env.out.line("-- no changes: the database matches the model")
    for op in operations:
        env.out.line(f"-- {op.describe()}")
        env.out.lines(f"{sql};" for sql in render(op))
    return 0


async def db_create(env: Env) -> int:
    """``ensure_created()``: create whatever of the model is missing."""
    async with env.open() as db:
        created = await db.get_schema_manager().ensure_created()
    env.out.lines(f"  {i}. {op.describe()}" for i, op in enumerate(created, 1))
    env.out.ok("Schema created successfully" if created else "Schema already exists")
    return 0


async def db_drop(env: Env) -> int:
    """``ensure_deleted()``: drop what linkgress manages (refused in production)."""
    production_guard("drop the schema", env.args.force, env.environ)
    async with env.open() as db:
        dropped = await db.get_schema_manager().ensure_deleted()
    env.out.lines(f"  {i}. {op.describe()}" for i, op in enumerate(dropped, 1))
    env.out.ok("Schema dropped successfully")
    return 0


async def db_reset(env: Env) -> int:
    """Drop and create again (refused in production)."""
    production_guard("reset the schema", env.args.force, env.environ)
    async with env.open() as db:
        manager = db.get_schema_manager()
        dropped = await manager.ensure_deleted()
        created = await manager.ensure_created()
    env.out.ok(f"Schema reset: dropped {len(dropped)}, created {len(created)} object(s)")
    return 0


# -- migration ----------------------------------------------------------------------------------


async def migration_create(env: Env) -> int:
    """Write a new migration file: from the differ (``--auto``) or a template."""
    from linkgress.migrations import MigrationScaffold, NoChangesError

    if not env.args.auto:
        path = MigrationScaffold(None, env.migrations_directory).scaffold_empty(env.args.name)
        env.out.ok(f"Created {path}")
        return 0
    async with env.open() as db:
        try:
            path = await MigrationScaffold(db, env.migrations_directory).scaffold(env.args.name)
        except NoChangesError as exc:
            env.out.line(f"No changes: {exc}")
            return 0
    env.out.ok(f"Created {path}")
    return 0


def _report(env: Env, result: MigrationResult, verb: str, names: list[str]) -> int:
    out = env.out
    if out.tty and names:  # each was announced by a progress line already
        batch = f" (batch {result.batch})" if verb == "applied" and result.batch else ""
        out.ok(f"{verb.capitalize()} {len(names)} migration(s){batch}")
    else:
        for name in names:
            out.line(f"{verb}: {name}", "green")
    if result.baseline:
        out.line("baseline: created the schema from the model", "green")
    for name in result.baselined:
        out.line(f"baselined (recorded, not run): {name}", "green")
    for name in result.failed:
        out.line(f"failed: {name}", "red")
    for name in result.pending if not result.dry_run else []:
        out.line(f"not run: {name}", "yellow")
    if result.error is not None:
        out.error(str(result.error))
        return 1
    if not names and not result.baseline:
        out.line("Nothing to do: no pending migrations" if verb == "applied"
                 else "Nothing to revert")
    return 0


def _dry_run(env: Env, result: MigrationResult, sql_only: bool) -> int:
    for name in result.pending:
        env.out.line(f"-- {name}" if sql_only else f"Would run {name}:", "cyan")
        indent = "" if sql_only else "    "
        env.out.lines(f"{indent}{sql};" for sql in result.sql.get(name, []))
    if not result.pending:
        env.out.line("-- nothing to run" if sql_only else "Nothing to run")
    if result.error is not None:
        env.out.error(str(result.error))
        return 1
    return 0


async def migration_up(env: Env) -> int:
    """Apply the pending migration files (``--dry-run``/``--sql``: show their SQL only)."""
    dry = env.args.dry_run or env.args.sql
    async with env.open() as db:
        result = await env.runner(db).up(dry_run=dry, baseline=env.args.baseline)
    if dry:
        return _dry_run(env, result, env.args.sql)
    return _report(env, result, "applied", result.applied)


async def migration_down(env: Env) -> int:
    """Revert the newest N migrations (default 1), or the last batch."""
    async with env.open() as db:
        result = await env.runner(db).down(env.args.n or 1, batch=env.args.batch,
                                           dry_run=env.args.dry_run)
    if env.args.dry_run:
        return _dry_run(env, result, False)
    return _report(env, result, "reverted", result.reverted)


async def migration_status(env: Env) -> int:
    """List every migration: applied or pending, batch, time, edited / missing flags."""
    async with env.open() as db:
        entries = await env.runner(db).status()
    if not entries:
        env.out.line(f"No migrations in {env.migrations_directory}")
    for e in entries:
        state = "applied" if e.applied else "pending"
        when = f"batch {e.batch}, {e.applied_at:%Y-%m-%d %H:%M:%S %Z}" if e.applied_at else ""
        flags = [*(["EDITED after it was applied"] if e.checksum_mismatch else []),
                 *(["FILE MISSING"] if e.file_missing else [])]
        colour = "yellow" if flags else ("green" if e.applied else None)
        text = f"{state:8} {e.name}" + (f"  ({when})" if when else "")
        env.out.line(text + "".join(f"  [{f}]" for f in flags), colour)
    return 0


async def demo(env: Env) -> int:
    """Run the demo on the configured server (it uses its own database, linkgress_demo)."""
    from linkgress.demo import run_demo

    await run_demo(env.dsn(), sys.stdout)
    return 0
