"""``python -m linkgress``: the same as the ``linkgress`` command."""

from linkgress.cli import main

raise SystemExit(main())
