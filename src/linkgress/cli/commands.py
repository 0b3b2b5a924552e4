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
    Refusal,
    load_context_class,
    migrations_directory,
    resolve_dsn,
)
from .output import Output

if TYPE_CHECKING:
    from pathlib import Path

    from linkgress.context import DbContext
    from linkgress.migrations import MigrationResult, MigrationRunner
    from linkgress.migrations.runner import MigrationStatus
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
    async def open(self) -> AsyncIterator[DbContext]:
        """An instance of the configured context on the database; disposed afterwards."""
        from linkgress.client import PgClient

        context_class = load_context_class(self.args.context, self.project)
        if getattr(self.args, "create_database", False):
            await self._create_database_if_missing()
        db = context_class(PgClient(dsn=self.dsn(), min_size=0, max_size=4))
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

    out.lines(plan_lines(operations))
    warning = warning_lines(operations)
    if warning:
        out.line()
        out.lines(warning, "yellow")


# -- db -----------------------------------------------------------------------------------------


async def db_migrate(env: Env) -> int:
    """Automatic migration: print the plan, obtain consent for destructive operations, apply."""
    async with env.open() as db:
        applied = await env.manager(db).migrate(
            allow_destructive=env.args.allow_destructive)
    if applied:
        env.out.ok("Migration completed successfully")
    return 0


async def db_analyze(env: Env) -> int:
    """Print what ``db migrate`` would do; change nothing."""
    async with env.open() as db:
        result = await env.manager(db).analyze_full()
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
        result = await env.manager(db).analyze_full()
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


def report_migrations(env: Env, result: MigrationResult, verb: str, names: list[str]) -> int:
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


def out_of_order(entries: list[MigrationStatus]) -> list[str]:
    """Pending files whose names sort before an applied one (written on another branch, say):
    ``up`` would apply them after newer ones."""
    applied = [e.name for e in entries if e.applied]
    newest = max(applied, default=None)
    return [e.name for e in entries
            if not e.applied and not e.file_missing and newest is not None and e.name < newest]


def _warn_journal(env: Env, entries: list[MigrationStatus]) -> None:
    for e in entries:
        if e.checksum_mismatch:
            env.out.line(f"warning: {e.name} was edited after it was applied; the database "
                         "has the old version", "yellow")
        if e.file_missing:
            env.out.line(f"warning: {e.name} is applied but its file is missing", "yellow")


async def migration_up(env: Env) -> int:
    """Apply the pending migration files (``--dry-run``/``--sql``: show their SQL only).

    Refuses (exit 1) when a pending file sorts before an applied one, unless
    ``--out-of-order``; warns about applied files that were edited or are missing.
    """
    dry = env.args.dry_run or env.args.sql
    async with env.open() as db:
        runner = env.runner(db)
        entries = await runner.status()
        late = out_of_order(entries)
        if late and not env.args.out_of_order:
            raise Refusal(f"out of order: {', '.join(late)} sort(s) before migrations already "
                          f"applied (newest: {max(e.name for e in entries if e.applied)}); "
                          "rename the file(s) to sort last, or pass --out-of-order to apply "
                          "them anyway (nothing was run)")
        _warn_journal(env, entries)
        result = await runner.up(dry_run=dry, baseline=env.args.baseline)
    if dry:
        return _dry_run(env, result, env.args.sql)
    return report_migrations(env, result, "applied", result.applied)


async def migration_down(env: Env) -> int:
    """Revert the newest N migrations (default 1), or the last batch."""
    n = env.args.n or 1
    async with env.open() as db:
        runner = env.runner(db)
        if not env.args.batch and n > 1:
            applied = len(await runner.applied_rows())
            if applied < n:
                env.out.line(f"note: {n} requested but only {applied} migration(s) applied; "
                             f"reverting {applied}", "yellow")
        result = await runner.down(n, batch=env.args.batch, dry_run=env.args.dry_run)
    if env.args.dry_run:
        return _dry_run(env, result, False)
    return report_migrations(env, result, "reverted", result.reverted)


async def migration_status(env: Env) -> int:
    """List every migration: applied or pending, batch, time, edited / missing / out-of-order
    flags. ``--check``: exit 1 when anything is pending, edited or missing."""
    async with env.open() as db:
        entries = await env.runner(db).status()
    if not entries:
        env.out.line(f"No migrations in {env.migrations_directory}")
    late = set(out_of_order(entries))
    for e in entries:
        state = "applied" if e.applied else "pending"
        when = f"batch {e.batch}, {e.applied_at:%Y-%m-%d %H:%M:%S %Z}" if e.applied_at else ""
        flags = [*(["EDITED after it was applied"] if e.checksum_mismatch else []),
                 *(["FILE MISSING"] if e.file_missing else []),
                 *(["OUT OF ORDER: older than an applied migration"] if e.name in late
                   else [])]
        colour = "yellow" if flags else ("green" if e.applied else None)
        text = f"{state:8} {e.name}" + (f"  ({when})" if when else "")
        env.out.line(text + "".join(f"  [{f}]" for f in flags), colour)
    if not env.args.check:
        return 0
    problems = _problems(entries)
    if problems:
        env.out.error("migrations not in order: " + "; ".join(problems))
        return 1
    return 0


def _problems(entries: list[MigrationStatus]) -> list[str]:
    counts = (("pending", sum(not e.applied for e in entries)),
              ("edited after being applied", sum(e.checksum_mismatch for e in entries)),
              ("applied with the file missing", sum(e.file_missing for e in entries)))
    return [f"{n} {what}" for what, n in counts if n]


async def demo(env: Env) -> int:
    """Run the demo on the configured server (it uses its own database, linkgress_demo)."""
    from linkgress.demo import run_demo

    await run_demo(env.dsn(), sys.stdout)
    return 0
