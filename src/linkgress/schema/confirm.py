"""The plan as the seed prints it, and the consent policy for destructive operations.

Pure formatting (:func:`plan_lines`, :func:`warning_lines`) is kept apart from the two I/O
edges: logging the plan (:func:`log_plan`) and asking a person (:func:`ask_in_terminal`, which
runs the blocking read in a daemon thread so the event loop keeps serving, with a timeout,
and aborts on SIGTERM).

The policy (:func:`obtain_consent`): a plan without destructive operations needs no consent.
With destructive operations, consent comes from ``allow_destructive=True``, else from the
``confirm`` callback, else from a person at a terminal; a missing, closed or non-terminal stdin
counts as "no" and raises :class:`~linkgress.errors.MigrationAborted`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager

from linkgress.errors import MigrationAborted
from linkgress.schema.hazards import hazard_lines
from linkgress.schema.operations import Operation

log = logging.getLogger("linkgress.migrate")

Confirm = Callable[[list[Operation]], Awaitable[bool]]
"""An async callback that sees the whole plan and returns True to go ahead."""

PROMPT = "Do you want to continue? (y/N): "
WARNING_HEADER = ("⚠️  Warning: This migration includes destructive operations that will "
                  "result in data loss:")


def destructive(operations: Sequence[Operation]) -> list[Operation]:
    """The operations of ``operations`` that can lose data."""
    return [op for op in operations if op.is_destructive]


def plan_lines(operations: Sequence[Operation]) -> list[str]:
    """``Pending migrations:`` then ``  1. <describe()>`` lines, as the seed prints them."""
    return ["Pending migrations:"] + [
        f"  {i}. {op.describe()}" for i, op in enumerate(operations, start=1)]


def warning_lines(operations: Sequence[Operation]) -> list[str]:
    """The seed's warning block for the destructive operations ([] when there are none)."""
    lost = destructive(operations)
    if not lost:
        return []
    return [WARNING_HEADER] + [f"  - {op.describe()}" for op in lost]


def log_plan(operations: Sequence[Operation], *, quiet: bool = False,
             logger: logging.Logger = log) -> None:
    """Log the plan (INFO), its hazards (INFO, see :func:`hazard_lines`) and the destructive
    warning (WARNING), each as one record so that the lines of concurrent workers never
    interleave. With ``quiet``, all go to DEBUG. The
    plan record carries the operations as ``record.linkgress_plan`` (for the CLI's colours)."""
    if not operations:
        return
    logger.log(logging.DEBUG if quiet else logging.INFO, "%s", "\n".join(plan_lines(operations)),
               extra={"linkgress_plan": list(operations)})
    hazards = hazard_lines(list(operations))
    if hazards:
        logger.log(logging.DEBUG if quiet else logging.INFO, "%s", "\n".join(hazards))
    warning = warning_lines(operations)
    if warning:
        logger.log(logging.DEBUG if quiet else logging.WARNING, "%s", "\n".join(warning))


def stdin_is_tty() -> bool:
    """True only for an open stdin attached to a terminal; never raises."""
    stream = sys.stdin
    if stream is None:
        return False
    try:
        return not stream.closed and stream.isatty()
    except (ValueError, OSError, AttributeError):
        return False


def _read_answer(text: str) -> str:
    sys.stderr.write(text)
    sys.stderr.flush()
    line = sys.stdin.readline()
    return line if line else "n"  # EOF (Ctrl-D) is a "no"


def _read_in_daemon(text: str) -> asyncio.Future[str]:
    """Read the answer in a daemon thread (one left blocked on stdin after a timeout or a
    SIGTERM never keeps the process alive); the answer arrives as a future."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def settle(value: str | BaseException) -> None:
        if answer.done():
            return
        if isinstance(value, BaseException):
            answer.set_exception(value)
        else:
            answer.set_result(value)

    def read() -> None:
        try:
            value: str | BaseException = _read_answer(text)
        except (OSError, ValueError) as exc:
            value = exc
        if not loop.is_closed():
            loop.call_soon_threadsafe(settle, value)

    threading.Thread(target=read, name="linkgress consent prompt", daemon=True).start()
    return answer


@contextmanager
def _sigterm_aborts(answer: asyncio.Future[str]) -> Iterator[list[bool]]:
    """While the prompt waits, SIGTERM cancels it (main thread only); the previous handler is
    restored afterwards and, when it was not the default, the signal is delivered to it."""
    hit = [False]
    if threading.current_thread() is not threading.main_thread():
        yield hit
        return
    loop = asyncio.get_running_loop()

    def on_term(signum: int, frame: object) -> None:
        hit[0] = True
        loop.call_soon_threadsafe(answer.cancel)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield hit
    finally:
        signal.signal(signal.SIGTERM, previous)
        if hit[0] and previous not in (signal.SIG_DFL, signal.SIG_IGN, None):
            signal.raise_signal(signal.SIGTERM)


async def ask_in_terminal(operations: Sequence[Operation], *, show_plan: bool,
                          timeout: float | None = None) -> bool:
    """Ask ``Do you want to continue? (y/N)`` on the terminal without blocking the event loop.

    ``show_plan`` also writes the plan and the warning first (for callers whose logging is not
    configured, so the person sees what they agree to). Only ``y``/``yes`` is consent. No answer
    within ``timeout`` seconds, or a SIGTERM while waiting, raises :class:`MigrationAborted`.
    """
    text = PROMPT
    if show_plan:
        lines = [*plan_lines(operations), "", *warning_lines(operations)]
        text = "\n".join(lines) + "\n\n" + PROMPT
    answer = _read_in_daemon(text)
    lost = destructive(operations)
    with _sigterm_aborts(answer) as terminated:
        try:
            line = await asyncio.wait_for(answer, timeout)
        except TimeoutError:  # before OSError: TimeoutError is one
            raise MigrationAborted(f"migration aborted: no answer within {timeout}s; nothing "
                                   "was changed", operations=lost) from None
        except (OSError, ValueError):
            return False
        except asyncio.CancelledError:
            if not terminated[0]:
                raise
            raise MigrationAborted("migration aborted: SIGTERM while asking for consent; "
                                   "nothing was changed", operations=lost) from None
    return line.strip().lower() in ("y", "yes")


async def obtain_consent(operations: Sequence[Operation], *, allow_destructive: bool,
                         confirm: Confirm | None, logger: logging.Logger = log,
                         timeout: float | None = None) -> None:
    """Return when the plan may be applied; raise :class:`MigrationAborted` otherwise.

    Only a plan with destructive operations needs consent. ``allow_destructive`` gives it;
    otherwise ``confirm`` (awaited with the whole plan) decides; otherwise a person at a TTY is
    asked (for at most ``timeout`` seconds); a non-TTY (CI, containers, closed stdin) never
    gives consent.
    """
    lost = destructive(operations)
    if not lost or allow_destructive:
        return
    if confirm is not None:
        if await confirm(list(operations)):
            return
        raise MigrationAborted("migration aborted: the confirm callback declined "
                               f"{len(lost)} destructive operation(s); nothing was changed",
                               operations=lost)
    if not stdin_is_tty():
        raise MigrationAborted(
            f"migration aborted: {len(lost)} destructive operation(s) need consent and stdin "
            "is not a terminal; pass allow_destructive=True (CLI: --allow-destructive) or a "
            "confirm= callback; nothing was changed", operations=lost)
    if not await ask_in_terminal(operations, show_plan=not logger.hasHandlers(),
                                 timeout=timeout):
        raise MigrationAborted("migration aborted: destructive operations were declined; "
                               "nothing was changed", operations=lost)
