"""Helpers shared by the ``test_migrate*`` integration tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import asyncpg

from linkgress import DbContext, DbModelConfig, Entity, PgClient

C = TypeVar("C", bound=DbContext)


@contextlib.asynccontextmanager
async def opened(context_class: type[C], dsn: str, **client_options: Any) -> AsyncIterator[C]:
    """A context of ``context_class`` on ``dsn`` with its own client, disposed afterwards."""
    db = context_class(PgClient(dsn=dsn, **client_options))
    try:
        yield db
    finally:
        await db.dispose()


async def rows(dsn: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a fresh connection and return the rows as tuples."""
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def execute(dsn: str, sql: str, *args: object) -> None:
    """Run one statement on a fresh connection."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def state_rows(dsn: str) -> list[tuple[Any, ...]]:
    """The managed-state rows (name, snapshot text), [] when the table does not exist."""
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass('public.__linkgress_schema_state') "
                                   "IS NOT NULL"):
            return []
        return [tuple(r) for r in await conn.fetch(
            "SELECT state_name, snapshot::text FROM public.__linkgress_schema_state "
            "ORDER BY 1")]
    finally:
        await conn.close()


_NO_COLUMN: Any = object()


def entity(name: str, fields: dict[str, Any]) -> type[Entity]:
    """An entity class built at run time. ``fields`` maps an attribute to its annotation, or to
    ``(annotation, column(...))``."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    for attr, spec in fields.items():
        annotation, declared = spec if isinstance(spec, tuple) else (spec, _NO_COLUMN)
        annotations[attr] = annotation
        if declared is not _NO_COLUMN:
            namespace[attr] = declared
    return type(name, (Entity,), namespace)


def context(tables: dict[str, type[Entity]],
            setup: Callable[[DbModelConfig], None] | None = None) -> type[DbContext]:
    """A fresh DbContext subclass with ``tables`` (attribute -> entity) and ``setup_model``."""
    namespace: dict[str, Any] = {attr: DbContext.table(e) for attr, e in tables.items()}
    if setup is not None:
        def setup_model(self: DbContext, model: DbModelConfig) -> None:
            setup(model)
        namespace["setup_model"] = setup_model
    return type("GeneratedContext", (DbContext,), namespace)
