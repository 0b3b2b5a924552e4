"""``db drop`` and ``db reset``: show what will go (with row estimates), ask, then drop.

Safe by default: on a terminal the command lists every object it will drop and asks ``y/N``;
without a terminal it needs ``--yes``. Objects linkgress does not manage that depend on its
tables (views, other tables' foreign keys) are dropped only with ``--cascade``. The journal
(``__linkgress_migrations``) goes with the schema, so ``migration status`` never reports as
applied what no longer exists; ``db reset`` on a journaled project replays the migration files
(``--from-model``: creates the schema from the model and records the files as applied).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .commands import Env
from .config import Refusal, production_guard
from .journaled import report_migrations

if TYPE_CHECKING:
    from linkgress.client import RawConnection
    from linkgress.context import DbContext
    from linkgress.migrations.journal import Journal
    from linkgress.schema.operations import Operation

# reltuples is -1 for a table never analyzed (PostgreSQL 14+); relpages 0 means empty.
TABLE_SIZES = """
SELECT c.reltuples::float8 AS rows, c.relpages AS pages,
       pg_catalog.pg_size_pretty(pg_catalog.pg_total_relation_size(c.oid)) AS size
  FROM pg_catalog.pg_class c WHERE c.oid = to_regclass($1)
"""


@dataclass
class DropPreview:
    """What ``ensure_deleted()`` will drop, read before dropping anything."""

    operations: list[Operation] = field(default_factory=list)
    sizes: dict[str, str] = field(default_factory=dict)  # describe() -> "~N rows, size"
    schemas: list[str] = field(default_factory=list)  # non-public, dropped if left empty
    cascaded: list[str] = field(default_factory=list)
    journal_rows: int | None = None  # None: no journal table

    @property
    def empty(self) -> bool:
        """True when there is nothing to drop."""
        return not (self.operations or self.schemas or self.journal_rows is not None)

    def lines(self) -> list[str]:
        """One line per object, numbered."""
        items = [op.describe() + (f"  ({self.sizes[op.describe()]})"
                                  if op.describe() in self.sizes else "")
                 for op in self.operations]
        items += [f"Drop schema '{s}' (if nothing else is left in it)" for s in self.schemas]
        items += [f"Drop {c} (not managed by linkgress; CASCADE)" for c in self.cascaded]
        if self.journal_rows is not None:
            items.append(f"Drop the migration journal '{_journal().table}' "
                         f"({self.journal_rows} applied migration(s) recorded)")
        return [f"  {i}. {text}" for i, text in enumerate(items, 1)]


def _journal() -> Journal:
    from linkgress.migrations.journal import Journal

    return Journal()


def _estimate(rows: float, pages: int, size: str) -> str:
    if rows >= 0:
        return f"~{int(rows):,} rows, {size}"
    return f"empty, {size}" if pages == 0 else f"rows not estimated yet, {size}"


async def read_preview(env: Env, db: DbContext) -> DropPreview:
    """Read (without changing anything) what ``db drop`` would remove."""
    from linkgress.schema.cascade import cascade_victims
    from linkgress.schema.existing import read_existing
    from linkgress.schema.plan import merge_schemas, plan_drop
    from linkgress.schema.quoting import quote_qualified
    from linkgress.schema.snapshot import Schema

    manager = env.manager(db, quiet=True)
    async with db.client.acquire() as conn:
        recorded = await manager.executor.read_state(conn)
        owned = merge_schemas(manager.target_schema(), recorded or Schema())
        existing = await read_existing(conn, list(owned.schemas))
        tables = [t for t in owned.tables if t.key in existing.tables]
        views = [v for v in owned.views if v.key in existing.views]
        preview = DropPreview(cascaded=await cascade_victims(conn, [*tables, *views]))
        preview.operations = plan_drop(owned, existing, cascade=bool(preview.cascaded))
        for table in tables:
            row = await conn.fetchrow(TABLE_SIZES, quote_qualified(table.schema, table.name))
            for op in preview.operations:
                if row is not None and getattr(op, "table", None) is table:
                    preview.sizes[op.describe()] = _estimate(row["rows"], row["pages"], row["size"])
        preview.schemas = [s for s in owned.schemas
                           if s != "public" and s in existing.schemas
                           and s != manager.settings.state_schema]
        preview.journal_rows = await _journal_rows(conn)
    return preview


async def _journal_rows(conn: RawConnection) -> int | None:
    journal = _journal()
    if not await journal.exists(conn):
        return None
    return len(await journal.rows(conn))


def _confirm(env: Env, preview: DropPreview, what: str, then: str | None,
             database: str) -> None:
    """Return when the drop may go ahead; :class:`Refusal` otherwise."""
    from linkgress.schema.confirm import stdin_is_tty

    if preview.cascaded and not env.args.cascade:
        raise Refusal("dropping the tables would also drop objects linkgress does not manage: "
                      f"{', '.join(preview.cascaded)}; pass --cascade to drop them too "
                      "(nothing was dropped)")
    if env.args.yes or preview.empty:
        return
    if not stdin_is_tty():
        raise Refusal(f"refusing to {what} without confirmation: stdin is not a terminal; "
                      "pass --yes to confirm (nothing was dropped)")
    env.out.line(f"This will drop, in database '{database}':")
    env.out.lines(preview.lines(), "yellow")
    if then:
        env.out.line(f"then {then}.")
    sys.stderr.write("Do you want to continue? (y/N): ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if answer.strip().lower() not in ("y", "yes"):
        raise Refusal(f"{what}: aborted, nothing was dropped")


async def _drop(env: Env, db: DbContext, preview: DropPreview) -> list[str]:
    """Drop; return one line per object that went."""
    env.out.operation_progress = False  # the list below names each object once
    manager = env.manager(db, quiet=True)
    dropped = await manager.ensure_deleted(cascade=env.args.cascade)
    done = [op.describe() for op in dropped]
    done += [f"Drop {c} (CASCADE)" for c in dropped.cascaded]
    async with manager.executor.locked_transaction() as conn:
        done += [f"Drop schema '{s}'" for s in preview.schemas if not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)", s)]
        journal = _journal()
        if await journal.exists(conn):
            rows = len(await journal.rows(conn))
            await conn.execute(f"DROP TABLE {journal.qualified}")
            done.append(f"Drop the migration journal '{journal.table}' ({rows} applied "
                        "migration(s) forgotten)")
    return done


async def db_drop(env: Env) -> int:
    """Drop what linkgress manages, and the journal (asks first; refused in production)."""
    production_guard("drop the schema", env.args.force, env.environ)
    async with env.open() as db:
        preview = await read_preview(env, db)
        _confirm(env, preview, "drop the schema", None, db.client.database)
        if preview.empty:
            env.out.line("Nothing to drop")
            return 0
        done = await _drop(env, db, preview)
    env.out.lines(f"  {i}. {text}" for i, text in enumerate(done, 1))
    env.out.ok("Schema dropped successfully")
    return 0


async def db_reset(env: Env) -> int:
    """Drop, then replay the migration files (journaled project) or create from the model."""
    production_guard("reset the schema", env.args.force, env.environ)
    async with env.open() as db:
        preview = await read_preview(env, db)
        journaled = bool(preview.journal_rows) or _has_migration_files(env)
        then = ("create the schema from the model" if not journaled else
                f"apply the migration files of {env.migrations_directory}"
                if not env.args.from_model else
                "create the schema from the model and record every migration file as applied")
        _confirm(env, preview, "reset the schema", then, db.client.database)
        done = [] if preview.empty else await _drop(env, db, preview)
        env.out.line("Dropped:" if done else "Nothing to drop")
        env.out.lines(f"  {i}. {text}" for i, text in enumerate(done, 1))
        if journaled:
            result = await env.runner(db).up(baseline=env.args.from_model)
            return report_migrations(env, result, "applied", result.applied)
        created = await env.manager(db, quiet=True).ensure_created()
    env.out.line("Created:")
    env.out.lines(f"  {i}. {op.describe()}" for i, op in enumerate(created, 1))
    env.out.ok(f"Schema reset: dropped {len(done)}, created {len(created)} object(s)")
    return 0


def _has_migration_files(env: Env) -> bool:
    from linkgress.migrations.files import migration_paths

    directory = env.migrations_directory
    return directory.is_dir() and bool(migration_paths(directory))
