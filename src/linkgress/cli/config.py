"""Where the CLI's context, migrations directory and database come from.

- Context: ``--context module:Class``, else ``[tool.linkgress] context`` in the nearest
  ``pyproject.toml`` (searched from the working directory upwards).
- Migrations directory: ``--migrations-directory``, else ``[tool.linkgress]
  migrations_directory`` (relative to that ``pyproject.toml``), else ``migrations``.
- Lock timeouts: ``--lock-timeout`` / ``--lock-wait-timeout``, else the same keys of
  ``[tool.linkgress]``, else ``migrate()``'s defaults.
- Hazard policy (``db lint``): ``[tool.linkgress] allow_hazards = [...]`` plus
  ``--allow-hazard``. Any other key of ``[tool.linkgress]`` is an error.
- Database: ``--dsn``, else ``DATABASE_URL``, else ``DB_HOST``/``DB_PORT``/``DB_NAME``/
  ``DB_USER``/``DB_PASSWORD``, else an embedded PostgreSQL kept under ``.linkgress/`` in the
  working directory (announced on stderr). A present but empty or malformed variable is a
  usage error naming it; the embedded fallback happens only when nothing is set, and never
  with ``LINKGRESS_ENV``/``APP_ENV=production`` or ``CI`` set.

After ``--dsn``, the database rule is :func:`linkgress.dsn.database_from_env`, the one
``PgClient.from_env()`` follows too.
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

if TYPE_CHECKING:
    from linkgress.context import DbContext

PRODUCTION_ENV_VARS = ("LINKGRESS_ENV", "APP_ENV")
_T = TypeVar("_T")


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
    lock_timeout: float | None = None
    lock_wait_timeout: float | None = None
    seed: str | None = None
    allow_hazards: tuple[str, ...] = ()


_SETTINGS: dict[str, type | tuple[type, ...]] = {
    "context": str, "migrations_directory": str, "seed": str,
    "lock_timeout": (int, float), "lock_wait_timeout": (int, float), "allow_hazards": list}


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
    for key, value in section.items():
        if key == "allow_hazards":
            section[key] = hazard_codes(value, f"{path}: [tool.linkgress] allow_hazards")
            continue
        expected = _SETTINGS.get(key)
        if expected is None:
            raise UsageError(f"{path}: [tool.linkgress] has an unknown key {key!r} (known: "
                             f"{', '.join(_SETTINGS)})")
        if not isinstance(value, expected) or isinstance(value, bool):
            kind = "a string" if expected is str else "a number of seconds"
            raise UsageError(f"{path}: [tool.linkgress] {key} must be {kind}, got {value!r}")
        if isinstance(value, int | float) and value <= 0:
            raise UsageError(f"{path}: [tool.linkgress] {key} must be positive, got {value!r}")
    return ProjectSettings(root=path.parent, **section)


def hazard_codes(value: object, where: str) -> tuple[str, ...]:
    """``value`` checked to be a list of hazard codes (see :mod:`linkgress.schema.hazards`)."""
    from linkgress.schema.hazards import HAZARDS

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where} must be a list of strings, got {value!r}")
    unknown = [v for v in value if v not in HAZARDS]
    if unknown:
        raise UsageError(f"{where}: unknown hazard {unknown[0]!r} (known: "
                         f"{', '.join(HAZARDS)})")
    return tuple(value)


def positive_seconds(raw: str) -> float:
    """argparse type for ``--lock-timeout`` / ``--lock-wait-timeout``."""
    import argparse

    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {raw!r}")
    return value


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

    spec, module_name, attr = _split_spec(spec or project.context, "context", "module:Class")
    module = _import_project_module(module_name, project, "context")
    found: Any = module
    for part in attr.split("."):
        if not hasattr(found, part):
            raise UsageError(f"--context {spec}: module {module_name!r} has no {part!r} "
                             f"(it defines: {', '.join(_context_names(module)) or 'no DbContext'})")
        found = getattr(found, part)
    if not (isinstance(found, type) and issubclass(found, DbContext)):
        raise UsageError(f"--context {spec}: {attr} is a {type(found).__name__}, not a "
                         "DbContext subclass")
    return found


def _split_spec(spec: str | None, key: str, shape: str) -> tuple[str, str, str]:
    """``(spec, module, attribute)`` of a ``--KEY module:name`` option or ``[tool.linkgress]``
    KEY; :class:`UsageError` when it is missing or not of that shape."""
    if not spec:
        raise UsageError(f"no {key}: pass --{key} {shape} or set {key} in "
                         "[tool.linkgress] of pyproject.toml")
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--{key} must look like {shape}, got {spec!r}")
    return spec, module_name, attr


def _import_project_module(name: str, project: ProjectSettings, what: str) -> Any:
    # A console script does not have the working directory on sys.path; `python -m` does.
    for directory in (Path.cwd(), project.root):
        if directory is not None and str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UsageError(f"cannot import {what} module {name!r}: {exc}") from exc


def load_seed_function(spec: str | None, project: ProjectSettings) -> Any:
    """Import the ``module:function`` seeding coroutine function (``--seed`` or
    ``[tool.linkgress] seed``); :class:`UsageError` when none is configured or it is not one."""
    import inspect

    spec, module_name, attr = _split_spec(spec or project.seed, "seed", "module:function")
    found = getattr(_import_project_module(module_name, project, "seed"), attr, None)
    if not inspect.iscoroutinefunction(found):
        raise UsageError(f"seed {spec}: expected an async function taking the context, got "
                         f"{type(found).__name__ if found is not None else 'nothing'}")
    return found


def _context_names(module: Any) -> list[str]:
    from linkgress.context import DbContext

    return sorted(name for name, value in vars(module).items()
                  if isinstance(value, type) and issubclass(value, DbContext)
                  and value is not DbContext)


def _usage(function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)``, its :class:`~linkgress.errors.LinkgressError` as a
    :class:`UsageError` (exit 2)."""
    from linkgress.errors import LinkgressError

    try:
        return function(*args)
    except LinkgressError as exc:
        raise UsageError(str(exc)) from None


def configured_database(environ: Mapping[str, str]) -> str | None:
    """The DSN the environment configures, or None for the embedded server: the rule of
    :func:`linkgress.dsn.database_from_env` (shared with ``PgClient.from_env()``), its errors
    as :class:`UsageError`."""
    from linkgress.dsn import database_from_env

    return _usage(database_from_env, environ)


def resolve_dsn(option: str | None, environ: Mapping[str, str], stderr: TextIO) -> str:
    """The DSN to use: ``--dsn``, else the environment, else (only when nothing is set, and
    never in production or CI) the embedded server, announced on ``stderr``."""
    from linkgress.dsn import checked_url

    if option is not None:
        return _usage(checked_url, option, "--dsn")
    configured = configured_database(environ)
    if configured is not None:
        return configured
    from linkgress.embedded import DATA_DIRNAME, cluster_root, start_embedded_server

    data_dir = Path.cwd() / DATA_DIRNAME
    where = cluster_root(data_dir)
    stderr.write(f"linkgress: no database configured (--dsn, DATABASE_URL or DB_HOST...); "
                 f"using the embedded PostgreSQL in {where}\n")
    stderr.flush()
    return _usage(start_embedded_server, data_dir)


def production_guard(action: str, force: bool, environ: Mapping[str, str] = os.environ) -> None:
    """Raise :class:`Refusal` for ``action`` when the environment says production."""
    for var in PRODUCTION_ENV_VARS:
        if environ.get(var, "").strip().lower() == "production" and not force:
            raise Refusal(f"refusing to {action}: {var}=production (pass --force to do it "
                          "anyway)")
