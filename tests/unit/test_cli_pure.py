"""The CLI's pure parts: the ``migration create --auto`` summary, out-of-order detection, and
where the database comes from (no server needed: only the decisions are checked)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from linkgress.cli.config import UsageError, configured_database, resolve_dsn
from linkgress.cli.journaled import summary_lines
from linkgress.cli.report import out_of_order
from linkgress.dsn import embedded_refusal
from linkgress.migrations.runner import MigrationStatus
from linkgress.schema import operations as ops


def test_summary_marks_creates_drops_and_irreversible_steps() -> None:
    lines = summary_lines([ops.CreateSchema(schema_name="shop"),
                           ops.AddEnumValue(enum_name="status", value="late"),
                           ops.DropSchema(schema_name="old")])
    assert [text for text, _ in lines] == [
        "  + Create schema 'shop'",
        "  + Add value 'late' to enum 'status'  [irreversible: down() raises "
        "IrreversibleMigration until you edit it]",
        "  - Drop schema 'old'  [destructive: data is lost]"]
    assert [colour for _, colour in lines] == [None, "yellow", "red"]


def entry(name: str, applied: bool) -> MigrationStatus:
    return MigrationStatus(name=name, applied=applied,
                           applied_at=datetime.now(UTC) if applied else None,
                           batch=1 if applied else None, checksum_mismatch=False,
                           file_missing=False)


def test_out_of_order_is_a_pending_file_older_than_the_newest_applied() -> None:
    assert out_of_order([entry("001", False), entry("002", True), entry("003", False)]) == ["001"]
    assert out_of_order([entry("001", True), entry("002", False)]) == []
    assert out_of_order([entry("001", False)]) == []


@pytest.mark.parametrize(("environ", "problem"), [
    ({"DATABASE_URL": ""}, "DATABASE_URL is set but empty"),
    ({"DATABASE_URL": "  "}, "DATABASE_URL is set but empty"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL is malformed"),
    ({"DATABASE_URL": "postgresql://h:99999/db"}, "DATABASE_URL is malformed"),
    ({"DB_NAME": ""}, "DB_NAME is set but empty"),
    ({"DB_PORT": "x"}, "DB_PORT"),
])
def test_bad_settings_name_the_variable(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        configured_database(environ)


def test_settings_that_are_fine() -> None:
    assert configured_database({}) is None
    assert configured_database({"DATABASE_URL": " postgresql://u@h/db "}) == "postgresql://u@h/db"
    assert "h2" in (configured_database({"DB_HOST": "h2", "DB_PASSWORD": ""}) or "")


@pytest.mark.parametrize(("environ", "reason"), [
    ({}, None), ({"CI": "false"}, None), ({"CI": "0"}, None), ({"CI": "true"}, "CI=true"),
    ({"CI": "1"}, "CI=1"), ({"LINKGRESS_ENV": "Production"}, "LINKGRESS_ENV=production"),
    ({"APP_ENV": "production"}, "APP_ENV=production"), ({"APP_ENV": "staging"}, None),
])
def test_embedded_fallback_refused_in_ci_and_production(environ: dict[str, str],
                                                          reason: str | None) -> None:
    assert embedded_refusal(environ) == reason


def test_no_configuration_in_ci_is_a_usage_error_before_any_server_starts() -> None:
    with pytest.raises(UsageError, match="no database configured: set DATABASE_URL"):
        resolve_dsn(None, {"CI": "true"}, io.StringIO())
    with pytest.raises(UsageError, match="--dsn is set but empty"):
        resolve_dsn("", {}, io.StringIO())
