"""Argument parsing and dispatch for the ``linkgress`` command; kept thin on purpose.

Exit codes: 0 success, 1 failure / drift / refusal (with one line saying why), 2 usage error.
Tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path

from . import commands, drop, journaled, pull
from .config import Refusal, UsageError, positive_seconds, read_project_settings
from .lint import add_lint_command
from .output import Output

Command = Callable[[commands.Env], Coroutine[None, None, int]]


def _common(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand."""
    # In the subcommands the defaults are suppressed, so a value given before the subcommand
    # is not overwritten by the subparser's default.
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--context", metavar="MODULE:CLASS", default=default,
                        help="the DbContext class (default: [tool.linkgress] context)")
    parent.add_argument("--dsn", default=default,
                        help="database URL (default: DATABASE_URL, DB_HOST/..., or embedded)")
    parent.add_argument("--migrations-directory", "-d", metavar="DIR", default=default,
                        help="migration files (default: [tool.linkgress] "
                             "migrations_directory, or ./migrations)")
    parent.add_argument("--lock-timeout", metavar="SECONDS", type=positive_seconds,
                        default=default, help="each DDL statement's wait for table locks "
                        "(default: [tool.linkgress] lock_timeout, or 5)")
    parent.add_argument("--lock-wait-timeout", metavar="SECONDS", type=positive_seconds,
                        default=default, help="the wait for another migrator's lock "
                        "(default: [tool.linkgress] lock_wait_timeout, or 60)")
    parent.add_argument("--verbose", "-v", action="store_true",
                        default=argparse.SUPPRESS if suppress else False,
                        help="debug logging, and tracebacks on errors")
    return parent


def _leaf(group: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
          command: Command, help_text: str) -> argparse.ArgumentParser:
    parser = group.add_parser(name, parents=[_common(True)], help=help_text,
                              description=help_text)
    parser.set_defaults(command=command)
    return parser


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="json: one JSON document on stdout, for scripts")


def _create_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--create-database", action="store_true",
                        help="create the database first when it does not exist")


def _migrate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-destructive", "--yes", "-y", dest="allow_destructive",
                        action="store_true", help="consent to destructive operations")
    parser.add_argument("--defer-destructive", action="store_true",
                        help="apply all but destructive operations (run db contract later)")
    parser.add_argument("--online", action="store_true",
                        help="forms that do not block writers: concurrent indexes, NOT VALID "
                             "+ VALIDATE (long steps run after the commit)")


def _db_commands(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = _leaf(group, "migrate", commands.db_migrate,
                    "bring the database to the model (prints the plan first)")
    _migrate_options(migrate)
    contract = _leaf(group, "contract", commands.db_contract,
                     "apply the destructive operations db migrate --defer-destructive deferred")
    contract.add_argument("--allow-destructive", "--yes", "-y", dest="allow_destructive",
                          action="store_true", help="consent to destructive operations")
    _format_option(_leaf(group, "analyze", commands.db_analyze,
                         "print the plan; change nothing"))
    _format_option(_leaf(group, "check", commands.db_check,
                         "exit 1 when the database differs from the model"))
    _leaf(group, "sql", commands.db_sql, "print the SQL a migrate would run")
    create = _leaf(group, "create", commands.db_create,
                   "create the model's schema (ensure_created)")
    seed = _leaf(group, "seed", commands.db_seed, "create what is missing, then run the "
                 "project's seeding function ([tool.linkgress] seed)")
    seed.add_argument("--seed", metavar="MODULE:FUNCTION",
                      help="the async seeding function (default: [tool.linkgress] seed)")
    for leaf in (migrate, create, seed):
        _create_database_option(leaf)
    _pull_command(group)
    for name, command, text in (
            ("drop", drop.db_drop, "drop what linkgress manages, and the migration journal"),
            ("reset", drop.db_reset, "drop, then replay the migration files (or, without "
                                     "any, create the schema from the model)")):
        leaf = _leaf(group, name, command, text + "; asks first (refused when "
                     "LINKGRESS_ENV/APP_ENV is production)")
        _drop_options(leaf, reset=name == "reset")


def _drop_options(leaf: argparse.ArgumentParser, *, reset: bool) -> None:
    """``db drop`` / ``db reset``: consent, cascade, the production override."""
    leaf.add_argument("--yes", "-y", action="store_true",
                      help="do not ask (required when stdin is not a terminal)")
    leaf.add_argument("--cascade", action="store_true",
                      help="also drop objects linkgress does not manage that depend on "
                           "its tables (views, foreign keys)")
    leaf.add_argument("--force", action="store_true", help="run even in production")
    if reset:
        _create_database_option(leaf)
        leaf.add_argument("--from-model", action="store_true",
                          help="journaled project: create the schema from the model and "
                               "record the files as applied instead of running them")


def _pull_command(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    leaf = _leaf(group, "pull", pull.db_pull,
                 "write the model of an existing database (needs no context)")
    leaf.add_argument("--schema", action="append", metavar="NAME",
                      help="a schema to read (repeatable; default: public)")
    leaf.add_argument("--exclude", action="append", metavar="PATTERN",
                      help="leave out tables matching this pattern (repeatable)")
    leaf.add_argument("--output", "-o", metavar="FILE",
                      help="write the module here (default: standard output)")
    leaf.add_argument("--class-name", default="Database",
                      help="the DbContext subclass's name (default: Database)")
    leaf.add_argument("--force", action="store_true", help="overwrite --output if it exists")


def _migration_commands(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = _leaf(group, "create", journaled.migration_create, "write a new migration file")
    create.add_argument("name", help="what the migration does, e.g. add_phone")
    create.add_argument("--auto", action="store_true",
                        help="fill it from the differences between database and model")
    create.add_argument("--no-format", action="store_true",
                        help="do not run ruff format on the new file (it runs when ruff is "
                             "installed)")
    _up_command(group)
    down = _leaf(group, "down", journaled.migration_down, "revert applied migrations")
    down.add_argument("n", nargs="?", type=int, help="how many (default 1)")
    down.add_argument("--batch", action="store_true", help="revert the whole last batch")
    down.add_argument("--to", metavar="NAME", help="revert the migrations applied after NAME "
                      "(NAME stays applied); --to base reverts every one")
    down.add_argument("--dry-run", action="store_true", help="show the SQL; change nothing")
    status = _leaf(group, "status", journaled.migration_status,
                   "list migrations and their state")
    _format_option(status)
    _leaf(group, "history", journaled.migration_history,
          "the applied migrations, in the order they were applied")
    _leaf(group, "current", journaled.migration_current, "the newest applied migration")
    stamp = _leaf(group, "stamp", journaled.migration_stamp,
                  "record a migration (and pending ones before it) as applied without "
                  "running it")
    stamp.add_argument("name", help="the migration, e.g. 20260115_093000_add_phone")
    status.add_argument("--check", action="store_true",
                        help="exit 1 when a migration is pending, edited after it was "
                             "applied, or missing its file")


def _up_command(group: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = _leaf(group, "up", journaled.migration_up, "apply the pending migrations")
    mode = up.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="show the SQL; change nothing")
    mode.add_argument("--sql", action="store_true", help="print the SQL only; change nothing")
    mode.add_argument("--baseline", action="store_true",
                      help="on a fresh database: create the schema from the model and record "
                           "every file as applied without running it")
    _create_database_option(up)
    up.add_argument("--to", metavar="NAME", help="stop after migration NAME")
    up.add_argument("--offline", action="store_true",
                    help="with --sql: render the files' SQL and journal rows without a "
                         "database, for a DBA to run")
    up.add_argument("--from", dest="from_", metavar="NAME",
                    help="with --offline: the last migration already applied")
    up.add_argument("--out-of-order", action="store_true",
                    help="apply pending files that sort before applied ones")


def build_parser() -> argparse.ArgumentParser:
    """The whole command-line grammar."""
    parser = argparse.ArgumentParser(
        prog="linkgress", parents=[_common(False)],
        description="Schema management for linkgress models: automatic (db ...) and "
                    "journaled (migration ...) migrations.")
    top = parser.add_subparsers(dest="group", metavar="{db,migration,demo}", required=True)
    db = top.add_parser("db", help="automatic migrations").add_subparsers(
        dest="action",
        metavar="{migrate,contract,analyze,check,lint,sql,create,seed,drop,reset}",
        required=True)
    _db_commands(db)
    add_lint_command(db, _leaf)
    _migration_commands(top.add_parser("migration", help="journaled migrations").add_subparsers(
        dest="action", metavar="{create,up,down,status,history,current,stamp}", required=True))
    _leaf(top, "demo", commands.demo, "run the demo on the configured server")
    return parser


def _check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    given = [name for name, on in (("N", getattr(args, "n", None) is not None),
                                   ("--batch", getattr(args, "batch", False)),
                                   ("--to", getattr(args, "to", None) is not None)) if on]
    if getattr(args, "action", None) == "down" and len(given) > 1:
        parser.error(f"migration down takes one of N, --batch, --to; got {' and '.join(given)}")
    if getattr(args, "action", None) == "up" and args.offline and not args.sql:
        parser.error("--offline renders SQL: use it with --sql")
    if getattr(args, "action", None) == "up" and args.from_ and not args.offline:
        parser.error("--from is for --sql --offline (online, the journal says what is applied)")
    if getattr(args, "action", None) == "up" and args.to is not None and args.baseline:
        parser.error("migration up --baseline records every file; it takes no --to")
    if getattr(args, "n", None) is not None and args.n < 1:
        parser.error("migration down N: N must be at least 1")


def split_colon_form(argv: Sequence[str]) -> list[str]:
    """Accept the seed's spelling: ``db:migrate`` -> ``db migrate`` (first occurrence only)."""
    out = list(argv)
    for i, token in enumerate(out):
        group, sep, action = token.partition(":")
        if sep and group in ("db", "migration") and action.isalpha():
            return [*out[:i], group, action, *out[i + 1:]]
    return out


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, return the exit code."""
    parser = build_parser()
    args = parser.parse_args(split_colon_form(sys.argv[1:] if argv is None else argv))
    _check_usage(parser, args)
    out = Output(sys.stdout, sys.stderr)
    out.attach_logging(args.verbose)
    try:
        env = commands.Env(args=args, out=out, environ=os.environ,
                           project=read_project_settings(Path.cwd()))
        command: Command = args.command
        return asyncio.run(command(env))
    except UsageError as exc:
        out.error(str(exc))
        return 2
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130
    except Exception as exc:
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        message = str(exc) if isinstance(exc, Refusal | commands.SeedFailed) \
            else _describe(exc)
        out.error(message)
        return 1


def _describe(exc: BaseException) -> str:
    from linkgress.errors import LinkgressError

    text = str(exc).strip() or type(exc).__name__
    if getattr(exc, "sqlstate", None) == commands.MISSING_DATABASE:
        return (f"{text}; create it (createdb NAME, or CREATE DATABASE), or run the command "
                "again with --create-database")
    if isinstance(exc, LinkgressError):
        return text
    return f"{type(exc).__name__}: {text}"
