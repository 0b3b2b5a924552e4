"""What the CLI prints: plain text, or colour and progress lines when stdout is a terminal.

The plan comes from the ``linkgress.migrate`` logger (``migrate()`` logs it under the lock);
:meth:`Output.attach_logging` prints those records. On a terminal the executor's per-operation
DEBUG records (``applied: ...``) become progress lines as well.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from linkgress.schema.operations import Operation

_CODES = {"green": "32", "yellow": "33", "red": "31", "bold": "1", "dim": "2", "cyan": "36"}


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (ValueError, OSError, AttributeError):
        return False


class _PlanHandler(logging.Handler):
    def __init__(self, output: Output) -> None:
        super().__init__(logging.DEBUG)
        self.output = output

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return  # the command reports failures itself, once
        if record.levelno < logging.INFO:
            if (self.output.tty and self.output.operation_progress
                    and message.startswith("applied: ")):
                self.output.progress(message[len("applied: "):], timed=True)
            return
        colour = "yellow" if record.levelno >= logging.WARNING else None
        plan = getattr(record, "linkgress_plan", None)
        if plan is not None and self.output.colour:
            self.output.plan(plan)
        else:
            self.output.line(message, colour)
        # The operations start after the plan; after a warning a person may be asked first,
        # so the first operation's time would include theirs: it is not shown.
        self.output.mark(untimed=record.levelno >= logging.WARNING)


class Output:
    """Writes to ``out``/``err``; ``tty`` turns on colour and progress lines."""

    def __init__(self, out: TextIO, err: TextIO, *, tty: bool | None = None) -> None:
        self.out = out
        self.err = err
        self.tty = _is_tty(out) if tty is None else tty
        self.colour = self.tty and "NO_COLOR" not in os.environ
        self.operation_progress = True  # a progress line per operation applied (terminal)
        self._started = self._last = time.monotonic()
        self._untimed = False

    def paint(self, text: str, colour: str | None) -> str:
        """``text`` in ``colour`` when colour is on."""
        if not colour or not self.colour:
            return text
        return f"\x1b[{_CODES[colour]}m{text}\x1b[0m"

    def line(self, text: str = "", colour: str | None = None) -> None:
        """Print one line (or several, if ``text`` holds newlines)."""
        self.out.write(self.paint(text, colour) + "\n")
        self.out.flush()

    def lines(self, texts: Iterable[str], colour: str | None = None) -> None:
        """Print each of ``texts``."""
        for text in texts:
            self.line(text, colour)

    def plan(self, operations: Sequence[Operation]) -> None:
        """The plan in colour: destructive operations red and marked (terminal only)."""
        self.line("Pending migrations:", "bold")
        for i, op in enumerate(operations, 1):
            if op.is_destructive:
                self.line(f"  {i}. {op.describe()}  [destructive]", "red")
            else:
                self.line(f"  {i}. {op.describe()}", "cyan" if op.type.startswith(
                    ("create", "add")) else None)

    def ok(self, text: str) -> None:
        """A success line (``✓ ...`` on a terminal)."""
        self.line(f"✓ {text}" if self.tty else text, "green")

    def progress(self, text: str, *, timed: bool = False) -> None:
        """A progress line, on a terminal only; ``timed`` adds the time since the previous
        progress line (or the start) when it was a second or more."""
        if not self.tty:
            return
        now = time.monotonic()
        took = now - self._last
        self._last = now
        show = timed and took >= 1.0 and not self._untimed
        self._untimed = False
        suffix = self.paint(f"  ({took:.1f} s)", "dim") if show else ""
        self.line(f"  {self.paint('✓', 'green')} {text}{suffix}")

    def elapsed(self) -> str:
        """`` in 2.4 s`` since the command started, on a terminal ("" otherwise)."""
        return f" in {time.monotonic() - self._started:.1f} s" if self.tty else ""

    def mark(self, *, untimed: bool = False) -> None:
        """Restart the per-operation clock (the operations start); ``untimed``: do not show
        the next one's time."""
        self._last = time.monotonic()
        self._untimed = untimed

    def error(self, text: str) -> None:
        """One error line on stderr."""
        prefix = self.paint("error:", "red") if _is_tty(self.err) else "error:"
        self.err.write(f"{prefix} {text}\n")
        self.err.flush()

    def attach_logging(self, verbose: bool) -> None:
        """Print the ``linkgress.migrate`` plan records (and, verbose, everything at DEBUG)."""
        logger = logging.getLogger("linkgress.migrate")
        logger.addHandler(_PlanHandler(self))
        logger.setLevel(logging.DEBUG)
        logger.propagate = verbose
        # The runner's own records (linkgress.migrations) repeat what the command prints.
        runner = logging.getLogger("linkgress.migrations")
        runner.addHandler(logging.NullHandler())
        runner.propagate = verbose
        if verbose:
            logging.basicConfig(level=logging.DEBUG, stream=self.err,
                                format="%(name)s %(levelname)s %(message)s")
