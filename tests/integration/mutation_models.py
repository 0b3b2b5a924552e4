"""Entities and a context for the mutation, transaction and error integration tests."""

from __future__ import annotations

import enum
import uuid as uuid_module
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from linkgress import (
    DbContext,
    DbModelConfig,
    Entity,
    PgClient,
    array,
    column,
    jsonb,
    numeric,
    text,
    timestamptz,
    uuid,
    varchar,
)


class Status(enum.Enum):
    ACTIVE = "active"
    BANNED = "banned"
    ODD = "it's \"odd\""  # a label that needs quoting


class Member(Entity):
    id: int
    handle: str = column(varchar(100), unique=True)
    email: str | None = column(text())
    status: Status = column(default=Status.ACTIVE)
    score: int = column(default=0)
    balance: Decimal = column(numeric(12, 2), default=Decimal("0"))
    token: uuid_module.UUID | None = column(uuid())
    settings: Any = column(jsonb(), nullable=True)
    tags: list[str] | None = column(array(text()))
    age: int | None = column(check="age >= 0")
    joined_at: datetime = column(timestamptz(), default_sql="now()")


class Note(Entity):
    id: int
    member_id: int = column(references=Member, on_delete="cascade")
    body: str = column(text())
    stars: int = column(default=0)


class Setting(Entity):
    """Composite primary key, no generated columns."""

    scope: str = column(varchar(50))
    name: str = column(varchar(50))
    value: str | None = column(text())


class LogLine(Entity):
    """A keyless table."""

    line: str = column(text())


class Club(DbContext):
    members = DbContext.table(Member)
    notes = DbContext.table(Note)
    settings = DbContext.table(Setting)
    log_lines = DbContext.table(LogLine)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Member).has_many("notes", Note).with_foreign_key("member_id")
        model.entity(Note).has_one("member", Member).with_foreign_key("member_id")
        model.entity(Setting).has_key("scope", "name")
        model.entity(LogLine).has_no_key()


TABLES = "notes, members, settings, log_lines"

HOSTILE = "Robert'); DROP TABLE members; -- \"$1\" \\ %_ \u2603 \U0001f600 \u00e9\u0301"


async def open_club(dsn: str) -> Club:
    """A context on ``dsn`` with the schema created."""
    db = Club(PgClient(dsn=dsn))
    await db.get_schema_manager().ensure_created()
    return db


@asynccontextmanager
async def club_on(dsn: str) -> AsyncIterator[Club]:
    """A context with its schema, disposed afterwards."""
    db = await open_club(dsn)
    try:
        yield db
    finally:
        await db.dispose()


async def reset(db: Club) -> None:
    """Empty every table (identities restart)."""
    await db.client.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
