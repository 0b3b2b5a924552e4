"""Offline SQL: the pending migration files rendered as one script, without a database.

``migration up --sql --offline`` is for a DBA who runs the SQL by hand: each file's ``up()`` runs
against a record-only :class:`SchemaBuilder`, and the script wraps the statements, the journal's
creation and one journal row per file in a transaction under the migration lock — so after the
DBA runs it, ``migration status`` shows the files applied, as one batch.

Limits: a file that queries the database (``schema.fetch``/``fetchval``, or a builder call that
reads the catalog) or binds parameters (``execute(sql, *args)``) cannot be rendered and raises
:class:`MigrationError` naming it; the context's
hooks do not run and the managed-state record is not written; a file with ``atomic = False``
is refused (the script is one transaction) (the next online ``migration up``
or ``db migrate`` records it).
"""

from __future__ import annotations

from pathlib import Path

from linkgress.errors import MigrationError, MigrationFileError
from linkgress.schema.executor import MIGRATION_LOCK_KEY
from linkgress.schema.quoting import quote_literal

from .builder import SchemaBuilder
from .files import MigrationFile, load_migrations
from .journal import Journal
from .nonatomic import is_atomic


def select_range(files: list[MigrationFile], after: str | None,
                 to: str | None, directory: Path) -> list[MigrationFile]:
    """The files after ``after`` (assumed applied) up to and including ``to``."""
    names = [f.name for f in files]
    for label, name in (("--from", after), ("--to", to)):
        if name is not None and name not in names:
            raise MigrationFileError(f"{label} {name}: no such migration (the files: "
                                     f"{', '.join(names) or 'none'})", path=str(directory))
    start = names.index(after) + 1 if after is not None else 0
    end = names.index(to) + 1 if to is not None else len(names)
    return files[start:end]


class _RecordingBuilder(SchemaBuilder):
    """Records statements; refuses bound parameters, which a script cannot carry."""

    async def execute(self, sql: str, *args: object) -> str:
        if args:
            raise RuntimeError("execute() with bound parameters")
        return await super().execute(sql)


async def _statements(migration: MigrationFile) -> list[str]:
    if not is_atomic(migration.migration_class):
        raise MigrationError(f"migration {migration.name} has atomic = False: its statements "
                             "cannot run inside the script's transaction; run it online "
                             "(`linkgress migration up`)")
    builder = _RecordingBuilder(None)
    try:
        await migration.instantiate().up(builder)
    except RuntimeError as exc:
        raise MigrationError(f"migration {migration.name} cannot be rendered offline: {exc} "
                             "needs the database; run it online") from exc
    return builder.statements


async def offline_script(directory: str | Path, *, after: str | None = None,
                         to: str | None = None, journal: Journal | None = None) -> list[str]:
    """The lines of a SQL script applying the files after ``after`` up to ``to``."""
    directory = Path(directory)
    journal = journal or Journal()
    chosen = select_range(load_migrations(directory), after, to, directory)
    if not chosen:
        return ["-- nothing to run"]
    lines = [f"-- linkgress: {len(chosen)} migration(s), {chosen[0].name} .. {chosen[-1].name}",
             "BEGIN;", f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY});",
             f"{journal.create_statement()};",
             f"ALTER TABLE {journal.qualified} ADD COLUMN IF NOT EXISTS stamped boolean "
             "NOT NULL DEFAULT false;"]
    for i, migration in enumerate(chosen):
        lines += ["", f"-- {migration.name}"]
        lines += [f"{sql.rstrip().rstrip(';')};" for sql in await _statements(migration)]
        batch = (f"(SELECT coalesce(max(batch), 0) + 1 FROM {journal.qualified})" if i == 0
                 else f"(SELECT max(batch) FROM {journal.qualified})")
        lines.append(f"INSERT INTO {journal.qualified} (name, batch, checksum) VALUES "
                     f"({quote_literal(migration.name)}, {batch}, "
                     f"{quote_literal(migration.checksum)});")
    return [*lines, "", "COMMIT;"]
