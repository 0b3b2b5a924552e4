"""What the CLI prints: plain text, or colour and progress lines when stdout is a terminal.

The plan comes from the ``linkgress.migrate`` logger (``migrate()`` logs it under the lock);
:meth:`Output.attach_logging` prints those records. On a terminal the executor's per-operation
DEBUG records (``applied: ...``) become progress lines as well.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import TextIO

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
                self.output.progress(message[len("applied: "):])
            return
        colour = "yellow" if record.levelno >= logging.WARNING else None
        self.output.line(message, colour)


class Output:
    """Writes to ``out``/``err``; ``tty`` turns on colour and progress lines."""

    def __init__(self, out: TextIO, err: TextIO, *, tty: bool | None = None) -> None:
        self.out = out
        self.err = err
        self.tty = _is_tty(out) if tty is None else tty
        self.colour = self.tty and "NO_COLOR" not in os.environ
        self.operation_progress = True  # a progress line per operation applied (terminal)

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

    def ok(self, text: str) -> None:
        """A success line (``✓ ...`` on a terminal)."""
        self.line(f"✓ {text}" if self.tty else text, "green")

    def progress(self, text: str) -> None:
        """A progress line, on a terminal only."""
        if self.tty:
            self.line(f"  {self.paint('✓', 'green')} {text}")

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
