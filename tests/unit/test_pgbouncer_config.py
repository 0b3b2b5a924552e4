"""``pgbouncer=True`` from the constructor, the DSN and the environment. No database, no I/O
(the behaviour through a real PgBouncer is tests/integration/test_pgbouncer.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from linkgress import LinkgressError, PgClient


@pytest.mark.parametrize("value", ["true", "1", "yes", "ON", "True"])
def test_the_dsn_flag_turns_pgbouncer_mode_on_and_never_reaches_asyncpg(value: str) -> None:
    client = PgClient(dsn=f"postgresql://u@h:6432/app?sslmode=disable&pgbouncer={value}")
    assert client.pgbouncer
    assert client._target.to_dsn() == "postgresql://u@h:6432/app?sslmode=disable"
    # The public DSN keeps the flag, so a client built from it is configured the same way.
    assert client.dsn == "postgresql://u@h:6432/app?sslmode=disable&pgbouncer=true"
    assert PgClient(dsn=client.dsn).pgbouncer
    assert client.with_database("other").pgbouncer


def test_off_by_default_and_by_a_false_flag() -> None:
    assert not PgClient(dsn="postgresql://u@h/app").pgbouncer
    assert not PgClient(dsn="postgresql://u@h/app?pgbouncer=false").pgbouncer
    assert PgClient(dsn="postgresql://u@h/app?pgbouncer=false").dsn == "postgresql://u@h:5432/app"


def test_an_explicit_argument_overrides_the_dsn() -> None:
    assert not PgClient(dsn="postgresql://u@h/app?pgbouncer=true", pgbouncer=False).pgbouncer
    assert PgClient(dsn="postgresql://u@h/app", pgbouncer=True).pgbouncer


def test_a_bad_dsn_flag_names_the_parameter() -> None:
    with pytest.raises(LinkgressError, match=r"pgbouncer= must be true or false.*'maybe'"):
        PgClient(dsn="postgresql://u@h/app?pgbouncer=maybe")


def test_the_environment_variable() -> None:
    env = {"DATABASE_URL": "postgresql://u@h/app", "LINKGRESS_PGBOUNCER": "1"}
    assert PgClient.from_env(environ=env).pgbouncer
    assert not PgClient.from_env(environ={**env, "LINKGRESS_PGBOUNCER": "0"}).pgbouncer
    assert not PgClient.from_env(environ=env, pgbouncer=False).pgbouncer
    assert PgClient.from_env(environ={"DB_HOST": "h", "LINKGRESS_PGBOUNCER": "yes"}).pgbouncer
    with pytest.raises(LinkgressError, match="LINKGRESS_PGBOUNCER must be true or false"):
        PgClient.from_env(environ={**env, "LINKGRESS_PGBOUNCER": "sometimes"})


def test_statement_cache_is_off_and_cannot_be_turned_on() -> None:
    assert PgClient(pgbouncer=True)._statement_cache_size == 0
    assert PgClient(pgbouncer=True, statement_cache_size=0)._statement_cache_size == 0
    assert PgClient()._statement_cache_size == 100
    with pytest.raises(ValueError, match="statement_cache_size=50 cannot be used with "
                                         "pgbouncer=True"):
        PgClient(pgbouncer=True, statement_cache_size=50)


def test_session_settings_are_refused_except_those_pgbouncer_tracks() -> None:
    PgClient(pgbouncer=True, server_settings={"application_name": "api", "TimeZone": "UTC"})
    with pytest.raises(LinkgressError, match="'search_path' cannot be used with pgbouncer=True"):
        PgClient(pgbouncer=True, server_settings={"search_path": "app", "TimeZone": "UTC"})


def test_the_pgbouncer_page_example_runs_as_written() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "pgbouncer.md"
    (snippet,) = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(page), "exec"), namespace)  # constructs clients: no I/O
    for name in ("client", "same", "from_env"):
        assert namespace[name].pgbouncer, name
        assert namespace[name]._target.to_dsn() == "postgresql://app@127.0.0.1:6432/app"
