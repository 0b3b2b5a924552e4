"""Migration files: discovery in lexicographic order, checksums, and validated loading.

A file is imported by its path under a private module name; the module is in ``sys.modules``
only while it executes (dataclasses and typing need that) and removed afterwards, so loading
never leaves migration modules behind and the directory needs no ``__init__.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from linkgress.errors import MigrationFileError

from .base import Migration


@dataclass(frozen=True)
class MigrationFile:
    """One loaded migration: ``name`` is the file name without ``.py`` (the journal key)."""

    name: str
    path: Path
    checksum: str
    migration_class: type[Migration]

    def instantiate(self) -> Migration:
        """A fresh instance of the file's migration class."""
        return self.migration_class()


def file_checksum(path: Path) -> str:
    """SHA-256 of the file's bytes, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def migration_paths(directory: Path) -> list[Path]:
    """The ``*.py`` files of ``directory`` (not ``_``-prefixed), in lexicographic order.

    Raises :class:`MigrationFileError` when the directory does not exist.
    """
    if not directory.is_dir():
        raise MigrationFileError("the migrations directory does not exist", path=str(directory))
    return sorted((p for p in directory.glob("*.py") if not p.name.startswith("_")),
                  key=lambda p: p.name)


def _import_by_path(path: Path) -> ModuleType:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"_linkgress_migration_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise MigrationFileError("cannot be loaded as a Python module", path=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationFileError(f"cannot be imported: {type(exc).__name__}: {exc}",
                                 path=str(path)) from exc
    finally:
        sys.modules.pop(module_name, None)
    return module


def _migration_class(module: ModuleType, path: Path) -> type[Migration]:
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, Migration) and v is not Migration
             and v.__module__ == module.__name__]
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise MigrationFileError(
            f"must define exactly one Migration subclass, found {len(found)} ({names})",
            path=str(path))
    cls = found[0]
    for method in ("up", "down"):
        impl = getattr(cls, method)
        if impl is getattr(Migration, method):
            raise MigrationFileError(f"{cls.__name__} does not define {method}()",
                                     path=str(path))
        if not inspect.iscoroutinefunction(impl):
            raise MigrationFileError(f"{cls.__name__}.{method} must be 'async def'",
                                     path=str(path))
    return cls


def load_migration_file(path: Path) -> MigrationFile:
    """Import and validate one file; raises :class:`MigrationFileError` naming it."""
    module = _import_by_path(path)
    return MigrationFile(name=path.stem, path=path, checksum=file_checksum(path),
                         migration_class=_migration_class(module, path))


def load_migrations(directory: str | Path) -> list[MigrationFile]:
    """Load every migration file of ``directory`` in order, validating all of them first.

    Raises :class:`MigrationFileError` listing every malformed file (``path`` is the first);
    nothing has run at that point.
    """
    loaded: list[MigrationFile] = []
    errors: list[MigrationFileError] = []
    for path in migration_paths(Path(directory)):
        try:
            loaded.append(load_migration_file(path))
        except MigrationFileError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        lines = "\n  ".join(str(e) for e in errors)
        error = MigrationFileError(f"{len(errors)} malformed migration files:\n  {lines}")
        error.path = errors[0].path
        raise error from errors[0]
    return loaded
