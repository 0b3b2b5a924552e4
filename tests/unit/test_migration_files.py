"""Loading migration files: order, validation before anything runs, no sys.modules residue."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from linkgress.errors import MigrationFileError
from linkgress.migrations import Migration
from linkgress.migrations.files import file_checksum, load_migrations, migration_paths

GOOD = """
from linkgress import Migration, SchemaBuilder


class {name}(Migration):
    async def up(self, schema: SchemaBuilder) -> None:
        await schema.execute("SELECT 1")

    async def down(self, schema: SchemaBuilder) -> None:
        await schema.execute("SELECT 2")
"""


def write(directory: Path, filename: str, source: str) -> Path:
    path = directory / filename
    path.write_text(textwrap.dedent(source))
    return path


def test_files_load_in_lexicographic_order_without_init_py(tmp_path: Path) -> None:
    write(tmp_path, "20260102_000000_b.py", GOOD.format(name="B"))
    write(tmp_path, "20260101_000000_a.py", GOOD.format(name="A"))
    write(tmp_path, "_helpers.py", "raise RuntimeError('never imported')")
    write(tmp_path, "notes.txt", "not python")
    loaded = load_migrations(tmp_path)
    assert [m.name for m in loaded] == ["20260101_000000_a", "20260102_000000_b"]
    assert [m.migration_class.__name__ for m in loaded] == ["A", "B"]
    assert isinstance(loaded[0].instantiate(), Migration)
    assert loaded[0].checksum == file_checksum(tmp_path / "20260101_000000_a.py")


def test_loading_leaves_no_module_behind(tmp_path: Path) -> None:
    write(tmp_path, "001_a.py", GOOD.format(name="A"))
    before = set(sys.modules)
    load_migrations(tmp_path)
    assert set(sys.modules) - before == set()


def test_checksum_changes_when_the_file_is_edited(tmp_path: Path) -> None:
    path = write(tmp_path, "001_a.py", GOOD.format(name="A"))
    first = file_checksum(path)
    path.write_text(path.read_text() + "\n# edited\n")
    assert file_checksum(path) != first


@pytest.mark.parametrize(("source", "message"), [
    ("x = 1\n", "exactly one Migration subclass, found 0"),
    (GOOD.format(name="A") + GOOD.format(name="B").split("\n", 3)[3],
     "exactly one Migration subclass, found 2"),
    ("from linkgress import Migration\n\nclass A(Migration):\n"
     "    async def up(self, schema):\n        pass\n", "A does not define down()"),
    ("from linkgress import Migration\n\nclass A(Migration):\n"
     "    def up(self, schema):\n        pass\n"
     "    async def down(self, schema):\n        pass\n", "A.up must be 'async def'"),
    ("def broken(:\n", "cannot be imported: SyntaxError"),
    ("import no_such_module_anywhere\n", "cannot be imported: ModuleNotFoundError"),
])
def test_malformed_file_is_reported_with_its_path(tmp_path: Path, source: str,
                                                   message: str) -> None:
    path = write(tmp_path, "002_bad.py", source)
    write(tmp_path, "001_good.py", GOOD.format(name="Good"))
    with pytest.raises(MigrationFileError) as info:
        load_migrations(tmp_path)
    assert message in str(info.value)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)


def test_importing_a_migration_class_from_elsewhere_does_not_count(tmp_path: Path) -> None:
    write(tmp_path, "001_a.py", "from linkgress.migrations import Migration as Base\n"
          + GOOD.format(name="A"))
    assert [m.migration_class.__name__ for m in load_migrations(tmp_path)] == ["A"]


def test_every_malformed_file_is_listed(tmp_path: Path) -> None:
    first = write(tmp_path, "001_bad.py", "x = 1\n")
    second = write(tmp_path, "002_bad.py", "y = 2\n")
    with pytest.raises(MigrationFileError, match="2 malformed migration files") as info:
        load_migrations(tmp_path)
    assert str(first) in str(info.value) and str(second) in str(info.value)
    assert info.value.path == str(first)


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MigrationFileError, match="does not exist"):
        migration_paths(tmp_path / "nope")
