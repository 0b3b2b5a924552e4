"""migrate() and analyze() against real PostgreSQL: the flow, consent, hooks, lock, workers."""

from __future__ import annotations

import enum
import io
import logging
import sys
import threading
from typing import Any, ClassVar

import anyio
import asyncpg
import pytest

from linkgress import (
    DatabaseClient,
    DatabaseError,
    DbContext,
    DbModelConfig,
    Entity,
    MigrationAborted,
    MigrationError,
    MigrationLockTimeout,
    Operation,
    column,
    varchar,
)
from linkgress.schema.executor import MIGRATION_LOCK_KEY
from tests.integration.catalog import dump
from tests.integration.migrate_support import execute, opened, rows, state_rows


class Note(Entity):
    id: int
    title: str = column(varchar(100))
    body: str | None


class NotesV1(DbContext):
    notes = DbContext.table(Note)


class NoteV2(Entity):
    id: int
    title: str = column(varchar(100))
    views: int = column(default=0)


class Tag(Entity):
    id: int
    note_id: int = column(references=NoteV2, on_delete="cascade", index=True)
    label: str


class NotesV2(DbContext):
    """V1 -> V2: drop notes.body, add notes.views, index notes.title, new table tags + FK."""

    notes = DbContext.table(NoteV2)
    tags = DbContext.table(Tag)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(NoteV2).has_index("ix_notes_title", "title")


@pytest.fixture
def no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)


async def _v1_with_rows(dsn: str) -> None:
    async with opened(NotesV1, dsn) as db:
        await db.get_schema_manager().migrate()
    await execute(dsn, "INSERT INTO notes (title, body) VALUES ('a', 'x'), ('b', NULL)")


async def test_fresh_database_is_created_then_up_to_date(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="linkgress.migrate")
    async with opened(NotesV2, linkgress_database) as db:
        sm = db.get_schema_manager()
        planned = await sm.analyze()
        assert {op.type for op in planned} >= {"create_table", "create_foreign_key",
                                                "create_index"}
        applied = await sm.migrate()
        assert [op.describe() for op in applied] == [op.describe() for op in planned]
        assert await sm.analyze() == []
        caplog.clear()
        assert await sm.migrate() == []
    assert "Schema is up to date" in caplog.text
    assert [name for name, _ in await state_rows(linkgress_database)] == ["default"]


async def test_plan_is_logged_as_the_seed_shows_it(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    await _v1_with_rows(linkgress_database)
    caplog.set_level(logging.INFO, logger="linkgress.migrate")
    async with opened(NotesV2, linkgress_database) as db:
        applied = await db.get_schema_manager().migrate(allow_destructive=True)
    plan = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Pending"))
    assert plan.splitlines() == ["Pending migrations:"] + [
        f"  {i}. {op.describe()}" for i, op in enumerate(applied, 1)]
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert warning.getMessage().splitlines() == [
        "⚠️  Warning: This migration includes destructive operations that will result in "
        "data loss:", "  - Drop column 'notes.body'"]
    assert await rows(linkgress_database, "SELECT id, title, views FROM notes ORDER BY id") == [
        (1, "a", 0), (2, "b", 0)]


async def test_quiet_logs_nothing_above_debug(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    await _v1_with_rows(linkgress_database)
    caplog.set_level(logging.DEBUG, logger="linkgress")
    async with opened(NotesV2, linkgress_database) as db:
        assert await db.get_schema_manager(quiet=True).migrate(allow_destructive=True)
    assert caplog.records and all(r.levelno <= logging.DEBUG for r in caplog.records)


@pytest.mark.usefixtures("no_tty")
async def test_non_tty_destructive_aborts_and_changes_nothing(linkgress_database: str) -> None:
    await _v1_with_rows(linkgress_database)
    before = await dump(linkgress_database)
    async with opened(NotesV2, linkgress_database) as db:
        with pytest.raises(MigrationAborted, match="not a terminal") as info:
            await db.get_schema_manager().migrate()
    assert [op.describe() for op in info.value.operations] == ["Drop column 'notes.body'"]
    assert await dump(linkgress_database) == before


async def test_pytest_stdin_is_a_non_tty_too(linkgress_database: str) -> None:
    # pytest's captured stdin raises on read(): migrate() must neither read nor crash.
    await _v1_with_rows(linkgress_database)
    async with opened(NotesV2, linkgress_database) as db:
        with pytest.raises(MigrationAborted):
            await db.get_schema_manager().migrate()


async def test_non_destructive_plan_needs_no_consent(linkgress_database: str,
                                                     no_tty: None) -> None:
    async with opened(NotesV1, linkgress_database) as db:
        assert await db.get_schema_manager().migrate()


async def test_confirm_callback_decides(linkgress_database: str, no_tty: None) -> None:
    await _v1_with_rows(linkgress_database)
    seen: list[list[Operation]] = []

    async def decline(ops: list[Operation]) -> bool:
        seen.append(ops)
        return False

    async def accept(ops: list[Operation]) -> bool:
        return True

    before = await dump(linkgress_database)
    async with opened(NotesV2, linkgress_database) as db:
        sm = db.get_schema_manager()
        with pytest.raises(MigrationAborted, match="declined"):
            await sm.migrate(confirm=decline)
        assert await dump(linkgress_database) == before
        assert [op.describe() for op in seen[0]] == [op.describe() for op in await sm.analyze()]
        assert await sm.migrate(confirm=accept)
        assert await sm.analyze() == []


async def test_dry_run_changes_nothing(linkgress_database: str) -> None:
    await _v1_with_rows(linkgress_database)
    before = await dump(linkgress_database)
    async with opened(NotesV2, linkgress_database) as db:
        sm = db.get_schema_manager()
        planned = await sm.migrate(dry_run=True)
        assert planned == await sm.analyze() != []
    assert await dump(linkgress_database) == before


class FailingStart(NotesV2):
    async def on_migration_start(self, client: DatabaseClient) -> None:
        raise RuntimeError("no extension for you")


class FailingComplete(NotesV2):
    async def on_migration_complete(self, client: DatabaseClient) -> None:
        # Sees the new schema (same transaction) ... then fails.
        await client.execute("INSERT INTO tags (note_id, label) VALUES (1, 'hook')")
        await client.execute("SELECT 1/0")


class GoodHooks(NotesV2):
    calls: ClassVar[list[str]] = []

    async def on_migration_start(self, client: DatabaseClient) -> None:
        type(self).calls.append("start")

    async def on_migration_complete(self, client: DatabaseClient) -> None:
        type(self).calls.append("complete")
        await client.execute("CREATE OR REPLACE VIEW note_titles AS SELECT title FROM notes")


@pytest.mark.parametrize("context", [FailingStart, FailingComplete])
async def test_hook_failure_raises_and_applies_nothing(linkgress_database: str,
                                                       context: type[DbContext]) -> None:
    await _v1_with_rows(linkgress_database)
    before = await dump(linkgress_database)
    state_before = await state_rows(linkgress_database)
    async with opened(context, linkgress_database) as db:
        with pytest.raises(MigrationError, match="hook failed") as info:
            await db.get_schema_manager().migrate(allow_destructive=True)
    cause = info.value.__cause__
    assert isinstance(cause, RuntimeError | DatabaseError)
    if isinstance(cause, DatabaseError):
        assert isinstance(cause.__cause__, asyncpg.DivisionByZeroError)
    assert await dump(linkgress_database) == before
    assert await state_rows(linkgress_database) == state_before


async def test_hooks_run_every_time(linkgress_database: str) -> None:
    GoodHooks.calls.clear()
    async with opened(GoodHooks, linkgress_database) as db:
        sm = db.get_schema_manager()
        assert await sm.migrate()
        assert await sm.migrate() == []
    assert GoodHooks.calls == ["start", "complete", "start", "complete"]
    assert await rows(linkgress_database, "SELECT count(*) FROM note_titles") == [(0,)]


async def test_lock_wait_timeout_names_the_holder(linkgress_database: str) -> None:
    holder = await asyncpg.connect(linkgress_database,
                                   server_settings={"application_name": "lg-holder"})
    try:
        await holder.execute("BEGIN")
        await holder.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        async with opened(NotesV1, linkgress_database) as db:
            with anyio.fail_after(10):
                with pytest.raises(MigrationLockTimeout, match="lg-holder") as info:
                    await db.get_schema_manager(lock_wait_timeout=0.3).migrate()
        assert isinstance(info.value, TimeoutError)
        await holder.execute("ROLLBACK")
    finally:
        await holder.close()
    assert await rows(linkgress_database,
                      "SELECT count(*) FROM pg_tables WHERE tablename = 'notes'") == [(0,)]


async def test_eight_workers_apply_the_changes_once(linkgress_database: str) -> None:
    await _v1_with_rows(linkgress_database)
    async with opened(NotesV2, linkgress_database) as db:
        plan_size = len(await db.get_schema_manager().analyze())
    results: list[list[Operation]] = []

    async def worker() -> None:
        async with opened(NotesV2, linkgress_database, max_size=2) as db:
            results.append(await db.get_schema_manager().migrate(allow_destructive=True))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(worker)
    assert len(results) == 8
    assert sum(len(r) for r in results) == plan_size > 0
    assert sorted(len(r) for r in results)[:7] == [0] * 7
    async with opened(NotesV2, linkgress_database) as db:
        assert await db.get_schema_manager().analyze() == []
    assert await rows(linkgress_database, "SELECT title FROM notes ORDER BY id") == [
        ("a",), ("b",)]


class NoteConcurrent(Entity):
    id: int
    title: str = column(varchar(100))
    body: str | None


class NotesConcurrentIndex(DbContext):
    notes = DbContext.table(NoteConcurrent)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(NoteConcurrent).has_index("ux_notes_title", "title", unique=True,
                                               concurrently=True)


async def test_concurrent_index_is_built_after_commit_and_retried(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    await _v1_with_rows(linkgress_database)
    await execute(linkgress_database, "INSERT INTO notes (title) VALUES ('a')")  # duplicate
    caplog.set_level(logging.INFO, logger="linkgress.migrate")
    valid = ("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
             "WHERE c.relname = 'ux_notes_title'")
    async with opened(NotesConcurrentIndex, linkgress_database) as db:
        sm = db.get_schema_manager()
        with pytest.raises(MigrationError, match="concurrently failed") as info:
            await sm.migrate()
        assert isinstance(info.value.__cause__, asyncpg.UniqueViolationError)
        assert "CONCURRENTLY IF NOT EXISTS" in (info.value.sql or "")
        assert await rows(linkgress_database, valid) == [(False,)]  # the INVALID leftover
        await execute(linkgress_database, "DELETE FROM notes WHERE id = 3")
        assert [op.type for op in await sm.migrate()] == ["create_index"]
        assert await rows(linkgress_database, valid) == [(True,)]
        assert await sm.migrate() == []
        assert await sm.analyze() == []
    assert "after commit (outside the transaction)" in caplog.text


async def test_analyze_leaves_nothing_behind(linkgress_database: str) -> None:
    before = await dump(linkgress_database)
    temp_before = await rows(linkgress_database, "SELECT count(*) FROM pg_class")
    async with opened(NotesV2, linkgress_database) as db:
        assert await db.get_schema_manager().analyze()
    assert await dump(linkgress_database) == before
    assert await rows(linkgress_database, "SELECT count(*) FROM pg_class") == temp_before
    assert await state_rows(linkgress_database) == []


def _ops_types(ops: list[Any]) -> list[str]:
    return [op.type for op in ops]


class Mood(enum.Enum):
    CALM = "calm"
    ANGRY = "angry"


class MoodMore(enum.Enum):
    CALM = "calm"
    ANGRY = "angry"
    ELATED = "elated"


class Person(Entity):
    id: int
    mood: Mood = column(default=Mood.CALM)


class PersonMore(Entity):
    id: int
    mood: MoodMore = column(default=MoodMore.ELATED)


class People(DbContext):
    people = DbContext.table(Person)

    def setup_model(self, model: DbModelConfig) -> None:
        model.has_enum(Mood, name="mood")


class PeopleMore(DbContext):
    people = DbContext.table(PersonMore)

    def setup_model(self, model: DbModelConfig) -> None:
        model.has_enum(MoodMore, name="mood")


async def test_new_enum_label_used_in_the_same_migration(
        linkgress_database: str, caplog: pytest.LogCaptureFixture) -> None:
    # PostgreSQL refuses to use a label added in the same transaction ("unsafe use of new
    # value"): the label is committed first, then the rest is planned again and applied.
    async with opened(People, linkgress_database) as db:
        await db.get_schema_manager().migrate()
    await execute(linkgress_database, "INSERT INTO people (mood) VALUES ('angry')")
    caplog.set_level(logging.INFO, logger="linkgress.migrate")
    async with opened(PeopleMore, linkgress_database) as db:
        sm = db.get_schema_manager()
        assert [op.type for op in await sm.analyze()] == ["add_enum_value", "alter_column"]
        applied = await sm.migrate()
        assert [op.type for op in applied] == ["add_enum_value", "alter_column"]
        assert await sm.analyze() == []
    assert "committing 1 new enum label(s) first" in caplog.text
    await execute(linkgress_database, "INSERT INTO people DEFAULT VALUES")
    assert await rows(linkgress_database, "SELECT mood::text FROM people ORDER BY id") == [
        ("angry",), ("elated",)]


async def test_unchanged_model_skips_normalisation(linkgress_database: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import linkgress.schema.planning as planning
    from linkgress.schema.introspect import normalize_target as real

    calls: list[int] = []

    async def counting(conn: Any, target: Any) -> Any:
        calls.append(1)
        return await real(conn, target)

    monkeypatch.setattr(planning, "normalize_target", counting)
    async with opened(NotesV1, linkgress_database) as db:
        sm = db.get_schema_manager()
        await sm.migrate()
        assert len(calls) == 1
        assert await sm.migrate() == [] and await sm.analyze() == []
        assert len(calls) == 1  # the recorded snapshot was normalised from this very model
    await _v1_with_rows(linkgress_database)
    async with opened(NotesV2, linkgress_database) as db2:  # a changed model is normalised
        assert await db2.get_schema_manager().migrate(allow_destructive=True)
    assert len(calls) == 2


class _Terminal(io.StringIO):
    """A stdin that says it is a terminal and answers once ``answer`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = ""
        self.ready = threading.Event()

    def isatty(self) -> bool:
        return True

    def readline(self, size: int | None = -1, /) -> str:  # type: ignore[override]
        assert self.ready.wait(10)
        return self.answer


@pytest.mark.parametrize(("answer", "applied"), [("y\n", True), ("n\n", False)])
async def test_terminal_prompt_does_not_block_the_event_loop(
        linkgress_database: str, monkeypatch: pytest.MonkeyPatch, answer: str,
        applied: bool) -> None:
    await _v1_with_rows(linkgress_database)
    terminal = _Terminal()
    prompt = io.StringIO()
    monkeypatch.setattr(sys, "stdin", terminal)
    monkeypatch.setattr(sys, "stderr", prompt)
    ticks = 0

    async def person() -> None:
        nonlocal ticks
        while not prompt.getvalue().endswith("Do you want to continue? (y/N): "):
            ticks += 1  # the loop keeps running while migrate() waits for the answer
            await anyio.sleep(0.01)
        terminal.answer = answer
        terminal.ready.set()

    async with opened(NotesV2, linkgress_database) as db:
        sm = db.get_schema_manager()
        async with anyio.create_task_group() as tg:
            tg.start_soon(person)
            if applied:
                assert await sm.migrate()
            else:
                with pytest.raises(MigrationAborted, match="declined"):
                    await sm.migrate()
        assert (await sm.analyze() == []) is applied
    assert ticks > 0
