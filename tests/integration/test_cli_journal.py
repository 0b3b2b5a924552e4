"""The ``migration ...`` commands as a subprocess against a real database: ``status --check``,
out-of-order files, ``down N``/``--to``, ``up --to``, ``history``/``current``, ``stamp``,
``--format json``, ``create --auto``'s summary and formatting, and offline SQL."""

from __future__ import annotations

import re
import textwrap

from tests.integration.cli_support import (
    APP,
    Cli,
    run_script,
    sql,
    table_exists,
    write_migration,
)

# -- migration status --check, up, down ---------------------------------------------------------


def test_status_check_fails_on_pending_edited_and_missing(cli: Cli) -> None:
    write_migration(cli, "002_b", "b")
    assert cli("migration", "status", *APP, "--check").returncode == 1
    assert cli("migration", "up", *APP).returncode == 0
    assert cli("migration", "status", *APP, "--check").returncode == 0
    path = cli.cwd / "migrations" / "002_b.py"
    path.write_text(path.read_text() + "# edited\n")
    edited = cli("migration", "status", *APP, "--check")
    assert edited.returncode == 1 and "1 edited after being applied" in edited.stderr
    up = cli("migration", "up", *APP)
    assert up.returncode == 0 and "warning: 002_b was edited after it was applied" in up.stdout
    path.unlink()
    missing = cli("migration", "status", *APP, "--check")
    assert missing.returncode == 1 and "FILE MISSING" in missing.stdout


def test_out_of_order_file_is_reported_not_applied(cli: Cli) -> None:
    write_migration(cli, "002_b", "b")
    assert cli("migration", "up", *APP).returncode == 0
    write_migration(cli, "001_a", "a")
    refused = cli("migration", "up", *APP)
    assert refused.returncode == 1
    assert "out of order: 001_a" in refused.stderr and "--out-of-order" in refused.stderr
    assert not table_exists(cli, "a")
    status = cli("migration", "status", *APP, "--check")
    assert status.returncode == 1 and re.search(r"pending\s+001_a.*OUT OF ORDER", status.stdout)
    forced = cli("migration", "up", *APP, "--out-of-order")
    assert forced.returncode == 0 and "applied: 001_a" in forced.stdout


def test_down_more_than_applied_says_so(cli: Cli) -> None:
    for stem in ("001_a", "002_b", "003_c"):
        write_migration(cli, stem, stem[4:])
    assert cli("migration", "up", *APP).returncode == 0
    down = cli("migration", "down", "10", *APP)
    assert down.returncode == 0, down.stderr
    assert down.stdout.splitlines() == [
        "note: 10 requested but only 3 migration(s) applied; reverting 3",
        "reverted: 003_c", "reverted: 002_b", "reverted: 001_a"]


# -- history, current, --format json ------------------------------------------------------------


def test_history_and_current(cli: Cli) -> None:
    assert cli("migration", "current", *APP).stdout.strip() == "(none)"
    assert cli("migration", "history", *APP).stdout.strip() == "No migration applied yet"
    write_migration(cli, "002_b", "b")
    assert cli("migration", "up", *APP).returncode == 0
    write_migration(cli, "003_c", "c")
    assert cli("migration", "up", *APP).returncode == 0
    history = cli("migration", "history", *APP).stdout.splitlines()
    assert [line.split()[0] for line in history] == ["002_b", "003_c"]
    assert "(batch 2, " in history[1]
    assert cli("migration", "current", *APP).stdout.strip() == "003_c"


def test_json_output(cli: Cli) -> None:
    import json

    analyze = json.loads(cli("db", "analyze", *APP, "--format", "json").stdout)
    assert analyze["notes"] == []
    [op] = analyze["operations"]
    assert op["type"] == "create_table" and op["destructive"] is False
    assert op["sql"][0].startswith('CREATE TABLE "public"."users"')
    drift = cli("db", "check", *APP, "--format", "json")
    assert drift.returncode == 1
    assert json.loads(drift.stdout)["in_sync"] is False
    assert json.loads(drift.stdout)["migrations"] is None  # no files, no journal
    write_migration(cli, "001_a", "a")
    status = cli("migration", "status", *APP, "--format", "json", "--check")
    assert status.returncode == 1 and status.stderr == ""
    assert json.loads(status.stdout) == {
        "migrations": [{"name": "001_a", "applied": False, "batch": None, "applied_at": None,
                        "edited": False, "file_missing": False, "out_of_order": False}],
        "problems": ["1 pending"]}
    assert cli("migration", "up", *APP).returncode == 0
    assert cli("db", "migrate", *APP).returncode == 0
    check = json.loads(cli("db", "check", *APP, "--format", "json").stdout)
    assert check["in_sync"] is True and check["migrations"][0]["applied"] is True


def test_up_and_down_to_a_named_migration(cli: Cli) -> None:
    for stem in ("001_a", "002_b", "003_c"):
        write_migration(cli, stem, stem[4:])
    unknown = cli("migration", "up", "--to", "002_x", *APP)
    assert unknown.returncode == 1 and "no migration named '002_x'" in unknown.stderr
    up = cli("migration", "up", "--to", "002_b", *APP)
    assert up.stdout.splitlines() == ["applied: 001_a", "applied: 002_b"]
    assert cli("migration", "current", *APP).stdout.strip() == "002_b"
    assert cli("migration", "up", *APP).stdout.strip() == "applied: 003_c"
    down = cli("migration", "down", "--to", "001_a", *APP)
    assert down.stdout.splitlines() == ["reverted: 003_c", "reverted: 002_b"]
    assert "Nothing to revert" in cli("migration", "down", "--to", "001_a", *APP).stdout
    assert cli("migration", "down", "--to", "003_c", *APP).returncode == 1  # not applied
    assert cli("migration", "down", "--to", "base", *APP).stdout.strip() == "reverted: 001_a"
    assert cli("migration", "current", *APP).stdout.strip() == "(none)"
    assert cli("migration", "down", "2", "--to", "base", *APP).returncode == 2


def test_stamp_records_without_running(cli: Cli) -> None:
    for stem in ("001_a", "002_b", "003_c"):
        write_migration(cli, stem, stem[4:])
    sql(cli, "CREATE TABLE a (id int)", "CREATE TABLE b (id int)")  # done by hand already
    stamped = cli("migration", "stamp", "002_b", *APP)
    assert stamped.returncode == 0, stamped.stderr
    assert stamped.stdout.splitlines() == ["stamped (recorded, not run): 001_a",
                                           "stamped (recorded, not run): 002_b"]
    history = cli("migration", "history", *APP).stdout.splitlines()
    assert all("stamped: recorded, not run" in line for line in history)
    assert cli("migration", "up", *APP).stdout.strip() == "applied: 003_c"
    assert "stamped" not in cli("migration", "history", *APP).stdout.splitlines()[-1]
    assert "already applied" in cli("migration", "stamp", "001_a", *APP).stdout
    assert cli("migration", "stamp", "nope", *APP).returncode == 1


def test_a_journal_from_before_the_stamped_column_keeps_working(cli: Cli) -> None:
    write_migration(cli, "001_a", "a")
    write_migration(cli, "002_b", "b")
    assert cli("migration", "up", "--to", "001_a", *APP).returncode == 0
    sql(cli, "ALTER TABLE __linkgress_migrations DROP COLUMN stamped")
    assert cli("migration", "history", *APP).stdout.startswith("001_a  (batch 1, ")
    assert cli("migration", "up", *APP).stdout.strip() == "applied: 002_b"
    assert sql(cli, "SELECT count(*) AS n FROM __linkgress_migrations WHERE NOT stamped")[0][
        "n"] == 2


RENAMED = """
from linkgress import DbContext, Entity, column, text, varchar


class User(Entity):
    id: int
    username: str = column(varchar(100))
    mail: str = column(text(), unique=True)


class Renamed(DbContext):
    users = DbContext.table(User)
"""


def test_create_auto_prints_a_summary_and_writes_formatted_files(cli: Cli) -> None:
    import subprocess
    import sys

    (cli.cwd / "renamed.py").write_text(RENAMED)
    (cli.cwd / "pyproject.toml").write_text("[tool.ruff]\nline-length = 60\n")
    assert cli("db", "create", *APP).returncode == 0
    created = cli("migration", "create", "rename mail", "--auto", "--context", "renamed:Renamed")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert lines[0].startswith("Created migrations") and lines[0].endswith("_rename_mail.py:")
    assert "  - Drop column 'users.email'  [destructive: data is lost]" in lines
    assert "  + Add column 'users.mail' (TEXT)" in lines
    assert any(line.startswith("note: ") and "renamed_from='email'" in line for line in lines)
    check = subprocess.run([sys.executable, "-m", "ruff", "format", "--check", "migrations"],
                           cwd=cli.cwd, capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "migrations"],
                          cwd=cli.cwd, capture_output=True, text=True, timeout=60, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_offline_sql_is_a_script_the_journal_agrees_with(cli: Cli) -> None:
    for stem in ("001_a", "002_b", "003_c"):
        write_migration(cli, stem, stem[4:])
    assert cli("migration", "up", "--to", "001_a", *APP).returncode == 0
    offline = cli("migration", "up", "--sql", "--offline", "--from", "001_a", dsn=False,
                  env={"CI": "true"})  # no database, no context: nothing is configured
    assert offline.returncode == 0, offline.stderr
    script = offline.stdout
    assert script.splitlines()[:2] == ["-- linkgress: 2 migration(s), 002_b .. 003_c", "BEGIN;"]
    assert "CREATE TABLE b (id int);" in script and "CREATE TABLE a" not in script
    assert script.rstrip().endswith("COMMIT;")
    run_script(cli, script)  # what the DBA runs
    assert table_exists(cli, "b") and table_exists(cli, "c")
    assert cli("migration", "status", *APP, "--check").returncode == 0
    history = cli("migration", "history", *APP).stdout.splitlines()
    assert [line.split()[0] for line in history] == ["001_a", "002_b", "003_c"]
    assert "(batch 2, " in history[1] and "(batch 2, " in history[2]
    assert cli("migration", "up", *APP).stdout.strip() == "Nothing to do: no pending migrations"
    ranged = cli("migration", "up", "--sql", "--offline", "--to", "001_a", dsn=False).stdout
    assert "CREATE TABLE a (id int);" in ranged and "CREATE TABLE b" not in ranged
    (cli.cwd / "migrations" / "004_data.py").write_text(textwrap.dedent("""\
        from linkgress import Migration, SchemaBuilder


        class Data(Migration):
            async def up(self, schema: SchemaBuilder) -> None:
                await schema.fetchval("SELECT count(*) FROM a")

            async def down(self, schema: SchemaBuilder) -> None:
                pass
        """))
    refused = cli("migration", "up", "--sql", "--offline", "--from", "003_c", dsn=False)
    assert refused.returncode == 1
    assert "004_data cannot be rendered offline" in refused.stderr
    assert cli("migration", "up", "--offline", dsn=False).returncode == 2
