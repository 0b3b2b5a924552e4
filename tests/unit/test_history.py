"""The pure parts of the applied-model history: a model's status, the appended history, and
what a superseded model needs from the database."""

from __future__ import annotations

import asyncio
import logging

import pytest

from linkgress import MigrationError, integer, text, varchar
from linkgress.model.types import bigint
from linkgress.schema.history import (
    HISTORY_LIMIT,
    ModelIdentity,
    appended,
    missing_for,
    model_status,
    type_compatible,
)
from linkgress.schema.retry import backoff, with_lock_retries
from linkgress.schema.snapshot import Column, EnumType, Schema, Table

OLD = ModelIdentity("old-model", "old-fp")
NEW = ModelIdentity("new-model", "new-fp")


def test_status_of_new_current_and_superseded_models() -> None:
    history = appended(appended([], OLD), NEW)
    assert [e["model"] for e in history] == ["old-model", "new-model"]
    assert model_status(history, NEW) == "current"
    assert model_status(history, OLD) == "superseded"
    assert model_status(history, ModelIdentity("other", "x")) == "new"
    assert model_status([], OLD) == "new"


def test_same_model_on_another_server_is_recognised_by_its_digest() -> None:
    history = appended(appended([], OLD), NEW)
    assert model_status(history, ModelIdentity("old-model", "fp-on-pg-16")) == "superseded"


def test_a_record_without_history_knows_the_model_that_wrote_it() -> None:
    assert model_status([], OLD, legacy_fingerprints=("old-fp",)) == "current"
    seeded = appended([], NEW, legacy_fingerprints=("old-fp",))
    assert [e["fingerprint"] for e in seeded] == ["old-fp", "new-fp"]
    assert model_status(seeded, OLD) == "superseded"


def test_history_keeps_each_model_once_and_is_bounded() -> None:
    history: list[dict[str, object]] = []
    for i in range(HISTORY_LIMIT + 5):
        history = appended(history, ModelIdentity(f"m{i}", f"f{i}"))
    history = appended(history, ModelIdentity(f"m{HISTORY_LIMIT}", "again"))
    assert len(history) == HISTORY_LIMIT
    assert history[-1]["model"] == f"m{HISTORY_LIMIT}"
    assert sum(e["model"] == f"m{HISTORY_LIMIT}" for e in history) == 1


@pytest.mark.parametrize(("needed", "actual", "ok"), [
    (varchar(20), varchar(20), True),
    (varchar(20), varchar(50), True),
    (varchar(50), varchar(20), False),
    (varchar(20), text(), True),
    (text(), varchar(20), False),
    (integer(), bigint(), True),
    (bigint(), integer(), False),
    (integer(), text(), False),
    (integer().array(), bigint(), False),
])
def test_type_compatible(needed: object, actual: object, ok: bool) -> None:
    assert type_compatible(needed, actual) is ok  # type: ignore[arg-type]


def _table(name: str, *columns: Column) -> Table:
    return Table(schema="public", name=name, columns=columns)


def test_missing_for_names_tables_columns_types_and_enum_labels() -> None:
    needed = Schema(
        tables=(_table("customers", Column(name="id", type=integer()),
                       Column(name="name", type=varchar(100)),
                       Column(name="code", type=bigint())),
                _table("reviews", Column(name="id", type=integer()))),
        enums=(EnumType(schema="public", name="mood", values=("ok", "sad")),))
    actual = Schema(
        tables=(_table("customers", Column(name="id", type=bigint()),
                       Column(name="code", type=integer()),
                       Column(name="phone", type=text())),),
        enums=(EnumType(schema="public", name="mood", values=("ok",)),))
    assert missing_for(needed, actual) == [
        "column customers.name",
        "column customers.code as BIGINT (it is INTEGER)",
        "table reviews",
        "enum public.mood labels sad",
    ]
    assert missing_for(needed, needed) == []


def _lock_timeout_error() -> MigrationError:
    import asyncpg
    error = MigrationError("migration failed: canceling statement due to lock timeout")
    error.__cause__ = asyncpg.LockNotAvailableError("canceling statement due to lock timeout")
    return error


def test_backoff_grows_with_jitter() -> None:
    assert 0.1 <= backoff(0) <= 0.2
    assert 0.4 <= backoff(2) <= 0.8
    assert backoff(30) <= 5.0


def test_lock_timeouts_are_retried_a_bounded_number_of_times(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("linkgress.schema.retry.FIRST_BACKOFF", 0.001)
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _lock_timeout_error()
        return "done"

    caplog.set_level(logging.INFO, "linkgress.migrate")
    assert asyncio.run(with_lock_retries(flaky, 5)) == "done"
    assert len(calls) == 3 and "retry 2 of 5" in caplog.text

    async def always() -> str:
        calls.append(1)
        raise _lock_timeout_error()

    calls.clear()
    with pytest.raises(MigrationError, match="gave up after 2 retries"):
        asyncio.run(with_lock_retries(always, 2))
    assert len(calls) == 3


def test_other_failures_are_not_retried() -> None:
    calls: list[int] = []

    async def broken() -> None:
        calls.append(1)
        raise MigrationError("column does not exist")

    with pytest.raises(MigrationError, match="does not exist"):
        asyncio.run(with_lock_retries(broken, 5))
    assert calls == [1]
