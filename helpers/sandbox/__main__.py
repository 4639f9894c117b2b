"""Alias for one release: ``python -m helpers.sandbox`` runs ``python -m sandbox`` with the same flags."""

import sys

from sandbox.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
