"""The CLI's safe defaults, run as a subprocess against a real database — without a terminal and
in a real pseudo-terminal: database settings (empty, malformed, CI, production), ``db drop`` /
``db reset`` (confirmation, row estimates, ``--cascade``, the journal), messages,
``[tool.linkgress]``, ``db seed`` and what a terminal shows."""

from __future__ import annotations

import asyncio
import re
import time

import asyncpg

from tests.integration.cli_support import APP, Cli, sql, table_exists

SHOP_MODELS = """
from linkgress import DbContext, DbModelConfig, Entity, column, varchar


class Order(Entity):
    id: int
    label: str = column(varchar(50))


class Shop(DbContext):
    orders = DbContext.table(Order)

    def setup_model(self, model: DbModelConfig) -> None:
        model.entity(Order).to_table("orders", schema="shop")
"""


# -- where the database comes from --------------------------------------------------------------


def test_empty_or_malformed_settings_exit_2_naming_the_variable(cli: Cli) -> None:
    for extra in ({}, {"CI": "true"}, {"LINKGRESS_ENV": "production"}):
        empty = cli("db", "migrate", *APP, dsn=False, env={"DATABASE_URL": "", **extra})
        assert empty.returncode == 2, empty.stdout
        assert "DATABASE_URL is set but empty" in empty.stderr
        assert "Migration completed" not in empty.stdout
    cases = {"DATABASE_URL": "localhost:5432/app", "DB_HOST": " ", "DB_PORT": "five"}
    for var, value in cases.items():
        bad = cli("db", "check", *APP, dsn=False, env={var: value})
        assert bad.returncode == 2 and var in bad.stderr, (var, bad.stderr)
        assert "Traceback" not in bad.stderr
    assert "--dsn is set but empty" in cli("db", "check", *APP, "--dsn", "", dsn=False).stderr
    assert not (cli.cwd / ".linkgress").exists()


def test_no_embedded_fallback_in_ci_or_production(cli: Cli) -> None:
    for var, value in (("CI", "true"), ("LINKGRESS_ENV", "production"), ("APP_ENV", "production")):
        refused = cli("db", "migrate", *APP, dsn=False, env={var: value})
        assert refused.returncode == 2
        assert "no database configured: set DATABASE_URL" in refused.stderr
        assert f"{var}={value}" in refused.stderr
    assert not (cli.cwd / ".linkgress").exists()


# -- db drop / db reset -------------------------------------------------------------------------


def test_drop_without_a_terminal_needs_yes(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    refused = cli("db", "drop", *APP)
    assert refused.returncode == 1
    assert "stdin is not a terminal" in refused.stderr and "--yes" in refused.stderr
    assert cli("db", "reset", *APP).returncode == 1
    assert table_exists(cli, "users")
    dropped = cli("db", "drop", *APP, "--yes")
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.count("Drop table 'users'") == 1
    assert not table_exists(cli, "users")
    assert cli("db", "drop", *APP, "--yes").stdout.strip() == "Nothing to drop"


def test_drop_in_a_terminal_asks_with_row_estimates(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    sql(cli, "INSERT INTO users (username, email) SELECT 'u' || i, 'e' || i "
             "FROM generate_series(1, 1234) AS i", "ANALYZE users")
    code, screen = cli.in_terminal("db", "drop", *APP, answer="n")
    assert code == 1, screen
    assert "Drop table 'users'  (~1,234 rows, " in screen
    assert "aborted, nothing was dropped" in screen
    assert table_exists(cli, "users")
    code, screen = cli.in_terminal("db", "drop", *APP, answer="y")
    assert code == 0, screen
    after = screen.split("(y/N)", 1)[1]
    assert after.count("Drop table 'users'") == 1  # listed once, not again by progress lines
    assert "Schema dropped successfully" in after
    assert not table_exists(cli, "users")


def test_drop_reports_the_schema_and_refuses_to_cascade_unless_asked(cli: Cli) -> None:
    (cli.cwd / "shop.py").write_text(SHOP_MODELS)
    shop = ("--context", "shop:Shop")
    assert cli("db", "create", *shop).returncode == 0
    sql(cli, "CREATE VIEW public.order_labels AS SELECT label FROM shop.orders")
    refused = cli("db", "drop", *shop, "--yes")
    assert refused.returncode == 1
    assert "view order_labels" in refused.stderr and "--cascade" in refused.stderr
    assert table_exists(cli, "shop.orders") and table_exists(cli, "public.order_labels")
    dropped = cli("db", "drop", *shop, "--yes", "--cascade")
    assert dropped.returncode == 0, dropped.stderr
    lines = [line.split(". ", 1)[1] for line in dropped.stdout.splitlines() if ". " in line]
    assert lines == ["Drop table 'shop.orders' with its dependent objects (CASCADE)",
                     "Drop view order_labels (CASCADE)", "Drop schema 'shop'"]
    assert not table_exists(cli, "public.order_labels")


def test_drop_clears_the_journal_and_reset_replays_the_files(cli: Cli) -> None:
    assert cli("migration", "create", "create users", "--auto", *APP).returncode == 0
    assert cli("migration", "up", *APP).returncode == 0
    dropped = cli("db", "drop", *APP, "--yes")
    assert dropped.returncode == 0, dropped.stderr
    assert "Drop the migration journal '__linkgress_migrations' (1 applied" in dropped.stdout
    assert not table_exists(cli, "__linkgress_migrations")
    assert cli("migration", "status", *APP).stdout.startswith("pending")
    assert cli("migration", "up", *APP).returncode == 0  # the files run again
    assert cli("db", "check", *APP).returncode == 0
    reset = cli("db", "reset", *APP, "--yes")
    assert reset.returncode == 0, reset.stderr
    assert "Drop table 'users'" in reset.stdout and "applied: " in reset.stdout
    assert cli("migration", "status", *APP, "--check").returncode == 0
    from_model = cli("db", "reset", *APP, "--yes", "--from-model")
    assert from_model.returncode == 0, from_model.stderr
    assert "baselined (recorded, not run): " in from_model.stdout
    assert cli("db", "check", *APP).returncode == 0
    assert cli("migration", "status", *APP, "--check").returncode == 0


def test_reset_without_migrations_creates_from_the_model(cli: Cli) -> None:
    created = cli("db", "create", *APP)  # the CLI prints; no stray log record
    assert created.stdout.splitlines() == ["  1. Create table 'users'",
                                           "Schema created successfully"]
    reset = cli("db", "reset", *APP, "--yes")
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.splitlines() == [
        "Dropped:", "  1. Drop table 'users'", "Created:", "  1. Create table 'users'",
        "Schema reset: dropped 1, created 1 object(s)"]


# -- messages -----------------------------------------------------------------------------------


def test_missing_context_name_is_named(cli: Cli) -> None:
    missing = cli("db", "check", "--context", "models:Nope")
    assert missing.returncode == 2
    assert "module 'models' has no 'Nope' (it defines: App, AppSlim)" in missing.stderr
    wrong = cli("db", "check", "--context", "models:column")
    assert wrong.returncode == 2 and "not a DbContext subclass" in wrong.stderr


def test_missing_database_says_what_to_do(cli: Cli) -> None:
    from linkgress.client import drop_database
    from linkgress.dsn import dsn_with_database, parse_dsn

    name = f"{parse_dsn(cli.dsn).database}_new"
    target = dsn_with_database(cli.dsn, name)
    missing = cli("db", "create", *APP, "--dsn", target, dsn=False)
    assert missing.returncode == 1
    assert f'database "{name}" does not exist' in missing.stderr
    assert "--create-database" in missing.stderr and "Traceback" not in missing.stderr
    try:
        created = cli("db", "create", *APP, "--dsn", target, "--create-database", dsn=False)
        assert created.returncode == 0, created.stderr
        assert f"created database '{name}'" in created.stderr
        assert cli("db", "check", *APP, "--dsn", target, dsn=False).returncode == 0
    finally:
        asyncio.run(drop_database(dsn_with_database(cli.dsn, "postgres"), name))


# -- [tool.linkgress] ---------------------------------------------------------------------------


def test_unknown_or_mistyped_settings_are_errors(cli: Cli) -> None:
    pyproject = cli.cwd / "pyproject.toml"
    pyproject.write_text('[tool.linkgress]\ncontext = "models:App"\nmigration_dir = "x"\n')
    unknown = cli("db", "check")
    assert unknown.returncode == 2 and "unknown key 'migration_dir'" in unknown.stderr
    pyproject.write_text('[tool.linkgress]\ncontext = "models:App"\nlock_timeout = "5s"\n')
    mistyped = cli("db", "check")
    assert mistyped.returncode == 2 and "lock_timeout must be a number" in mistyped.stderr
    assert cli("db", "check", "--lock-timeout", "0").returncode == 2


def test_lock_wait_timeout_from_settings_and_flags(cli: Cli) -> None:
    from linkgress.schema.executor import MIGRATION_LOCK_KEY

    (cli.cwd / "pyproject.toml").write_text(
        '[tool.linkgress]\ncontext = "models:App"\nlock_wait_timeout = 0.5\n')

    async def migrate_while_locked(*flags: str) -> tuple[int, str, float]:
        conn = await asyncpg.connect(cli.dsn)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            started = time.monotonic()
            run = await asyncio.to_thread(cli, "db", "migrate", *flags)
            return run.returncode, run.stderr, time.monotonic() - started
        finally:
            await conn.close()

    code, stderr, elapsed = asyncio.run(migrate_while_locked())
    assert code == 1 and "timed out after 0.5s" in stderr and elapsed < 20, stderr
    code, stderr, elapsed = asyncio.run(migrate_while_locked("--lock-wait-timeout", "1.5"))
    assert code == 1 and "timed out after 1.5s" in stderr, stderr


def test_lock_timeout_from_settings_and_flags(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    (cli.cwd / "pyproject.toml").write_text(
        '[tool.linkgress]\ncontext = "models:AppSlim"\nlock_timeout = 0.5\n')

    async def migrate_while_users_is_read(*flags: str) -> tuple[int, str, float]:
        conn = await asyncpg.connect(cli.dsn)
        try:
            async with conn.transaction():  # a long read holds users against ALTER TABLE
                await conn.execute("LOCK TABLE users IN ACCESS SHARE MODE")
                started = time.monotonic()
                run = await asyncio.to_thread(cli, "db", "migrate", "--yes", *flags)
                return run.returncode, run.stderr, time.monotonic() - started
        finally:
            await conn.close()

    # The DDL waits lock_timeout per attempt, 6 attempts: at least 3 s with 0.5 s, far less
    # than the default 5 s would take (30 s); at least 9 s with the flag's 1.5 s.
    code, stderr, elapsed = asyncio.run(migrate_while_users_is_read())
    assert code == 1 and "canceling statement due to lock timeout" in stderr, stderr
    assert "nothing was applied" in stderr and 3 <= elapsed < 15, (elapsed, stderr)
    code, stderr, elapsed = asyncio.run(migrate_while_users_is_read("--lock-timeout", "1.5"))
    assert code == 1 and "lock timeout" in stderr and elapsed >= 9, (elapsed, stderr)


SEEDS = """
from models import App, User


async def seed(db: App) -> None:
    await db.users.insert_many([User(username="ann", email="a@x"),
                                User(username="bo", email="b@x")])


async def broken(db: App) -> None:
    raise RuntimeError("no fixtures here")


def not_async(db: App) -> None:
    pass
"""


def test_db_seed_creates_then_runs_the_project_seed(cli: Cli) -> None:
    (cli.cwd / "seeds.py").write_text(SEEDS)
    (cli.cwd / "pyproject.toml").write_text(
        '[tool.linkgress]\ncontext = "models:App"\nseed = "seeds:seed"\n')
    seeded = cli("db", "seed")
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.splitlines() == ["  1. Create table 'users'", "Seeded (seeds:seed)"]
    assert sql(cli, "SELECT count(*) AS n FROM users")[0]["n"] == 2
    broken = cli("db", "seed", "--seed", "seeds:broken")
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        "error: seed seeds:broken failed: RuntimeError: no fixtures here")
    wrong = cli("db", "seed", "--seed", "seeds:not_async")
    assert wrong.returncode == 2 and "expected an async function" in wrong.stderr


SLOW = """
from linkgress import DbContext, Entity, column, text, varchar


class User(Entity):
    id: int
    username: str = column(varchar(100), check="pg_sleep(1.1)::text = ''")
    email: str = column(text(), unique=True)


class Slow(DbContext):
    users = DbContext.table(User)
"""


def test_terminal_shows_slow_operations_and_the_total_time(cli: Cli) -> None:
    (cli.cwd / "slow.py").write_text(SLOW)
    assert cli("db", "create", *APP).returncode == 0
    sql(cli, "INSERT INTO users (username, email) VALUES ('ann', 'a@x')")
    code, screen = cli.in_terminal("db", "migrate", "--context", "slow:Slow")
    assert code == 0, screen
    assert re.search(r"✓\x1b\[0m Create check constraint 'users_username_check' .*"
                     r"\x1b\[2m  \([12]\.\d s\)", screen), screen
    assert re.search(r"Migration completed successfully in \d+\.\d s", screen), screen
    plain = cli("db", "migrate", "--context", "slow:Slow")  # no terminal: no times
    assert " s)" not in plain.stdout and "successfully in" not in plain.stdout


def test_terminal_plan_marks_destructive_operations(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    code, screen = cli.in_terminal("db", "analyze", "--context", "models:AppSlim")
    assert code == 0, screen
    assert "\x1b[31m  2. Drop column 'users.email'  [destructive]\x1b[0m" in screen
    plain = cli("db", "analyze", "--context", "models:AppSlim")  # no terminal: the plain plan
    assert "  2. Drop column 'users.email'" in plain.stdout
    assert "[destructive]" not in plain.stdout and "\x1b[" not in plain.stdout
    code, screen = cli.in_terminal("db", "analyze", "--context", "models:AppSlim",
                                   env={"NO_COLOR": "1"})  # a terminal, but no colour
    assert code == 0, screen
    assert "  2. Drop column 'users.email'" in screen and "\x1b[" not in screen
    code, screen = cli.in_terminal("db", "migrate", "--context", "models:AppSlim", "--yes")
    assert code == 0, screen
    assert "\x1b[31m  2. Drop column 'users.email'  [destructive]\x1b[0m" in screen
