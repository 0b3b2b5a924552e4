"""``linkgress db lint`` and the hazards ``db analyze`` shows, run as a subprocess against a
real database."""

from __future__ import annotations

import json

from tests.integration.cli_support import APP, SLIM, Cli

DROP_KEY = "Drop unique constraint 'users_email_key': blocks_reads, blocks_writes"
DROP_EMAIL = "Drop column 'users.email': blocks_reads, blocks_writes, destructive"


def test_lint_passes_on_a_plan_without_hazards(cli: Cli) -> None:
    fresh = cli("db", "lint", *APP)  # creating a table holds no hazard
    assert fresh.returncode == 0, fresh.stderr
    assert "Lint passed: 1 pending operation(s)" in fresh.stdout
    assert cli("db", "create", *APP).returncode == 0
    assert cli("db", "lint", *APP).returncode == 0  # nothing pending


def test_lint_fails_on_a_hazard_not_allowed_and_names_it(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    failed = cli("db", "lint", *SLIM)
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [
        "Lint failed: 2 operation(s) with hazards not allowed", f"  - {DROP_KEY}",
        f"  - {DROP_EMAIL}"]
    partly = cli("db", "lint", *SLIM, "--allow-hazard", "blocks_reads",
                 "--allow-hazard", "blocks_writes")
    assert partly.returncode == 1
    assert "  - Drop column 'users.email': destructive" in partly.stdout
    allowed = cli("db", "lint", *SLIM, "--allow-hazard", "blocks_reads", "--allow-hazard",
                  "blocks_writes", "--allow-hazard", "destructive")
    assert allowed.returncode == 0, allowed.stdout
    assert cli("db", "check", *SLIM).returncode == 1  # lint changed nothing


def test_lint_reads_the_project_policy(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    (cli.cwd / "pyproject.toml").write_text(
        '[tool.linkgress]\nallow_hazards = ["blocks_reads", "blocks_writes"]\n')
    only_destructive = cli("db", "lint", *SLIM)
    assert only_destructive.returncode == 1
    assert "  - Drop column 'users.email': destructive" in only_destructive.stdout
    assert cli("db", "lint", *SLIM, "--allow-hazard", "destructive").returncode == 0
    (cli.cwd / "pyproject.toml").write_text(
        '[tool.linkgress]\nallow_hazards = ["locks_everything"]\n')
    bad = cli("db", "lint", *SLIM)
    assert bad.returncode == 2
    assert "allow_hazards: unknown hazard 'locks_everything'" in bad.stderr
    (cli.cwd / "pyproject.toml").unlink()
    bad_flag = cli("db", "lint", *SLIM, "--allow-hazard", "nope")
    assert bad_flag.returncode == 2 and "--allow-hazard: unknown hazard 'nope'" in bad_flag.stderr


def test_analyze_shows_hazards_in_text_and_json(cli: Cli) -> None:
    assert cli("db", "create", *APP).returncode == 0
    text = cli("db", "analyze", *SLIM)
    assert text.returncode == 0
    assert f"Hazards:\n  1. {DROP_KEY}\n  2. {DROP_EMAIL}\n" in text.stdout
    document = json.loads(cli("db", "analyze", *SLIM, "--format", "json").stdout)
    drop = next(op for op in document["operations"] if op["type"] == "drop_column")
    assert drop["hazards"] == ["blocks_reads", "blocks_writes", "destructive"]
    assert all("hazards" in op for op in document["operations"])
