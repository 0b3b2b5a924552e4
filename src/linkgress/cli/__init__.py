"""The ``linkgress`` command line (see ``docs/cli.md``).

Installed as the ``linkgress`` console script and runnable as ``python -m linkgress``. Nothing
is imported until :func:`main` runs, so ``import linkgress`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    from linkgress.cli.app import run

    return run(argv)
