"""The plan's text, the consent policy and the split of non-transactional operations (pure)."""

from __future__ import annotations

import io
import logging
import sys
import threading

import pytest

from linkgress import MigrationAborted, Operation, integer, varchar
from linkgress.schema import confirm
from linkgress.schema.deferred import enum_values_to_commit_first, split_concurrent
from linkgress.schema.operations import (
    AddColumn,
    AddEnumValue,
    CreateIndex,
    CreateTable,
    DropColumn,
)
from linkgress.schema.snapshot import Column, Index, Table

PHONE = AddColumn(table_name="users", column=Column(name="phone_number", type=varchar(20)))
OLD = DropColumn(table_name="users", column=Column(name="old_field", type=integer()))
IX = CreateIndex(table_name="users", index=Index(name="ix_users_email", columns=("email",)))
PLAN: list[Operation] = [PHONE, OLD, IX]


def test_plan_and_warning_lines_are_the_seeds() -> None:
    assert confirm.plan_lines(PLAN) == [
        "Pending migrations:",
        "  1. Add column 'users.phone_number' (VARCHAR(20))",
        "  2. Drop column 'users.old_field'",
        "  3. Create index 'ix_users_email'",
    ]
    assert confirm.warning_lines(PLAN) == [
        "⚠️  Warning: This migration includes destructive operations that will result in "
        "data loss:",
        "  - Drop column 'users.old_field'",
    ]
    assert confirm.warning_lines([PHONE, IX]) == []


def test_log_plan_levels_and_quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="linkgress.migrate")
    confirm.log_plan(PLAN)
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO, logging.WARNING]
    assert caplog.records[0].getMessage().startswith("Pending migrations:\n  1. Add column")
    assert caplog.records[1].getMessage().splitlines() == [
        "Hazards:",
        "  1. Add column 'users.phone_number' (VARCHAR(20)): blocks_reads, blocks_writes",
        "  2. Drop column 'users.old_field': blocks_reads, blocks_writes, destructive",
        "  3. Create index 'ix_users_email': scans_table, blocks_writes",
    ]
    caplog.clear()
    confirm.log_plan(PLAN, quiet=True)
    assert {r.levelno for r in caplog.records} == {logging.DEBUG}


async def test_no_destructive_operation_needs_no_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    await confirm.obtain_consent([PHONE, IX], allow_destructive=False, confirm=None)


@pytest.mark.parametrize("stdin", [None, "closed", "pipe"])
async def test_non_tty_aborts(monkeypatch: pytest.MonkeyPatch, stdin: str | None) -> None:
    stream: io.StringIO | None = None
    if stdin is not None:
        stream = io.StringIO("y\n")
        if stdin == "closed":
            stream.close()
    monkeypatch.setattr(sys, "stdin", stream)
    assert not confirm.stdin_is_tty()
    with pytest.raises(MigrationAborted, match="not a terminal") as info:
        await confirm.obtain_consent(PLAN, allow_destructive=False, confirm=None)
    assert info.value.operations == [OLD]
    await confirm.obtain_consent(PLAN, allow_destructive=True, confirm=None)


async def test_confirm_callback_sees_the_plan_and_decides() -> None:
    seen: list[list[Operation]] = []

    async def yes(ops: list[Operation]) -> bool:
        seen.append(ops)
        return True

    async def no(ops: list[Operation]) -> bool:
        return False

    await confirm.obtain_consent(PLAN, allow_destructive=False, confirm=yes)
    assert seen == [PLAN]
    with pytest.raises(MigrationAborted, match="declined"):
        await confirm.obtain_consent(PLAN, allow_destructive=False, confirm=no)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "ok"), [("y\n", True), ("YES\n", True), ("n\n", False),
                                            ("\n", False), ("", False)])
async def test_terminal_prompt(monkeypatch: pytest.MonkeyPatch, answer: str, ok: bool) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", _Tty(answer))
    monkeypatch.setattr(sys, "stderr", out)
    assert await confirm.ask_in_terminal(PLAN, show_plan=True) is ok
    assert out.getvalue().endswith("Do you want to continue? (y/N): ")
    assert "  2. Drop column 'users.old_field'" in out.getvalue()


def test_concurrent_index_moves_after_commit_unless_its_table_is_new() -> None:
    conc = Index(name="ix_c", columns=("a",), concurrently=True)
    on_old = CreateIndex(table_name="old", index=conc)
    on_new = CreateIndex(table_name="new", index=conc)
    new_table = CreateTable(table=Table(schema="public", name="new", columns=()))
    now, later = split_concurrent([new_table, on_old, on_new, IX])
    assert later == [on_old]
    assert now[0] == new_table and now[2] == IX
    assert isinstance(now[1], CreateIndex) and not now[1].index.concurrently


def test_enum_label_used_later_is_committed_first() -> None:
    add = AddEnumValue(enum_name="mood", value="sad")
    uses = AddColumn(table_name="t", column=Column(name="m", type=integer(), default="'sad'"))
    assert enum_values_to_commit_first([add, uses]) == [add]
    assert enum_values_to_commit_first([add, PHONE]) == []
    assert enum_values_to_commit_first([uses, add]) == []


class _SilentTty(io.StringIO):
    """A terminal nobody answers (until ``release`` is set)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def isatty(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:
        self.release.wait(10)
        return "y\n"


async def test_unanswered_prompt_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = _SilentTty()
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    try:
        with pytest.raises(MigrationAborted, match=r"no answer within 0\.2s"):
            await confirm.obtain_consent(PLAN, allow_destructive=False, confirm=None,
                                         timeout=0.2)
    finally:
        stdin.release.set()  # the late "y" reaches nobody
