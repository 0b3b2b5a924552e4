"""The ``migration ...`` commands: journaled migration files (create, up, down, status).

``up`` and ``status`` read the journal first: pending files that sort before applied ones are
out of order (``up`` refuses them unless ``--out-of-order``), applied files edited since or
missing are flagged, and ``status --check`` turns any of that into exit code 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .commands import Env
from .config import Refusal
from .report import out_of_order

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from linkgress.migrations import MigrationResult, MigrationRunner
    from linkgress.migrations.runner import MigrationStatus
    from linkgress.schema.operations import Operation


async def migration_create(env: Env) -> int:
    """Write a new migration file: from the differ (``--auto``) or a template. ``--auto``
    prints a summary of the operations (destructive and irreversible ones marked, rename hints)
    and formats the file with ``ruff format`` when ruff is installed (``--no-format``: not)."""
    from linkgress.migrations import MigrationScaffold

    if not env.args.auto:
        path = MigrationScaffold(None, env.migrations_directory).scaffold_empty(env.args.name)
        env.out.ok(f"Created {path}")
        _format(env, path)
        return 0
    async with env.open() as db:
        result = await env.manager(db, quiet=True).analyze_full()
        if not result.operations:
            env.out.line("No changes: the database already matches the model; nothing to "
                         "scaffold (leave out --auto for a hand-written migration)")
            return 0
        path = MigrationScaffold(db, env.migrations_directory).write(env.args.name,
                                                                      result.operations)
    env.out.ok(f"Created {path}:")
    for text, colour in summary_lines(result.operations):
        env.out.line(text, colour)
    for note in result.notes:
        env.out.line(f"note: {note}", "cyan")
    _format(env, path)
    return 0


def summary_lines(operations: Sequence[Operation]) -> list[tuple[str, str | None]]:
    """``makemigrations``-style lines: ``+`` creates, ``-`` drops (destructive ones marked),
    ``~`` changes; an operation without a reverse is flagged (its ``down()`` raises)."""
    from linkgress.errors import IrreversibleOperation

    lines: list[tuple[str, str | None]] = []
    for op in operations:
        mark = "+" if op.type.startswith(("create", "add")) else \
            "-" if op.type.startswith("drop") else "~"
        flags = ["destructive: data is lost"] if op.is_destructive else []
        try:
            op.reverse()
        except IrreversibleOperation:
            flags.append("irreversible: down() raises IrreversibleMigration until you edit it")
        colour = "red" if op.is_destructive else "yellow" if flags else None
        lines.append((f"  {mark} {op.describe()}" + "".join(f"  [{f}]" for f in flags), colour))
    return lines


def _format(env: Env, path: Path) -> None:
    """Run ``ruff format`` on the new file (the project's settings apply), when installed."""
    import importlib.util
    import shutil
    import subprocess
    import sys

    if env.args.no_format:
        return
    ruff = ([sys.executable, "-m", "ruff"] if importlib.util.find_spec("ruff")
            else [found] if (found := shutil.which("ruff")) else None)
    if ruff is None:
        return
    try:
        done = subprocess.run([*ruff, "format", "--quiet", str(path)], capture_output=True,
                              text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        env.out.line(f"warning: ruff format did not run: {exc}", "yellow")
        return
    if done.returncode != 0:
        env.out.line(f"warning: ruff format failed: {done.stderr.strip()}", "yellow")


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
        note = (" (atomic = False: runs outside a transaction; shown, not run)"
                if name in result.not_run else "")
        env.out.line(f"-- {name}{note}" if sql_only else f"Would run {name}{note}:", "cyan")
        indent = "" if sql_only else "    "
        env.out.lines(f"{indent}{sql};" for sql in result.sql.get(name, []))
    if not result.pending:
        env.out.line("-- nothing to run" if sql_only else "Nothing to run")
    if result.error is not None:
        env.out.error(str(result.error))
        return 1
    return 0


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
    if env.args.offline:
        from linkgress.migrations.offline import offline_script

        env.out.lines(await offline_script(env.migrations_directory, after=env.args.from_,
                                           to=env.args.to))
        return 0
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
        result = await runner.up(dry_run=dry, baseline=env.args.baseline, to=env.args.to)
    if dry:
        return _dry_run(env, result, env.args.sql)
    return report_migrations(env, result, "applied", result.applied)


async def migration_down(env: Env) -> int:
    """Revert the newest N migrations (default 1), the last batch, or down to a migration
    (``--to NAME`` keeps NAME applied; ``--to base`` reverts every one)."""
    async with env.open() as db:
        runner = env.runner(db)
        n = await _down_count(env, runner)
        if n == 0:
            env.out.line(f"Nothing to revert: {env.args.to} is the newest applied migration"
                         if env.args.to != "base" else "Nothing to revert")
            return 0
        result = await runner.down(n, batch=env.args.batch, dry_run=env.args.dry_run)
    if env.args.dry_run:
        return _dry_run(env, result, False)
    return report_migrations(env, result, "reverted", result.reverted)


async def _down_count(env: Env, runner: MigrationRunner) -> int:
    """How many to revert, saying so when fewer than asked are applied."""
    if env.args.batch:
        return 1  # ignored by down(batch=True)
    if env.args.to is None:
        n: int = env.args.n or 1
        applied = len(await runner.applied_rows()) if n > 1 else n
        if applied < n:
            env.out.line(f"note: {n} requested but only {applied} migration(s) applied; "
                         f"reverting {applied}", "yellow")
        return n
    names = [r.name for r in await runner.applied_rows()]
    if env.args.to == "base":
        return len(names)
    if env.args.to not in names:
        raise Refusal(f"--to {env.args.to}: no such applied migration (applied: "
                      f"{', '.join(names) or 'none'})")
    return len(names) - names.index(env.args.to) - 1


async def migration_status(env: Env) -> int:
    """List every migration: applied or pending, batch, time, edited / missing / out-of-order
    flags. ``--check``: exit 1 when anything is pending, edited or missing."""
    async with env.open() as db:
        entries = await env.runner(db).status()
    late = out_of_order(entries)
    problems = _problems(entries)
    if env.args.format == "json":
        from .report import dumps, migrations_json

        env.out.line(dumps({"migrations": migrations_json(entries, late),
                            "problems": problems}))
    else:
        _print_status(env, entries, set(late))
    if not env.args.check or not problems:
        return 0
    if env.args.format != "json":
        env.out.error("migrations not in order: " + "; ".join(problems))
    return 1


def _print_status(env: Env, entries: list[MigrationStatus], late: set[str]) -> None:
    if not entries:
        env.out.line(f"No migrations in {env.migrations_directory}")
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


async def migration_history(env: Env) -> int:
    """The applied migrations in the order they were applied (the journal), oldest first."""
    async with env.open() as db:
        rows = await env.runner(db).applied_rows()
    if not rows:
        env.out.line("No migration applied yet")
    for row in rows:
        stamped = ", stamped: recorded, not run" if row.stamped else ""
        env.out.line(f"{row.name}  (batch {row.batch}, "
                     f"{row.applied_at:%Y-%m-%d %H:%M:%S %Z}{stamped})")
    return 0


async def migration_stamp(env: Env) -> int:
    """Record NAME (and pending files before it) as applied without running them."""
    async with env.open() as db:
        result = await env.runner(db).stamp(env.args.name)
    for name in result.baselined:
        env.out.line(f"stamped (recorded, not run): {name}", "green")
    if not result.baselined:
        env.out.line(f"Nothing to stamp: {env.args.name} is already applied")
    return 0


async def migration_current(env: Env) -> int:
    """The newest applied migration (the database's current revision), or ``(none)``."""
    async with env.open() as db:
        rows = await env.runner(db).applied_rows()
    env.out.line(rows[-1].name if rows else "(none)")
    return 0


def _problems(entries: list[MigrationStatus]) -> list[str]:
    counts = (("pending", sum(not e.applied for e in entries)),
              ("edited after being applied", sum(e.checksum_mismatch for e in entries)),
              ("applied with the file missing", sum(e.file_missing for e in entries)))
    return [f"{n} {what}" for what, n in counts if n]
