"""``python -m sse_nb``: the same command line as the ``sse-nb`` script."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
