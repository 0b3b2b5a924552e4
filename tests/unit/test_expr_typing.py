"""The methods of expression categories (JSONB, arrays, flags, full-text search, windows) are
declared on ``Expr``: a type checker reports a misspelt one, and at run time a method used on
a column of another category still fails where it is called, naming the method and the type."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from linkgress import PgClient
from linkgress.errors import QueryBuildError
from linkgress.query import Expr
from linkgress.query.extensions import EXTENSIONS
from tests.integration.typed_models import Shop

SRC = Path(__file__).resolve().parents[2] / "src"

MODEL = """\
    from __future__ import annotations

    import enum

    from linkgress import DbContext, Entity
    from linkgress.query import Expr, func


    class Perm(enum.IntFlag):
        READ = 1
        WRITE = 2


    class Post(Entity):
        id: int
        title: str
        tags: list[str]
        perms: Perm


    class Blog(DbContext):
        posts = DbContext.table(Post)

"""

CORRECT = MODEL + """\
    def conditions(title: Expr, tags: Expr, data: Expr, perms: Expr) -> list[Expr]:
        return [title.matches("orm & python", config="english"), title.contains("x"),
                tags.overlaps(["a"]), tags.any_eq("b"), tags.contains(["c"]),
                data["k"].as_text() == "v", data.has_key("k"), data.contains({"k": 1}),
                perms.has_flag(Perm.READ), perms.has_all(Perm.READ | Perm.WRITE),
                perms.has_any(Perm.WRITE), perms.has_none(Perm.WRITE),
                title.over(partition_by=tags).rows_between(-1, 0) > 1]


    async def counts(db: Blog) -> int:
        several: Expr = db.posts.count() > 1
        reflected: Expr = 1 < db.posts.count()
        assert several is not reflected
        total: int = await db.posts.count()
        return total + len(func.__class__.__name__)
"""

MISSPELT = MODEL + """\
    def conditions(title: Expr, tags: Expr, perms: Expr) -> list[Expr]:
        return [title.lenght(), tags.overlap(["a"]), perms.has_flags(Perm.READ)]
"""


def test_every_registered_category_method_is_declared_on_expr() -> None:
    declared = {name for name in EXTENSIONS if name != "__getitem__"}
    assert declared == {"as_text", "has_key", "contains", "overlaps", "any_eq", "has_flag",
                        "has_all", "has_any", "has_none", "matches", "over"}
    for name in declared:
        assert callable(getattr(Expr, name)), name


def test_a_misspelt_method_is_an_attribute_error_and_a_wrong_category_a_build_error() -> None:
    db = Shop(PgClient(dsn="postgresql://nobody@127.0.0.1:1/none"))  # never connects
    with pytest.raises(AttributeError, match="lenght"):
        db.products.where(lambda p: p.name.lenght() > 1)
    with pytest.raises(QueryBuildError,
                       match=r"has_key\(\) needs a json/jsonb column, got Product.name \(text\)"):
        db.products.where(lambda p: p.name.has_key("k"))
    with pytest.raises(QueryBuildError,
                       match=r"overlaps\(\) needs an array column, got Product.price \(num\)"):
        db.products.where(lambda p: p.price.overlaps([1]))


def run_mypy(tmp_path: Path, sources: dict[str, str]) -> dict[str, list[str]]:
    for name, source in sources.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    env = {**os.environ, "MYPYPATH": str(SRC)}  # this checkout's linkgress, not an installed one
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--hide-error-context",
         "--python-version", "3.11", "--cache-dir", str(tmp_path / "cache"),
         "--follow-imports", "silent", *(f"{name}.py" for name in sources)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    errors: dict[str, list[str]] = {name: [] for name in sources}
    for line in done.stdout.splitlines():
        found = re.match(r"(\w+)\.py:\d+: error: (.*)", line)
        assert found, line
        errors[found[1]].append(found[2])
    return errors


def test_mypy_reports_a_misspelt_method_and_accepts_the_real_ones(tmp_path: Path) -> None:
    errors = run_mypy(tmp_path, {"correct": CORRECT, "misspelt": MISSPELT})
    assert errors["correct"] == []
    # (mypy versions differ in the "maybe ...?" hint they add)
    assert [e.split(";")[0].split("  [")[0] for e in errors["misspelt"]] == [
        '"Expr" has no attribute "lenght"', '"Expr" has no attribute "overlap"',
        '"Expr" has no attribute "has_flags"']
