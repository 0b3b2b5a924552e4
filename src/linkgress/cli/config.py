"""Where the CLI's context, migrations directory and database come from.

- Context: ``--context module:Class``, else ``[tool.linkgress] context`` in the nearest
  ``pyproject.toml`` (searched from the working directory upwards).
- Migrations directory: ``--migrations-directory``, else ``[tool.linkgress]
  migrations_directory`` (relative to that ``pyproject.toml``), else ``migrations``.
- Database: ``--dsn``, else ``DATABASE_URL``, else ``DB_HOST``/``DB_PORT``/``DB_NAME``/
  ``DB_USER``/``DB_PASSWORD``, else an embedded PostgreSQL kept under ``.linkgress/`` in the
  working directory (announced on stderr).
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from linkgress.context import DbContext

DB_ENV_VARS = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
PRODUCTION_ENV_VARS = ("LINKGRESS_ENV", "APP_ENV")
EMBEDDED_DIRNAME = ".linkgress"


class UsageError(Exception):
    """A problem with how the command was called (exit code 2)."""


class Refusal(Exception):
    """The command refuses to run, e.g. the production guard (exit code 1)."""


@dataclass(frozen=True)
class ProjectSettings:
    """``[tool.linkgress]`` of the nearest ``pyproject.toml`` (``root`` is its directory)."""

    root: Path | None = None
    context: str | None = None
    migrations_directory: str | None = None


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` or a parent directory."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_project_settings(start: Path) -> ProjectSettings:
    """Read ``[tool.linkgress]``; an unreadable file is a :class:`UsageError`."""
    path = find_pyproject(start)
    if path is None:
        return ProjectSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    section: Any = data.get("tool", {}).get("linkgress", {})
    if not isinstance(section, dict):
        raise UsageError(f"{path}: [tool.linkgress] must be a table")
    return ProjectSettings(root=path.parent, context=section.get("context"),
                           migrations_directory=section.get("migrations_directory"))


def migrations_directory(option: str | None, project: ProjectSettings) -> Path:
    """The migrations directory the command uses."""
    if option:
        return Path(option)
    if project.migrations_directory and project.root is not None:
        return project.root / project.migrations_directory
    return Path("migrations")


def load_context_class(spec: str | None, project: ProjectSettings) -> type[DbContext]:
    """Import the ``module:Class`` context; :class:`UsageError` when none is configured."""
    from linkgress.context import DbContext

    spec = spec or project.context
    if not spec:
        raise UsageError("no context: pass --context module:Class or set context in "
                         "[tool.linkgress] of pyproject.toml")
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--context must look like module:Class, got {spec!r}")
    # A console script does not have the working directory on sys.path; `python -m` does.
    for directory in (Path.cwd(), project.root):
        if directory is not None and str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import context module {module_name!r}: {exc}") from exc
    found: Any = module
    for part in attr.split("."):
        found = getattr(found, part, None)
    if not (isinstance(found, type) and issubclass(found, DbContext)):
        raise UsageError(f"{spec!r} is not a DbContext subclass")
    return found


def resolve_dsn(option: str | None, environ: Mapping[str, str], stderr: TextIO) -> str:
    """The DSN to use, starting the embedded server when nothing is configured."""
    from linkgress.client import PgClient

    if option:
        return option
    if environ.get("DATABASE_URL", "").strip() or any(environ.get(v) for v in DB_ENV_VARS):
        return PgClient.from_env(environ=environ).dsn
    from linkgress.embedded import start_embedded_server

    data_dir = Path.cwd() / EMBEDDED_DIRNAME
    stderr.write(f"linkgress: no database configured (--dsn, DATABASE_URL or DB_HOST...); "
                 f"using the embedded PostgreSQL in {data_dir}\n")
    stderr.flush()
    return start_embedded_server(data_dir, keep=True)


def production_guard(action: str, force: bool, environ: Mapping[str, str] = os.environ) -> None:
    """Raise :class:`Refusal` for ``action`` when the environment says production."""
    for var in PRODUCTION_ENV_VARS:
        if environ.get(var, "").strip().lower() == "production" and not force:
            raise Refusal(f"refusing to {action}: {var}=production (pass --force to do it "
                          "anyway)")
