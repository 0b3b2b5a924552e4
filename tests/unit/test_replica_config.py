"""``PgClient(replicas=[...], max_lag_seconds=...)`` configuration. No database, no I/O (the
routing against a real streaming replica is tests/integration/test_replicas.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from linkgress import PgClient


def test_the_replicas_page_example_runs_as_written() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "replicas.md"
    (snippet,) = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(page), "exec"), namespace)  # constructs clients: no I/O
    client: PgClient = namespace["client"]
    assert client.replicas is not None
    assert [r.address for r in client.replicas.clients] == ["db-replica-1:5432",
                                                            "db-replica-2:5432"]
    assert client.replicas.max_lag_seconds == 2.0


def test_replicas_inherit_the_settings_and_follow_with_database() -> None:
    client = PgClient(dsn="postgresql://u@p/app?pgbouncer=true", max_size=3, log_queries=True,
                      replicas=["postgresql://u@r/app"], max_lag_seconds=1)
    assert client.replicas is not None
    (replica,) = client.replicas.clients
    assert replica.pgbouncer and replica.max_size == 3 and replica.log_queries
    client.log_queries = False
    assert not replica.log_queries
    other = client.with_database("other")
    assert other.replicas is not None
    assert [r.database for r in other.replicas.clients] == ["other"]
    assert other.replicas.max_lag_seconds == 1


def test_no_replicas_by_default() -> None:
    assert PgClient().replicas is None
    assert PgClient(replicas=[]).replicas is None


@pytest.mark.parametrize(("options", "error", "message"), [
    ({"replicas": "postgresql://u@r/app"}, TypeError, "a list of DSNs, not one string"),
    ({"max_lag_seconds": 1.0}, ValueError, r"max_lag_seconds needs replicas=\[\.\.\.\]"),
    ({"replicas": ["postgresql://u@r/app"], "max_lag_seconds": -1}, ValueError,
     "max_lag_seconds must be >= 0"),
])
def test_bad_replica_options_are_refused(options: dict[str, Any], error: type[Exception],
                                         message: str) -> None:
    with pytest.raises(error, match=message):
        PgClient(**options)
