"""docs/testing.md runs as written: its ``# pyproject.toml`` and ``# tests/...`` blocks become a
small project (with ``myapp/database.py``), and pytest runs it in a subprocess — with
pytest-asyncio's default loop scopes, the plugin found through its entry point, and ``myapp``
importable only through the documented ``pythonpath``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from linkgress.testing import temporary_database
from tests.integration.cli_support import CLEARED, SRC

DOCS = Path(__file__).resolve().parents[2] / "docs"

DATABASE = """
from linkgress import DbContext, Entity, column, varchar


class User(Entity):
    id: int
    username: str = column(varchar(100))


class AppDatabase(DbContext):
    users = DbContext.table(User)
"""


def documented_files(page: Path) -> dict[str, str]:
    """Code blocks whose first line is ``# <relative path>``, by that path."""
    blocks = re.findall(r"```(?:python|toml)\n# (\S+)\n(.*?)```",
                        page.read_text(encoding="utf-8"), flags=re.S)
    return dict(blocks)


def test_testing_page_runs_as_a_project(tmp_path: Path, linkgress_server_dsn: str) -> None:
    files = documented_files(DOCS / "testing.md")
    assert {"pyproject.toml", "tests/test_basics.py", "tests/test_session_schema.py",
            "tests/test_migrations.py"} <= set(files)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "database.py").write_text(DATABASE)
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env |= {"PYTHONPATH": SRC, "DATABASE_URL": linkgress_server_dsn}
    with temporary_database(linkgress_server_dsn) as empty:  # the project's first migration
        scaffold = subprocess.run(
            [sys.executable, "-m", "linkgress", "migration", "create", "init", "--auto",
             "--context", "myapp.database:AppDatabase", "--dsn", empty], cwd=tmp_path,
            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert scaffold.returncode == 0, scaffold.stderr
    # -P: the working directory is not put on sys.path, as with the `pytest` script.
    run = subprocess.run([sys.executable, "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-W", "error"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 passed" in run.stdout
    without = (tmp_path / "pyproject.toml").read_text().replace('pythonpath = ["."]', "")
    (tmp_path / "pyproject.toml").write_text(without)
    broken = subprocess.run([sys.executable, "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert "No module named 'myapp'" in broken.stdout  # the documented line is what makes it work
