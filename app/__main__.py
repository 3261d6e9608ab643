"""``python -m app``: the same command line as ``convlens``."""

import sys

from app.cli import main

sys.exit(main())
