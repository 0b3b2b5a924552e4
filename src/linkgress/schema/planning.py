"""Planning a migration: the normalised model, the recorded state and history, the diff.

Shared by ``analyze()`` (in a transaction that is rolled back, outside the migration lock) and
``migrate()`` (first the same way, to obtain consent without holding the lock, then again on
the migration connection under the lock). See :mod:`linkgress.schema.history` for what the
model's *status* (``new`` / ``current`` / ``superseded``) means.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from linkgress.errors import MigrationError, ModelError
from linkgress.schema.diff import DiffResult, diff
from linkgress.schema.diff.adopt import adopt_existing_names
from linkgress.schema.from_model import schema_from_model
from linkgress.schema.hazards import in_context
from linkgress.schema.history import ModelIdentity, Status, model_status, read_history
from linkgress.schema.introspect import introspect, normalize_target
from linkgress.schema.introspect.casts import check_type_changes, type_changes
from linkgress.schema.introspect.constants import candidates, equal_constant_defaults
from linkgress.schema.introspect.views import print_views, to_print
from linkgress.schema.operations import DropIndex
from linkgress.schema.partitions import keep_foreign_indexes
from linkgress.schema.snapshot import Schema
from linkgress.schema.view_dependents import triggers, with_dependent_views

if TYPE_CHECKING:
    from linkgress.client import PgClient, RawConnection
    from linkgress.model.meta import ModelMeta
    from linkgress.schema.executor import MigrationExecutor


def schemas_in_scope(*snapshots: Schema | None) -> list[str]:
    """Every schema the snapshots use (declared, or holding one of their objects), in order."""
    names: dict[str, None] = {}
    for snap in snapshots:
        if snap is None:
            continue
        names.update(dict.fromkeys(snap.schemas))
        for key in (*(t.key for t in snap.tables), *(e.key for e in snap.enums),
                    *(s.key for s in snap.sequences), *(v.key for v in snap.views),
                    *(d.key for d in snap.domains)):
            names.setdefault(key[0])
    return list(names)


# The recorded snapshot carries the fingerprint of the model it was normalised from (in its
# ``notes``, which never take part in comparisons). When the model, the server version and the
# search_path are unchanged, the recorded snapshot *is* the normalised target, and the costly
# normalisation (PostgreSQL re-printing every default and index) is skipped: that is what keeps
# a no-op migrate() at every service start cheap.
FINGERPRINT_NOTE = "linkgress:model-sha256="


# The model's schema and the digest of its repr() by id(model), the model kept alive with them
# (so the id cannot be reused): a context class builds its model once, and the conversion and
# the digest are then done once per process, not at every migrate().
_MODEL_SCHEMAS: dict[int, tuple[ModelMeta, Schema, str]] = {}


def model_schema(model: ModelMeta) -> tuple[Schema, str]:
    entry = _MODEL_SCHEMAS.get(id(model))
    if entry is None or entry[0] is not model:
        schema = schema_from_model(model)
        # repr() of the frozen snapshot values (tuples, strings, numbers) is deterministic and
        # ten times cheaper than to_json().
        entry = (model, schema, hashlib.sha256(repr(schema).encode()).hexdigest())
        if len(_MODEL_SCHEMAS) >= 64:
            _MODEL_SCHEMAS.clear()
        _MODEL_SCHEMAS[id(model)] = entry
    return entry[1], entry[2]


def schema_digest(target: Schema) -> str:
    for _, schema, digest in _MODEL_SCHEMAS.values():
        if schema is target:
            return digest
    return hashlib.sha256(repr(target).encode()).hexdigest()


async def model_fingerprint(conn: RawConnection, target: Schema) -> str:
    """A digest of the model's schema and of what PostgreSQL's printing depends on."""
    search_path = await conn.fetchval("SELECT current_setting('search_path')")
    payload = repr((schema_digest(target), conn.get_server_version(), search_path))
    return hashlib.sha256(payload.encode()).hexdigest()


def with_fingerprint(schema: Schema, fingerprint: str) -> Schema:
    """``schema`` marked as the normalisation of the model with ``fingerprint``."""
    return replace(schema, notes=(FINGERPRINT_NOTE + fingerprint,))


async def normalized_target(conn: RawConnection, target: Schema,
                            recorded: Schema | None, known: Schema | None = None) -> Schema:
    """``normalize_target(conn, target)``, or the recorded snapshot (or ``known``, an earlier
    result) when it was normalised from the very same model (see ``FINGERPRINT_NOTE``); the
    result carries the fingerprint. Raises :class:`MigrationError` naming the model object
    whose SQL PostgreSQL rejects."""
    fingerprint = await model_fingerprint(conn, target)
    for earlier in (recorded, known):
        if earlier is not None and FINGERPRINT_NOTE + fingerprint in earlier.notes:
            return earlier
    try:
        normalized = await normalize_target(conn, target)
    except ModelError as exc:  # PostgreSQL rejected the model's SQL: name it, chain its error
        raise MigrationError(f"{exc}\n  no schema change was made") from (exc.__cause__ or exc)
    return with_fingerprint(normalized, fingerprint)


def _reading_failed(exc: asyncpg.PostgresError) -> MigrationError:
    return MigrationError(f"reading the database schema failed: {exc}; "
                          "no schema change was made")


async def _keep_foreign_indexes(conn: RawConnection, result: DiffResult) -> DiffResult:
    """``result`` without the index drops that would take an index linkgress did not make
    (see :mod:`linkgress.schema.partitions`), with a note for each."""
    kept, notes = await keep_foreign_indexes(conn, result.operations)
    if not notes:
        return result
    return DiffResult(operations=kept, notes=[*result.notes, *notes], blocked=result.blocked)


def legacy_fingerprints(recorded: Schema | None) -> tuple[str, ...]:
    """The model fingerprints a recorded snapshot names (see ``FINGERPRINT_NOTE``)."""
    if recorded is None:
        return ()
    return tuple(n[len(FINGERPRINT_NOTE):] for n in recorded.notes
                 if n.startswith(FINGERPRINT_NOTE))


T = TypeVar("T")


async def _on_connection(client: PgClient, conn: RawConnection | None,
                         work: Callable[[RawConnection], Awaitable[T]]) -> T:
    """``work`` on ``conn`` (the migration's, under the lock) or, without it, on a connection
    borrowed from the pool for the call."""
    if conn is not None:
        return await work(conn)
    async with client.acquire() as own:
        return await work(own)


async def _with_equal_defaults(client: PgClient, conn: RawConnection | None, current: Schema,
                               target: Schema) -> Schema:
    """``target`` with defaults equal as constants to ``current``'s printed as there (see
    :mod:`linkgress.schema.introspect.constants`); no round trip when no printing differs."""
    if not candidates(current, target):
        return target
    return await _on_connection(
        client, conn, lambda c: equal_constant_defaults(c, current, target))


async def _with_printed_views(client: PgClient, conn: RawConnection | None, current: Schema,
                              target: Schema) -> Schema:
    """``target`` with the queries of its existing views printed by PostgreSQL (see
    :mod:`linkgress.schema.introspect.views`); no round trip when every one matches."""
    if not to_print(current, target):
        return target
    return await _on_connection(client, conn, lambda c: print_views(c, current, target))


async def _after_diff(client: PgClient, conn: RawConnection | None, result: DiffResult,
                      target: Schema) -> DiffResult:
    """The diff completed with what only the database knows: index drops that would take an
    index linkgress did not make, views that read what the plan changes."""
    if not (triggers(result.operations) or any(type(op) is DropIndex
                                               for op in result.operations)):
        return result

    async def complete(c: RawConnection) -> DiffResult:
        done = result
        if any(type(op) is DropIndex for op in done.operations):
            done = await _keep_foreign_indexes(c, done)
        return await with_dependent_views(c, done, target)

    return await _on_connection(client, conn, complete)


@dataclass
class Planned:
    """One planning of a migration: the diff and what it was computed from."""

    result: DiffResult
    normalized: Schema
    recorded: Schema | None
    current: Schema
    identity: ModelIdentity
    history: list[dict[str, Any]]
    server_version: int = 0  # the server's major version

    @property
    def status(self) -> Status:
        """``new``, ``current`` or ``superseded`` (see :mod:`linkgress.schema.history`)."""
        return model_status(self.history, self.identity, legacy_fingerprints(self.recorded))


@dataclass
class _Read:
    recorded: Schema | None
    normalized: Schema
    identity: ModelIdentity
    history: list[dict[str, Any]]
    server_version: int


async def _read(conn: RawConnection, executor: MigrationExecutor, target: Schema,
                known: Schema | None) -> _Read:
    recorded = await executor.read_state(conn)
    normalized = await normalized_target(conn, target, recorded, known)
    fingerprint = legacy_fingerprints(normalized)[0]
    settings = executor.settings
    history = await read_history(conn, settings.qualified_state_table, settings.state_name)
    return _Read(recorded, normalized, ModelIdentity(schema_digest(target), fingerprint),
                 history, conn.get_server_version().major)


async def plan_migration(client: PgClient, executor: MigrationExecutor, target: Schema, *,
                         exclude: tuple[str, ...], manage_all: bool,
                         conn: RawConnection | None = None,
                         known: Schema | None = None, scope: tuple[str, ...] = ()) -> Planned:
    """Plan on ``conn`` (the migration connection, under the lock) or, without it, in a
    transaction that is rolled back, then with the pool's concurrent introspection.
    ``known`` is an earlier normalisation of the model, reused when still valid. ``scope``
    adds schemas to read (the context's default schema) besides those the model and the
    recorded state use: their unmanaged objects become notes."""
    try:
        if conn is None:
            async with client.acquire() as own:
                tr = own.transaction()
                await tr.start()
                try:
                    read = await _read(own, executor, target, known)
                finally:
                    await tr.rollback()
        else:
            read = await _read(conn, executor, target, known)
        in_scope = list(dict.fromkeys([*schemas_in_scope(target, read.recorded), *scope]))
        current = await introspect(client, in_scope,
                                   exclude=exclude, connection=conn)
        compared = await _with_equal_defaults(client, conn, current, read.normalized)
        compared = await _with_printed_views(client, conn, current, compared)
        # Recorded with the names it adopted, so that they are the ones linkgress manages.
        compared = adopt_existing_names(current, compared)
        normalized = adopt_existing_names(current, read.normalized)
        result = await _after_diff(client, conn, diff(current, compared, managed=read.recorded,
                                                      manage_all=manage_all), compared)
    except asyncpg.PostgresError as exc:
        raise _reading_failed(exc) from exc
    if type_changes(result.operations):
        await _check_casts(client, conn, result)
    result = replace(result, operations=in_context(result.operations, read.server_version))
    return Planned(result, normalized, read.recorded, current, read.identity, read.history,
                   read.server_version)


async def _check_casts(client: PgClient, conn: RawConnection | None, result: DiffResult) -> None:
    """Refuse, before anything runs, a type change PostgreSQL cannot carry out (see
    :mod:`linkgress.schema.introspect.casts`)."""
    await _on_connection(client, conn, lambda c: check_type_changes(c, result.operations))
